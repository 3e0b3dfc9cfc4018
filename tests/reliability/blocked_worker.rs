//! Case 24 (b), a task that never yields blocks only its worker: on a 2-worker runtime a
//! task spins on worker 0 (bounded: until the test releases it, at most 30 s) while, on
//! worker 1, a task runs 20 timers and a TCP echo over loopback, and spawns 50 tasks one at
//! a time with `spawn`: each is placed on worker 1 (the blocked worker owns as many tasks
//! as worker 1, and placement prefers the spawning worker on a tie) and completes there
//! while worker 0 is still blocked. Then the spinner is released and finishes.
//!
//! Placement counts live tasks, not blocked time: a burst of spawns that makes worker 1
//! the busier one would place some on worker 0, where they wait for the release (not
//! tested here: that would hang this test by design).

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::{sleep, spawn, spawn_on, yield_now};

use crate::support::{assert_no_fd_leak, drivers, open_fds, runtime, serial, within};

fn worker_name() -> String {
    std::thread::current().name().unwrap_or("?").to_string()
}

#[test]
fn a_spinning_task_blocks_only_its_worker() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 2);
        let started = Arc::new(AtomicBool::new(false));
        let release = Arc::new(AtomicBool::new(false));
        let (s, r) = (started.clone(), release.clone());
        let (spun, on1) = rt
            .block_on(within("a blocked worker", async move {
                let blocker = spawn_on(0, async move {
                    s.store(true, Ordering::SeqCst);
                    let t = Instant::now();
                    while !r.load(Ordering::SeqCst) {
                        if t.elapsed() > Duration::from_secs(30) {
                            return Err("never released");
                        }
                        std::hint::spin_loop();
                    }
                    Ok(worker_name())
                })
                .unwrap();
                while !started.load(Ordering::SeqCst) {
                    yield_now().await;
                }
                let rel = release.clone();
                let other = spawn_on(1, async move {
                    let me = worker_name();
                    // Timers progress on worker 1.
                    for _ in 0..20 {
                        sleep(Duration::from_millis(1)).await;
                    }
                    // I/O progresses on worker 1.
                    let l = TcpListener::bind("127.0.0.1:0").await?;
                    let mut c = TcpStream::connect(l.local_addr()?).await?;
                    let (mut s, _) = l.accept().await?;
                    let msg = [0x5au8; 4096];
                    c.write_all(&msg).await?;
                    let mut got = [0u8; 4096];
                    s.read_exact(&mut got).await?;
                    s.write_all(&got).await?;
                    c.read_exact(&mut got).await?;
                    assert_eq!(got, msg, "the echo on worker 1");
                    // Spawns from worker 1 land, and finish, on worker 1.
                    let mut on1 = 0;
                    for i in 0..50u32 {
                        let (name, v) = spawn(async move { (worker_name(), i * 2) })
                            .await
                            .expect("spawned task");
                        assert_eq!(v, i * 2);
                        assert_eq!(name, me, "spawn {i} from a worker beside a blocked one");
                        on1 += 1;
                    }
                    assert!(
                        !rel.load(Ordering::SeqCst),
                        "worker 0 was blocked all along"
                    );
                    Ok::<_, io::Error>((me, on1))
                })
                .unwrap();
                let (me, on1) = other.await.expect("the task on worker 1")?;
                assert_eq!(me, "hiver-worker-1");
                release.store(true, Ordering::SeqCst);
                let spun = blocker
                    .await
                    .expect("the blocker")
                    .expect("released in time");
                Ok::<_, io::Error>((spun, on1))
            }))
            .unwrap()
            .unwrap_or_else(|e| panic!("{driver}: {e}"));
        assert_eq!(spun, "hiver-worker-0");
        assert_eq!(on1, 50);
        drop(rt);
        println!("{driver}: worker 0 spun while worker 1 ran timers, an echo and 50 spawns");
        assert_no_fd_leak(before, format_args!("{driver}: blocked worker"));
    }
}
