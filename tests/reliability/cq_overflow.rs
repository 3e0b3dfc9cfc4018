//! Item 7: a burst of in-flight operations ten times the ring's size completes, none lost,
//! and on io_uring the completion queue's overflow path is taken and counted.
//!
//! A 1-worker runtime with `io_entries(8)` (an 8-entry SQ, a 16-entry CQ on io_uring) starts
//! 160 reads at once (the SQ takes them eight at a time). A task then holds the worker
//! (spinning, without awaiting) while a std peer writes to all 160 sockets, so that every
//! completion is ready when the worker next enters the kernel: 160 completions for 16 CQ
//! slots. The kernel keeps the rest in its backlog (`FEAT_NODROP`) and flags
//! `IORING_SQ_CQ_OVERFLOW`; the driver flushes it, counted in `cq_overflows`. Every read
//! gets exactly its peer's bytes. On epoll the same burst runs (its event list is 1,024).

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hiver_runtime::io::TcpStream;
use hiver_runtime::{spawn_on, DriverType, Runtime};

use crate::support::{assert_no_fd_leak, drivers, open_fds, serial, within};

const ENTRIES: u32 = 8;
const BURST: usize = 160;

/// Waits, bounded, until `cond` holds (the other side publishes through atomics).
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{what}: not within 30 s"
        );
        std::thread::yield_now();
    }
}

#[test]
fn a_burst_ten_times_the_ring_completes_and_the_cq_overflow_is_counted() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = Runtime::builder()
            .worker_threads(1)
            .driver_type(driver)
            .io_entries(ENTRIES)
            .build()
            .unwrap();
        assert_eq!(rt.driver_type(), driver);
        if driver == DriverType::IOUring {
            let caps = rt.capabilities();
            assert_eq!((caps.sq_entries, caps.cq_entries), (8, 16), "{driver}");
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let started = Arc::new(AtomicU64::new(0));
        let (gate_on, go) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let st = started.clone();
        let (readers, mut peers) = rt
            .block_on(within("connect", async move {
                let mut readers = Vec::new();
                let mut peers = Vec::new();
                for i in 0..BURST {
                    let mut s = TcpStream::connect(addr).await?;
                    peers.push(listener.accept()?.0);
                    let st = st.clone();
                    readers.push(spawn_on(0, async move {
                        st.fetch_add(1, Ordering::SeqCst);
                        let mut buf = [0u8; 64];
                        s.read_exact(&mut buf).await?;
                        Ok::<_, std::io::Error>(buf == [i as u8; 64])
                    })?);
                }
                Ok::<_, std::io::Error>((readers, peers))
            }))
            .unwrap()
            .unwrap();
        wait_for("readers started", || {
            started.load(Ordering::SeqCst) == BURST as u64
        });
        if driver == DriverType::IOUring {
            wait_for("reads in flight", || {
                rt.metrics().workers()[0].io_in_flight >= BURST as u64
            });
        }
        // Hold the worker: nothing reaps while the peers write.
        let (on, g) = (gate_on.clone(), go.clone());
        let gate = spawn_on_rt(&mut rt, move || {
            on.store(true, Ordering::SeqCst);
            let start = Instant::now();
            while !g.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(30) {
                std::hint::spin_loop();
            }
            g.load(Ordering::SeqCst)
        });
        wait_for("gate holds the worker", || gate_on.load(Ordering::SeqCst));
        for (i, p) in peers.iter_mut().enumerate() {
            p.write_all(&[i as u8; 64]).unwrap();
        }
        go.store(true, Ordering::SeqCst);
        let right = rt
            .block_on(within("burst", async move {
                assert!(
                    gate.await.expect("gate"),
                    "the gate was released, not timed out"
                );
                let mut right = 0;
                for r in readers {
                    right += usize::from(r.await.expect("reader task")?);
                }
                Ok::<_, std::io::Error>(right)
            }))
            .unwrap()
            .unwrap();
        let w = rt.metrics().workers()[0].clone();
        println!(
            "{driver}: {right} of {BURST} reads right; cq_overflows {}, io_submitted {}, \
             io_max_batch {}",
            w.cq_overflows, w.io_submitted, w.io_max_batch
        );
        assert_eq!(right, BURST, "{driver}: every read got its peer's bytes");
        if driver == DriverType::IOUring {
            assert!(
                w.cq_overflows > 0,
                "{driver}: the CQ overflowed and was flushed: {w:?}"
            );
        }
        drop(peers);
        drop(rt);
        assert_no_fd_leak(before, format_args!("{driver}: cq overflow"));
    }
}

/// Runs the blocking closure `f` as a task on worker 0.
fn spawn_on_rt<T: Send + 'static>(
    rt: &mut Runtime,
    f: impl FnOnce() -> T + Send + 'static,
) -> hiver_runtime::JoinHandle<T> {
    rt.block_on(async move { spawn_on(0, async move { f() }) })
        .unwrap()
        .unwrap()
}
