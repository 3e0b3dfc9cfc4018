//! Dropping the runtime drops every pending task, on every worker, exactly once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hiver_runtime::{spawn, spawn_local, Runtime};

use super::fds::{assert_no_fd_leak, open_fds};
use super::support::{drivers, runtime, wait_until, yield_now};

struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn drop_runtime_drops_pending_tasks_exactly_once() {
    for d in drivers() {
        let dropped = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let mut rt = runtime(d, 2);
        let (dr, st) = (dropped.clone(), started.clone());
        let handles = rt
            .block_on(async move {
                let mut hs = Vec::new();
                for _ in 0..1000 {
                    let c = Counted(dr.clone());
                    let st = st.clone();
                    hs.push(spawn(async move {
                        let _c = c;
                        st.fetch_add(1, Ordering::SeqCst);
                        std::future::pending::<()>().await;
                    }));
                }
                // spawn_local tasks of the block_on thread too
                for _ in 0..10 {
                    let c = Counted(dr.clone());
                    drop(spawn_local(async move {
                        let _c = c;
                        std::future::pending::<()>().await;
                    }));
                }
                yield_now().await;
                hs
            })
            .unwrap();
        wait_until("all tasks started", || {
            started.load(Ordering::SeqCst) == 1000
        });
        assert_eq!(dropped.load(Ordering::SeqCst), 0);
        drop(rt);
        assert_eq!(dropped.load(Ordering::SeqCst), 1010, "on {d}");
        for h in handles {
            assert!(h.is_finished());
        }
    }
}

#[test]
#[allow(clippy::async_yields_async)] // the handle itself is what block_on returns here
fn handles_report_cancellation_after_shutdown() {
    for d in drivers() {
        let mut rt = runtime(d, 1);
        let h = rt
            .block_on(async { spawn(std::future::pending::<u8>()) })
            .unwrap();
        drop(rt);
        let mut rt2 = runtime(d, 1);
        let e = rt2.block_on(h).unwrap().unwrap_err();
        assert!(e.is_cancelled(), "on {d}: {e}");
    }
}

#[test]
fn a_task_whose_drop_wakes_or_spawns_another_does_not_deadlock() {
    struct WakeOnDrop(Option<std::task::Waker>);
    impl Drop for WakeOnDrop {
        fn drop(&mut self) {
            if let Some(w) = self.0.take() {
                w.wake();
            }
            // A spawn during shutdown gets a handle that reports cancellation.
            let h = spawn(async {});
            drop(h);
        }
    }
    let mut rt = Runtime::builder().worker_threads(2).build().unwrap();
    rt.block_on(async {
        let first = spawn(std::future::pending::<()>());
        let mut slot = Some(first);
        for _ in 0..50 {
            let waker = std::sync::Arc::new(std::sync::Mutex::new(None));
            let w2 = waker.clone();
            spawn(std::future::poll_fn(move |cx| {
                *w2.lock().unwrap() = Some(cx.waker().clone());
                std::task::Poll::<()>::Pending
            }));
            let guard = WakeOnDrop(waker.lock().unwrap().take());
            spawn(async move {
                let _g = guard;
                std::future::pending::<()>().await
            });
        }
        slot.take();
    })
    .unwrap();
    drop(rt);
}

/// 50 runtimes per driver, each with tasks that finish and tasks left pending, built and
/// dropped: every task's destructor ran, and the process is back to the descriptors and
/// threads it had before. Counted in a child process running only this test (descriptors
/// and threads are process-wide; the other tests of this binary run in parallel).
#[test]
fn many_runtimes_build_and_drop_without_leaking_threads_or_fds() {
    const CYCLES: usize = 50;
    const TASKS: usize = 20;
    const NAME: &str = "shutdown::many_runtimes_build_and_drop_without_leaking_threads_or_fds";
    if std::env::var_os("HIVER_MANY_RUNTIMES_CHILD").is_none() {
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new(exe)
            .args(["--exact", NAME, "--nocapture", "--test-threads=1"])
            .env("HIVER_MANY_RUNTIMES_CHILD", "1")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "the child failed:\n{text}");
        assert!(
            text.contains("1 passed"),
            "the child did not run the test:\n{text}"
        );
        return;
    }
    for d in drivers() {
        let fds_before = open_fds();
        let threads_before = threads();
        let dropped = Arc::new(AtomicUsize::new(0));
        for cycle in 0..CYCLES {
            let mut rt = runtime(d, 2);
            let dr = dropped.clone();
            let sum = rt
                .block_on(async move {
                    let mut finished = Vec::new();
                    for i in 0..TASKS {
                        let c = Counted(dr.clone());
                        if i % 2 == 0 {
                            // Left pending: dropped with the runtime.
                            drop(spawn(async move {
                                let _c = c;
                                std::future::pending::<()>().await;
                            }));
                        } else {
                            finished.push(spawn(async move {
                                let _c = c;
                                yield_now().await;
                                i
                            }));
                        }
                    }
                    let mut sum = 0;
                    for h in finished {
                        sum += h.await.unwrap();
                    }
                    sum
                })
                .unwrap();
            assert_eq!(sum, (1..TASKS).step_by(2).sum::<usize>(), "on {d}");
            drop(rt);
            assert_eq!(
                dropped.load(Ordering::SeqCst),
                (cycle + 1) * TASKS,
                "on {d}: cycle {cycle}: every task's destructor ran by the end of the drop"
            );
        }
        assert_no_fd_leak(fds_before, format_args!("on {d}: {CYCLES} runtimes"));
        // The workers were joined by the drops; wait (bounded) for the kernel to list
        // them as gone.
        wait_until("the worker threads to be gone", || {
            threads() == threads_before
        });
    }
}

/// The threads of this process (`/proc/self/status`).
fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("Threads:"))
        .expect("a Threads line");
    line["Threads:".len()..].trim().parse().unwrap()
}

// ---- graceful shutdown: Runtime::shutdown_timeout and ShutdownSignal ----

/// Tasks that await the signal and then finish their work (a timer, a message from
/// another task) all complete: `shutdown_timeout` reports a full drain, and nothing was
/// cancelled.
#[test]
fn shutdown_timeout_lets_running_tasks_finish() {
    for d in drivers() {
        let finished = Arc::new(AtomicUsize::new(0));
        let mut rt = runtime(d, 2);
        let f = finished.clone();
        let handles = rt
            .block_on(async move {
                let mut hs = Vec::new();
                for i in 0..100u64 {
                    let f = f.clone();
                    hs.push(spawn(async move {
                        hiver_runtime::shutdown_signal().await;
                        // The work left after the signal: a timer, then a yield.
                        hiver_runtime::sleep(std::time::Duration::from_millis(1 + i % 20)).await;
                        yield_now().await;
                        f.fetch_add(1, Ordering::SeqCst);
                    }));
                }
                // spawn_local tasks of this thread are driven during the drain too.
                let f = f.clone();
                let signal = hiver_runtime::shutdown_signal();
                drop(spawn_local(async move {
                    signal.await;
                    f.fetch_add(1, Ordering::SeqCst);
                }));
                hs
            })
            .unwrap();
        assert_eq!(
            finished.load(Ordering::SeqCst),
            0,
            "nothing ran before the signal"
        );
        assert!(
            rt.shutdown_timeout(std::time::Duration::from_secs(30)),
            "on {d}: every task finishes well inside the deadline"
        );
        assert_eq!(finished.load(Ordering::SeqCst), 101, "on {d}");
        for h in handles {
            assert!(h.is_finished());
        }
    }
}

/// A task that never finishes is cancelled at the deadline (its destructor runs), while one
/// that finishes in time completes normally.
#[test]
fn shutdown_timeout_cancels_what_is_left_at_the_deadline() {
    for d in drivers() {
        let dropped = Arc::new(AtomicUsize::new(0));
        let mut rt = runtime(d, 2);
        let dr = dropped.clone();
        let (stuck, quick) = rt
            .block_on(async move {
                let c = Counted(dr);
                let stuck = spawn(async move {
                    let _c = c;
                    std::future::pending::<()>().await;
                });
                let quick = spawn(async {
                    hiver_runtime::shutdown_signal().await;
                    7
                });
                (stuck, quick)
            })
            .unwrap();
        let timeout = std::time::Duration::from_millis(100);
        let start = std::time::Instant::now();
        assert!(
            !rt.shutdown_timeout(timeout),
            "on {d}: one task cannot finish"
        );
        assert!(
            start.elapsed() >= timeout,
            "on {d}: waited for the deadline"
        );
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            1,
            "on {d}: the stuck task was dropped"
        );
        let mut rt2 = Runtime::builder().worker_threads(1).build().unwrap();
        let (s, q) = rt2.block_on(async { (stuck.await, quick.await) }).unwrap();
        assert!(s.unwrap_err().is_cancelled(), "on {d}");
        assert_eq!(q.unwrap(), 7, "on {d}");
    }
}

/// Once the shutdown began, `spawn` is refused: the handle reports cancellation and the
/// future is dropped unpolled, while the task that called it goes on.
#[test]
#[allow(clippy::async_yields_async)] // the handle itself is what block_on returns here
fn spawn_during_graceful_shutdown_is_refused() {
    for d in drivers() {
        let polled = Arc::new(AtomicUsize::new(0));
        let mut rt = runtime(d, 1);
        let p = polled.clone();
        let outcome = rt
            .block_on(async move {
                spawn(async move {
                    hiver_runtime::shutdown_signal().await;
                    let late = spawn(async move {
                        p.fetch_add(1, Ordering::SeqCst);
                    });
                    late.await.map_err(|e| e.is_cancelled())
                })
            })
            .unwrap();
        assert!(
            rt.shutdown_timeout(std::time::Duration::from_secs(30)),
            "on {d}"
        );
        assert_eq!(
            polled.load(Ordering::SeqCst),
            0,
            "on {d}: the late task never ran"
        );
        let mut rt2 = Runtime::builder().worker_threads(1).build().unwrap();
        let r = rt2.block_on(outcome).unwrap().unwrap();
        assert_eq!(r, Err(true), "on {d}: the late spawn reports cancellation");
    }
}

/// Signals: every clone and every later-made signal is ready once the shutdown began; a
/// signal dropped while waiting takes no other's wake-up.
#[test]
fn shutdown_signal_wakes_every_waiter() {
    for d in drivers() {
        let mut rt = runtime(d, 2);
        let outer = rt.shutdown_signal();
        let woken = Arc::new(AtomicUsize::new(0));
        let w = woken.clone();
        rt.block_on(async move {
            for i in 0..64 {
                let w = w.clone();
                let s = hiver_runtime::shutdown_signal();
                spawn(async move {
                    // Some waiters give up before the signal: their wake-up goes nowhere.
                    if i % 4 == 0 {
                        let _ =
                            hiver_runtime::timeout(std::time::Duration::from_millis(1), s.clone())
                                .await;
                    }
                    s.await;
                    w.fetch_add(1, Ordering::SeqCst);
                });
            }
        })
        .unwrap();
        assert!(!outer.is_triggered(), "on {d}");
        assert!(
            rt.shutdown_timeout(std::time::Duration::from_secs(30)),
            "on {d}"
        );
        assert!(outer.is_triggered(), "on {d}");
        assert_eq!(woken.load(Ordering::SeqCst), 64, "on {d}");
    }
}
