//! Item 5, first half: a task that never waits for anything (a busy loop that only calls
//! `yield_now`) does not stop the I/O or the timers of its worker. On a 1-worker runtime,
//! while it spins, an echo served by that worker and a sleep on that worker both complete,
//! and the busy task is still spinning when they do. (The second half, a task that blocks
//! its thread being reported, is `tests/stall.rs`: it needs a process-global subscriber.)

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::{bounded, sleep, spawn_on, yield_now};

use crate::support::{assert_no_fd_leak, drivers, open_fds, runtime, serial, within};

/// The busy loop's own bound, far beyond what the test needs.
const SPIN_LIMIT: Duration = Duration::from_secs(30);

#[test]
fn a_yielding_busy_loop_does_not_stop_io_or_timers_on_its_worker() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 1);
        let stop = Arc::new(AtomicBool::new(false));
        let spins = Arc::new(AtomicU64::new(0));
        let (s, n) = (stop.clone(), spins.clone());
        rt.block_on(within("starvation", async move {
            let (started_tx, started_rx) = bounded::<()>(1);
            let busy = spawn_on(0, async move {
                let start = Instant::now();
                while !s.load(Ordering::Relaxed) && start.elapsed() < SPIN_LIMIT {
                    if n.fetch_add(1, Ordering::Relaxed) == 0 {
                        started_tx.try_send(()).expect("first spin");
                    }
                    yield_now().await;
                }
                s.load(Ordering::Relaxed)
            })?;
            started_rx.recv().await.expect("the busy task started");

            // I/O: the worker accepts and echoes.
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let server = spawn_on(0, async move {
                let (mut s, _) = listener.accept().await?;
                let mut buf = [0u8; 1024];
                s.read_exact(&mut buf).await?;
                s.write_all(&buf).await?;
                Ok::<_, std::io::Error>(())
            })?;
            let mut c = TcpStream::connect(addr).await?;
            let msg: Vec<u8> = (0..1024u32).map(|i| i as u8).collect();
            c.write_all(&msg).await?;
            let mut back = vec![0u8; msg.len()];
            c.read_exact(&mut back).await?;
            assert_eq!(back, msg, "{driver}: echo");
            server.await.expect("server task")?;
            // A timer of the worker.
            let t = Instant::now();
            spawn_on(0, sleep(Duration::from_millis(20)))?
                .await
                .expect("sleep task");
            let slept = t.elapsed();
            assert!(
                slept >= Duration::from_millis(20),
                "{driver}: slept {slept:?}"
            );

            assert!(!busy.is_finished(), "{driver}: the busy task still spins");
            let spun = spins.load(Ordering::Relaxed);
            stop.store(true, Ordering::Relaxed);
            assert!(
                busy.await.expect("busy task"),
                "{driver}: stopped, not timed out"
            );
            println!("{driver}: echo and a 20 ms sleep ({slept:?}) done beside {spun} spins");
            Ok::<_, std::io::Error>(())
        }))
        .unwrap()
        .unwrap_or_else(|e| panic!("{driver}: {e}"));
        drop(rt);
        assert_no_fd_leak(before, format_args!("{driver}: starvation"));
    }
}
