//! Case 27, spawns racing shutdown.
//! (1) A task that spawns after the graceful shutdown began (it awaits the shutdown signal,
//!     then calls `spawn`, `spawn_on(0)` and `spawn_on(1)`) gets handles that report
//!     cancellation; the refused futures are dropped, never run, and nothing panics.
//! (2) 10,000 spawns racing the runtime's drop, x 5 rounds (alternately a plain drop and
//!     `shutdown_timeout(0)`): two spawner tasks, one per worker, 5,000 spawns each, hand
//!     every handle to the test thread while the runtime goes away (worker 0's yields and
//!     is cancelled part-way; worker 1's spawns its 5,000 in one poll, racing the drop). No hang (a
//!     watchdog), every spawned future dropped exactly once, every handle ready afterwards
//!     with the output or a cancellation, never a panic.
//! (3) Spawns from foreign std threads through a `Handle` racing the runtime's drop, x 20
//!     rounds (alternately a plain drop and `shutdown_timeout(0)`): 4 threads spawn
//!     (`spawn` and `spawn_on`) before (100 of their tasks have run), during and after the
//!     drop; no panic on any thread, every spawned future dropped exactly once, every
//!     handle ready with the output or a cancellation, and every spawn made after the drop
//!     returned is a cancellation.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll};
use std::time::Duration;

use hiver_runtime::{shutdown_signal, spawn, spawn_on, yield_now, Handle, JoinHandle};

use crate::support::{
    assert_no_fd_leak, drivers, open_fds, runtime, serial, within, Counted, Progress, Watchdog,
};

#[test]
fn a_spawn_after_shutdown_began_reports_cancellation() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 2);
        let ran = Arc::new(AtomicU64::new(0));
        let dropped = Arc::new(AtomicU64::new(0));
        let (tx, rx) = mpsc::channel::<Vec<String>>();
        let (r, d) = (ran.clone(), dropped.clone());
        rt.block_on(within("arm the late spawner", async move {
            let (started_tx, started_rx) = hiver_runtime::bounded::<()>(1);
            spawn(async move {
                started_tx.send(()).await.unwrap();
                shutdown_signal().await;
                let mut seen = Vec::new();
                let mk = |r: Arc<AtomicU64>, d: Arc<AtomicU64>| {
                    let g = Counted(d);
                    async move {
                        let _g = g;
                        r.fetch_add(1, Ordering::SeqCst);
                    }
                };
                let hs: Vec<JoinHandle<()>> = vec![
                    spawn(mk(r.clone(), d.clone())),
                    spawn_on(0, mk(r.clone(), d.clone())).unwrap(),
                    spawn_on(1, mk(r.clone(), d.clone())).unwrap(),
                ];
                for h in hs {
                    seen.push(match h.await {
                        Ok(()) => "ran".to_string(),
                        Err(e) if e.is_cancelled() => "cancelled".to_string(),
                        Err(e) => format!("error: {e}"),
                    });
                }
                tx.send(seen).unwrap();
            });
            started_rx.recv().await.unwrap();
        }))
        .unwrap();
        let finished = {
            let _w = Watchdog::arm(
                format!("{driver}: shutdown_timeout"),
                Duration::from_secs(30),
            );
            rt.shutdown_timeout(Duration::from_secs(10))
        };
        let seen = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the late spawner reported");
        println!("{driver}: spawns after shutdown began: {seen:?}");
        assert!(
            finished,
            "{driver}: every task finished within the grace period"
        );
        assert_eq!(seen, ["cancelled", "cancelled", "cancelled"], "{driver}");
        assert_eq!(
            ran.load(Ordering::SeqCst),
            0,
            "{driver}: refused tasks never run"
        );
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            3,
            "{driver}: refused futures dropped"
        );
        assert_no_fd_leak(before, format_args!("{driver}: late spawns"));
    }
}

const SPAWNS: u64 = 10_000;
const ROUNDS: u64 = 5;

#[test]
fn ten_thousand_spawns_racing_shutdown_five_rounds() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let progress = Progress::arm(
            format!("{driver}: spawns racing shutdown"),
            Duration::from_secs(30),
        );
        for round in 0..ROUNDS {
            let mut rt = runtime(driver, 2);
            let made = Arc::new(AtomicU64::new(0));
            let dropped = Arc::new(AtomicU64::new(0));
            let (tx, rx) = mpsc::channel::<JoinHandle<u64>>();
            let go = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let started = Arc::new(AtomicU64::new(0));
            let (m, d, g, st) = (made.clone(), dropped.clone(), go.clone(), started.clone());
            rt.block_on(within("start the spawners", async move {
                for w in 0..2usize {
                    let budget = Arc::new(AtomicU64::new(SPAWNS / 2));
                    let (m, d, tx, budget) = (m.clone(), d.clone(), tx.clone(), budget.clone());
                    let (g, st) = (g.clone(), st.clone());
                    spawn_on(w, async move {
                        if w == 1 {
                            // Holds worker 1 until the test thread is about to drop the
                            // runtime (bounded), then spawns its share in this same poll.
                            st.fetch_add(1, Ordering::SeqCst);
                            let t = std::time::Instant::now();
                            while !g.load(Ordering::SeqCst) && t.elapsed() < Duration::from_secs(10)
                            {
                                std::hint::spin_loop();
                            }
                        }
                        let mut i = 0u64;
                        while budget
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                            .is_ok()
                        {
                            m.fetch_add(1, Ordering::SeqCst);
                            let g = Counted(d.clone());
                            let fut = async move {
                                let _g = g;
                                i
                            };
                            let h = if i % 2 == 0 {
                                spawn(fut)
                            } else {
                                spawn_on(((w as u64 + i) % 2) as usize, fut).unwrap()
                            };
                            let _ = tx.send(h);
                            i += 1;
                            // Worker 0's spawner yields now and then (the drop cancels it
                            // part-way); worker 1's spawns its whole share in one poll,
                            // which the shutdown has to wait out.
                            if w == 0 && i % 64 == 0 {
                                yield_now().await;
                            }
                        }
                    })
                    .unwrap();
                }
                // Let the spawners get going, then return: the runtime drops under them.
                while m.load(Ordering::SeqCst) < SPAWNS / 20 || st.load(Ordering::SeqCst) == 0 {
                    yield_now().await;
                }
            }))
            .unwrap();
            {
                let _w = Watchdog::arm(
                    format!("{driver}: round {round}: shutdown racing spawns"),
                    Duration::from_secs(30),
                );
                go.store(true, Ordering::SeqCst);
                if round % 2 == 0 {
                    drop(rt);
                } else {
                    rt.shutdown_timeout(Duration::ZERO);
                }
            }
            let mut cx = Context::from_waker(std::task::Waker::noop());
            let (mut ok, mut cancelled, mut handles) = (0u64, 0u64, 0u64);
            while let Ok(mut h) = rx.try_recv() {
                handles += 1;
                match Pin::new(&mut h).poll(&mut cx) {
                    Poll::Ready(Ok(_)) => ok += 1,
                    Poll::Ready(Err(e)) if e.is_cancelled() => cancelled += 1,
                    Poll::Ready(Err(e)) => panic!("{driver}: round {round}: {e}"),
                    Poll::Pending => panic!("{driver}: round {round}: a handle still pending"),
                }
            }
            let made = made.load(Ordering::SeqCst);
            assert_eq!(handles, made, "{driver}: round {round}: a handle per spawn");
            assert!(
                made >= SPAWNS / 2,
                "{driver}: round {round}: worker 1's spawner finished"
            );
            assert_eq!(
                dropped.load(Ordering::SeqCst),
                made,
                "{driver}: round {round}: every spawned future dropped exactly once"
            );
            println!(
                "{driver}: round {round}: {made} spawns racing shutdown: {ok} ran, {cancelled} cancelled"
            );
            progress.tick();
        }
        drop(progress);
        assert_no_fd_leak(before, format_args!("{driver}: spawns racing shutdown"));
    }
}

const FOREIGN_THREADS: u64 = 4;
const FOREIGN_ROUNDS: u64 = 20;
/// A bound on each foreign thread's spawns in a round (it normally stops far sooner).
const FOREIGN_MAX: u64 = 200_000;

#[test]
fn foreign_thread_spawns_through_a_handle_racing_shutdown() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let progress = Progress::arm(
            format!("{driver}: foreign spawns racing shutdown"),
            Duration::from_secs(30),
        );
        for round in 0..FOREIGN_ROUNDS {
            let rt = runtime(driver, 2);
            let handle: Handle = rt.handle();
            let made = Arc::new(AtomicU64::new(0));
            let ran = Arc::new(AtomicU64::new(0));
            let dropped = Arc::new(AtomicU64::new(0));
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let threads: Vec<_> = (0..FOREIGN_THREADS)
                .map(|t| {
                    let (handle, made, ran, dropped, stop) = (
                        handle.clone(),
                        made.clone(),
                        ran.clone(),
                        dropped.clone(),
                        stop.clone(),
                    );
                    std::thread::spawn(move || {
                        // Each handle with the count of spawns made before it (all threads).
                        let mut out: Vec<(u64, JoinHandle<u64>)> = Vec::new();
                        let mut i = 0u64;
                        while !stop.load(Ordering::SeqCst) && i < FOREIGN_MAX {
                            let (g, r) = (Counted(dropped.clone()), ran.clone());
                            let fut = async move {
                                let _g = g;
                                r.fetch_add(1, Ordering::SeqCst);
                                i
                            };
                            let seq = made.fetch_add(1, Ordering::SeqCst);
                            let h = if (i + t) % 2 == 0 {
                                handle.spawn(fut)
                            } else {
                                handle.spawn_on(((i + t) % 2) as usize, fut).unwrap()
                            };
                            out.push((seq, h));
                            i += 1;
                        }
                        out
                    })
                })
                .collect();
            drop(handle);
            // The threads' tasks are running on the workers before the drop begins.
            let t = std::time::Instant::now();
            while ran.load(Ordering::SeqCst) < 100 && t.elapsed() < Duration::from_secs(10) {
                std::hint::spin_loop();
            }
            let at_end = {
                let _w = Watchdog::arm(
                    format!("{driver}: round {round}: shutdown racing foreign spawns"),
                    Duration::from_secs(30),
                );
                if round % 2 == 0 {
                    drop(rt);
                } else {
                    rt.shutdown_timeout(Duration::ZERO);
                }
                made.load(Ordering::SeqCst)
            };
            // ... and after it returned.
            let t = std::time::Instant::now();
            while made.load(Ordering::SeqCst) < at_end + 100
                && t.elapsed() < Duration::from_secs(10)
            {
                std::hint::spin_loop();
            }
            stop.store(true, Ordering::SeqCst);
            let mut cx = Context::from_waker(std::task::Waker::noop());
            let (mut ok, mut cancelled, mut late) = (0u64, 0u64, 0u64);
            for th in threads {
                let handles = th.join().expect("a foreign spawning thread panicked");
                for (seq, mut h) in handles {
                    match Pin::new(&mut h).poll(&mut cx) {
                        Poll::Ready(Ok(_)) => {
                            assert!(
                                seq < at_end,
                                "{driver}: round {round}: spawn {seq} ran after the drop"
                            );
                            ok += 1
                        }
                        Poll::Ready(Err(e)) if e.is_cancelled() => {
                            cancelled += 1;
                            late += u64::from(seq >= at_end);
                        }
                        Poll::Ready(Err(e)) => panic!("{driver}: round {round}: {e}"),
                        Poll::Pending => panic!("{driver}: round {round}: a handle still pending"),
                    }
                }
            }
            let made = made.load(Ordering::SeqCst);
            assert_eq!(
                ok + cancelled,
                made,
                "{driver}: round {round}: a ready handle per spawn"
            );
            assert_eq!(
                ran.load(Ordering::SeqCst),
                ok,
                "{driver}: round {round}: ran = Ok handles"
            );
            assert_eq!(
                dropped.load(Ordering::SeqCst),
                made,
                "{driver}: round {round}: every spawned future dropped exactly once"
            );
            assert!(
                ok >= 100,
                "{driver}: round {round}: tasks ran before the drop ({ok})"
            );
            assert!(
                late >= 100,
                "{driver}: round {round}: spawns after the drop returned were made ({late})"
            );
            if round == 0 || round == FOREIGN_ROUNDS - 1 {
                println!(
                    "{driver}: round {round}: {made} foreign spawns racing shutdown: {ok} ran, {cancelled} cancelled ({late} after the drop returned)"
                );
            }
            progress.tick();
        }
        drop(progress);
        assert_no_fd_leak(
            before,
            format_args!("{driver}: foreign spawns racing shutdown"),
        );
    }
}
