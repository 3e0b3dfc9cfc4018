//! Dropping the runtime drops every pending task, on every worker, exactly once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hiver_runtime::{spawn, spawn_local, Runtime};

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
    let mut rt = Runtime::builder().worker_threads(1).build().unwrap();
    let h = rt
        .block_on(async { spawn(std::future::pending::<u8>()) })
        .unwrap();
    drop(rt);
    let mut rt2 = Runtime::builder().worker_threads(1).build().unwrap();
    let e = rt2.block_on(h).unwrap().unwrap_err();
    assert!(e.is_cancelled());
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

#[test]
fn many_runtimes_build_and_drop_without_leaking_threads_or_fds() {
    for _ in 0..50 {
        let mut rt = Runtime::builder().worker_threads(2).build().unwrap();
        rt.block_on(async { spawn(async { 1 }).await.unwrap() })
            .unwrap();
    }
}
