//! The blocking pool: `spawn_blocking` runs off the I/O workers, returns its result and
//! reports its panic through the handle; the pool never runs more than
//! `max_blocking_threads` at once (the rest wait, none fail); idle threads exit after
//! `blocking_keep_alive`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use hiver_runtime::{spawn_blocking, Builder, DriverType, Runtime};

use crate::drivers::{drivers, runtime};

#[test]
fn runs_off_the_workers_and_returns_its_result() {
    for driver in drivers() {
        let mut rt = runtime(driver, 1);
        let (on_worker, in_pool) = rt
            .block_on(async {
                let worker = hiver_runtime::spawn(async { std::thread::current().id() })
                    .await
                    .unwrap();
                let pool = spawn_blocking(|| std::thread::current().id())
                    .await
                    .unwrap();
                (worker, pool)
            })
            .unwrap();
        assert_ne!(
            on_worker, in_pool,
            "{driver}: a pool thread, not the worker"
        );
        let name = rt
            .block_on(async {
                spawn_blocking(|| std::thread::current().name().map(str::to_owned)).await
            })
            .unwrap()
            .unwrap();
        assert_eq!(name.as_deref(), Some("hiver-worker-blocking"), "{driver}");
    }
}

#[test]
fn a_panic_is_reported_through_the_handle() {
    for driver in drivers() {
        let mut rt = runtime(driver, 1);
        let err = rt
            .block_on(async { spawn_blocking(|| -> u32 { panic!("boom in the pool") }).await })
            .unwrap()
            .unwrap_err();
        assert!(err.is_panic(), "{driver}: {err}");
        // The pool goes on.
        let seven = rt.block_on(async { spawn_blocking(|| 7).await });
        assert_eq!(seven.unwrap().unwrap(), 7);
    }
}

#[test]
fn at_most_max_blocking_threads_run_and_none_fail() {
    const JOBS: usize = 12;
    const MAX: usize = 3;
    for driver in drivers() {
        let mut rt = builder(driver).max_blocking_threads(MAX).build().unwrap();
        assert_eq!(rt.driver_type(), driver);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        // The first MAX jobs meet at a barrier: all MAX threads are busy at once.
        let barrier = Arc::new(Barrier::new(MAX));
        let results = rt
            .block_on(async {
                let handles: Vec<_> = (0..JOBS)
                    .map(|i| {
                        let (running, peak, barrier) =
                            (running.clone(), peak.clone(), barrier.clone());
                        spawn_blocking(move || {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            peak.fetch_max(now, Ordering::SeqCst);
                            if i < MAX {
                                barrier.wait();
                            }
                            running.fetch_sub(1, Ordering::SeqCst);
                            i
                        })
                    })
                    .collect();
                let mut out = Vec::new();
                for h in handles {
                    out.push(h.await.unwrap());
                }
                out
            })
            .unwrap();
        assert_eq!(results, (0..JOBS).collect::<Vec<_>>(), "{driver}");
        assert_eq!(
            peak.load(Ordering::SeqCst),
            MAX,
            "{driver}: the cap was reached, never passed"
        );
        assert!(rt.metrics().blocking_threads() <= MAX, "{driver}");
    }
}

#[test]
fn idle_threads_retire_after_the_keep_alive() {
    for driver in drivers() {
        let mut rt = builder(driver)
            .blocking_keep_alive(Duration::from_millis(20))
            .build()
            .unwrap();
        assert_eq!(rt.driver_type(), driver);
        rt.block_on(async { spawn_blocking(|| ()).await })
            .unwrap()
            .unwrap();
        // Wait (bounded) for the condition: the idle thread gone.
        let deadline = Instant::now() + Duration::from_secs(10);
        while rt.metrics().blocking_threads() > 0 {
            assert!(
                Instant::now() < deadline,
                "{driver}: the idle thread did not retire"
            );
            std::thread::yield_now();
        }
        // And the pool starts a thread again on demand.
        let five = rt.block_on(async { spawn_blocking(|| 5).await });
        assert_eq!(five.unwrap().unwrap(), 5, "{driver}");
    }
}

#[test]
fn zero_blocking_threads_is_refused() {
    let err = Runtime::builder()
        .max_blocking_threads(0)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("max_blocking_threads"), "{err}");
}

/// Dropping the runtime waits for a blocking job in progress (its result and the waker it
/// holds are released before drop returns); `shutdown_timeout` bounds that wait.
#[test]
fn drop_waits_for_running_blocking_jobs_and_shutdown_timeout_bounds_it() {
    use std::sync::atomic::AtomicBool;
    use std::sync::mpsc;

    /// Lets the job go when dropped: by the runtime's drop, which drops pending tasks.
    struct Release(mpsc::Sender<()>);
    impl Drop for Release {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }

    for driver in drivers() {
        let finished = Arc::new(AtomicBool::new(false));
        let mut rt = runtime(driver, 1);
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let f = finished.clone();
        rt.block_on(async move {
            drop(spawn_blocking(move || {
                started_tx.send(()).unwrap();
                let _ = release_rx.recv_timeout(Duration::from_secs(60));
                f.store(true, Ordering::SeqCst);
            }));
            let guard = Release(release_tx);
            hiver_runtime::spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await
            });
        })
        .unwrap();
        started_rx.recv_timeout(Duration::from_secs(60)).unwrap();
        // The job ends only once drop has dropped the pending task: drop must wait for it.
        drop(rt);
        assert!(
            finished.load(Ordering::SeqCst),
            "{driver}: drop returned before the job ended"
        );

        // shutdown_timeout: a job that does not end is given up on at the deadline.
        let mut rt = runtime(driver, 1);
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        rt.block_on(async move {
            drop(spawn_blocking(move || {
                started_tx.send(()).unwrap();
                let _ = release_rx.recv_timeout(Duration::from_secs(60));
            }));
        })
        .unwrap();
        started_rx.recv_timeout(Duration::from_secs(60)).unwrap();
        let start = Instant::now();
        // The job's task waits for it, so the drain itself cannot finish either.
        assert!(!rt.shutdown_timeout(Duration::from_millis(100)), "{driver}");
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{driver}: bounded by the deadline"
        );
        release_tx.send(()).unwrap();
    }
}

/// A builder of a 1-worker runtime on `driver`, for the tests that set pool options.
fn builder(driver: DriverType) -> Builder {
    Runtime::builder().worker_threads(1).driver_type(driver)
}
