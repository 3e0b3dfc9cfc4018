//! Item 7 and RELIABILITY.md case 16: a burst of in-flight operations far beyond the ring's
//! size completes, every operation exactly once, and on io_uring the completion queue's
//! overflow path is taken and counted.
//!
//! A 1-worker runtime with `io_entries(8)` (an 8-entry SQ, a 16-entry CQ on io_uring) starts
//! a burst of 10,000 receives at once (debug too: it takes well under a second), 40 on
//! each of 250 UDP sockets (`max_ops_per_fd` is 64), each receive a task of its own; the SQ takes them
//! eight at a time. A task then holds the worker (spinning, without awaiting) while a std
//! socket sends one datagram per receive, so that every completion is ready when the worker
//! next enters the kernel: thousands of completions for 16 CQ slots. The kernel keeps the
//! rest in its backlog (`FEAT_NODROP`) and flags `IORING_SQ_CQ_OVERFLOW`; the driver flushes
//! it, counted in `cq_overflows`. (The 256-buffer receive ring runs dry in such a burst:
//! those receives fall back to buffers of their own, `buf_starved`.) Every receive finishes,
//! with one datagram, and every datagram sent is received exactly once. On epoll the same
//! burst runs (its event list is 1,024).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hiver_runtime::io::UdpSocket;
use hiver_runtime::{spawn_on, DriverType, Runtime};

use crate::support::{
    assert_no_fd_leak, drivers, open_fds, raise_nofile, serial, within, Watchdog,
};

const ENTRIES: u32 = 8;
/// Receives in flight on each socket (under the default `max_ops_per_fd` of 64).
const PER_SOCKET: u64 = 40;
/// Receives in flight at once: over a thousand times the 8-entry SQ, 625 times the CQ.
const BURST: u64 = 10_000;

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
    let burst = BURST;
    let sockets = burst / PER_SOCKET;
    let _limit = raise_nofile(sockets + 512);
    for driver in drivers() {
        let before = open_fds();
        let t0 = Instant::now();
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
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let started = Arc::new(AtomicU64::new(0));
        let (gate_on, go) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let st = started.clone();
        let (receivers, addrs) = rt
            .block_on(within("bind and start the receives", async move {
                let mut receivers = Vec::new();
                let mut addrs = Vec::new();
                for s in 0..sockets {
                    let sock = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
                    addrs.push(sock.local_addr()?);
                    for _ in 0..PER_SOCKET {
                        let (sock, st) = (sock.clone(), st.clone());
                        receivers.push(spawn_on(0, async move {
                            st.fetch_add(1, Ordering::SeqCst);
                            let mut buf = [0u8; 64];
                            let (n, _) = sock.recv_from(&mut buf).await?;
                            if n != 16 {
                                return Err(std::io::Error::other(format!(
                                    "socket {s}: a {n}-byte datagram"
                                )));
                            }
                            let sock_id = u64::from_le_bytes(buf[..8].try_into().unwrap());
                            let seq = u64::from_le_bytes(buf[8..16].try_into().unwrap());
                            Ok::<_, std::io::Error>((s, sock_id, seq))
                        })?);
                    }
                }
                Ok::<_, std::io::Error>((receivers, addrs))
            }))
            .unwrap()
            .unwrap();
        wait_for("receives started", || {
            started.load(Ordering::SeqCst) == burst
        });
        if driver == DriverType::IOUring {
            wait_for("receives in flight", || {
                rt.metrics().workers()[0].io_in_flight >= burst
            });
        }
        // Hold the worker: nothing reaps while the datagrams arrive.
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
        for seq in 0..PER_SOCKET {
            for (s, addr) in addrs.iter().enumerate() {
                let mut msg = [0u8; 16];
                msg[..8].copy_from_slice(&(s as u64).to_le_bytes());
                msg[8..].copy_from_slice(&seq.to_le_bytes());
                assert_eq!(sender.send_to(&msg, addr).unwrap(), 16);
            }
        }
        go.store(true, Ordering::SeqCst);
        let got = rt
            .block_on(within("burst", async move {
                assert!(
                    gate.await.expect("gate"),
                    "the gate was released, not timed out"
                );
                let mut got = Vec::with_capacity(receivers.len());
                for r in receivers {
                    got.push(r.await.expect("receive task")?);
                }
                Ok::<_, std::io::Error>(got)
            }))
            .unwrap()
            .unwrap();
        let w = rt.metrics().workers()[0].clone();
        println!(
            "{driver}: {} of {burst} receives done in {:.2} s; cq_overflows {}, io_submitted {}, \
             io_completed {}, io_max_batch {}, buf_starved {}",
            got.len(),
            t0.elapsed().as_secs_f64(),
            w.cq_overflows,
            w.io_submitted,
            w.io_completed,
            w.io_max_batch,
            w.buf_starved
        );
        // Exactly once: every receive finished with a datagram sent to its own socket, and
        // the datagrams received are exactly the ones sent, none twice.
        assert_eq!(got.len() as u64, burst, "{driver}: every receive finished");
        let mut seen = vec![0u64; burst as usize];
        for &(s, sock_id, seq) in &got {
            assert_eq!(sock_id, s, "{driver}: a datagram on the wrong socket");
            assert!(seq < PER_SOCKET, "{driver}: seq {seq}");
            seen[(s * PER_SOCKET + seq) as usize] += 1;
        }
        let missing = seen.iter().filter(|&&c| c == 0).count();
        let twice = seen.iter().filter(|&&c| c > 1).count();
        assert_eq!(
            (missing, twice),
            (0, 0),
            "{driver}: datagrams missing, received twice"
        );
        if driver == DriverType::IOUring {
            assert!(
                w.cq_overflows > 0,
                "{driver}: the CQ overflowed and was flushed: {w:?}"
            );
            assert_eq!(w.io_in_flight, 0, "{driver}: nothing left in flight: {w:?}");
        }
        {
            let _w = Watchdog::arm("dropping the runtime", Duration::from_secs(30));
            drop(rt);
        }
        drop(sender);
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
