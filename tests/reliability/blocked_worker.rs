//! Case 24 (b), a task that never yields blocks only its worker: on a 2-worker runtime a
//! task spins on worker 0 (bounded: until the test releases it, at most 30 s) while, on
//! worker 1, a task runs 20 timers and a TCP echo over loopback, and spawns 50 tasks one at
//! a time with `spawn`: each is placed on worker 1 (the blocked worker owns as many tasks
//! as worker 1, and placement prefers the spawning worker on a tie) and completes there
//! while worker 0 is still blocked. Then the spinner is released and finishes.
//!
//! And new spawns go elsewhere: with worker 1 the busier by live tasks (20 parked there),
//! placement would pick worker 0; once a spawn has seen worker 0 inside the same poll for
//! 10 ms, every later spawn goes to worker 1 and runs while worker 0 is still blocked.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::{bounded, sleep, spawn, spawn_on, yield_now, JoinHandle};

use crate::support::{assert_no_fd_leak, drivers, open_fds, runtime, serial, within};

fn worker_name() -> String {
    std::thread::current().name().unwrap_or("?").to_string()
}

/// Spawns on worker 0 a task that spins without yielding until `release` (bounded: 30 s),
/// and returns once it runs. Its output: the worker it spun on, or an error if never
/// released.
async fn block_worker_0(release: Arc<AtomicBool>) -> JoinHandle<Result<String, &'static str>> {
    let started = Arc::new(AtomicBool::new(false));
    let s = started.clone();
    let blocker = spawn_on(0, async move {
        s.store(true, Ordering::SeqCst);
        let t = Instant::now();
        while !release.load(Ordering::SeqCst) {
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
    blocker
}

#[test]
fn a_spinning_task_blocks_only_its_worker() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 2);
        let release = Arc::new(AtomicBool::new(false));
        let (spun, on1) = rt
            .block_on(within("a blocked worker", async move {
                let blocker = block_worker_0(release.clone()).await;
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

/// Probes spawned from the `block_on` thread while worker 0 spins.
const PROBES: usize = 200;
/// [`PLACEMENT_THRESHOLD`] of the runtime (10 ms) plus a margin for the spawn call itself.
const RECOGNISED_AFTER: Duration = Duration::from_millis(15);

#[test]
fn new_spawns_go_to_the_free_worker_once_one_is_seen_blocked() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 2);
        let release = Arc::new(AtomicBool::new(false));
        let (probes, parked_done) = rt
            .block_on(within("spawns beside a blocked worker", async move {
                // Worker 1 becomes the busier one: 20 tasks parked on a channel.
                let mut park_txs = Vec::new();
                let parked: Vec<_> = (0..20)
                    .map(|_| {
                        let (tx, rx) = bounded::<()>(1);
                        park_txs.push(tx);
                        spawn_on(1, async move { rx.recv().await.is_err() }).unwrap()
                    })
                    .collect();
                let blocker = block_worker_0(release.clone()).await;
                // Probes one per millisecond; each reports where it ran and whether worker
                // 0 was still blocked then.
                let mut probes = Vec::with_capacity(PROBES);
                let first = Instant::now();
                for _ in 0..PROBES {
                    let at = first.elapsed();
                    let rel = release.clone();
                    let h = spawn(async move { (worker_name(), rel.load(Ordering::SeqCst)) });
                    probes.push((at, h));
                    sleep(Duration::from_millis(1)).await;
                }
                // Every probe placed after the threshold has run, on worker 1, already.
                let mut results = Vec::with_capacity(PROBES);
                let mut waiting = Vec::new();
                for (at, h) in probes {
                    if at >= RECOGNISED_AFTER {
                        results.push((at, h.await.expect("a probe")));
                    } else {
                        waiting.push((at, h));
                    }
                }
                let after = results.len();
                assert!(
                    !release.load(Ordering::SeqCst),
                    "worker 0 still blocked after {after} later probes"
                );
                release.store(true, Ordering::SeqCst);
                let spun = blocker.await.expect("the blocker");
                assert_eq!(spun.expect("released in time"), "hiver-worker-0");
                for (at, h) in waiting {
                    results.push((at, h.await.expect("an early probe")));
                }
                drop(park_txs);
                let mut parked_done = 0;
                for p in parked {
                    parked_done += usize::from(p.await.expect("a parked task"));
                }
                (results, parked_done)
            }))
            .unwrap();
        assert_eq!(
            parked_done, 20,
            "{driver}: the parked tasks ended on the close"
        );
        let late: Vec<_> = probes
            .iter()
            .filter(|(at, _)| *at >= RECOGNISED_AFTER)
            .collect();
        assert!(
            late.len() >= PROBES / 4,
            "{driver}: only {} probes after the threshold",
            late.len()
        );
        for (at, (name, released)) in &late {
            assert_eq!(
                (name.as_str(), *released),
                ("hiver-worker-1", false),
                "{driver}: a probe spawned {at:?} into the stall"
            );
        }
        let early_on_0 = probes
            .iter()
            .filter(|(at, (name, _))| *at < RECOGNISED_AFTER && name == "hiver-worker-0")
            .count();
        println!(
            "{driver}: {} probes placed after {RECOGNISED_AFTER:?} of the stall all ran on worker 1 while worker 0 spun; {early_on_0} earlier ones waited on worker 0",
            late.len()
        );
        drop(rt);
        assert_no_fd_leak(
            before,
            format_args!("{driver}: spawns beside a blocked worker"),
        );
    }
}
