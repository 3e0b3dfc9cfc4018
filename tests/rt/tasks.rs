//! Tasks: outputs, panics, aborts, handles, spawn_local, spawn_on, placement.

use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hiver_runtime::{spawn, spawn_local, spawn_on, Runtime};

use super::support::{drivers, runtime, yield_now};

#[test]
fn many_tasks_complete_on_every_driver() {
    for d in drivers() {
        let mut rt = runtime(d, 2);
        let sum = rt
            .block_on(async {
                let hs: Vec<_> = (0..10_000u64).map(|i| spawn(async move { i })).collect();
                let mut sum = 0;
                for h in hs {
                    sum += h.await.unwrap();
                }
                sum
            })
            .unwrap();
        assert_eq!(sum, (0..10_000).sum::<u64>(), "on {d}");
    }
}

#[test]
fn a_panicking_task_reports_and_the_worker_goes_on() {
    let mut rt = Runtime::builder().worker_threads(1).build().unwrap();
    rt.block_on(async {
        let n = std::hint::black_box(7);
        let err = spawn(async move { panic!("boom {n}") }).await.unwrap_err();
        assert!(err.is_panic() && !err.is_cancelled());
        assert_eq!(err.to_string(), "task panicked with message \"boom 7\"");
        let payload = err.into_panic();
        assert_eq!(payload.downcast_ref::<String>().unwrap(), "boom 7");
        // The single worker still runs tasks.
        assert_eq!(spawn(async { 1 }).await.unwrap(), 1);
    })
    .unwrap();
}

#[test]
fn abort_cancels_a_pending_task_and_drops_its_future() {
    struct Flag(Arc<AtomicUsize>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut rt = Runtime::builder().worker_threads(2).build().unwrap();
    let d = dropped.clone();
    rt.block_on(async move {
        let flag = Flag(d);
        let h = spawn(async move {
            let _f = flag;
            std::future::pending::<()>().await
        });
        yield_now().await;
        h.abort();
        let e = h.await.unwrap_err();
        assert!(e.is_cancelled(), "{e:?}");
    })
    .unwrap();
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn dropped_handle_detaches_the_task() {
    let mut rt = Runtime::builder().worker_threads(2).build().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    rt.block_on(async move {
        drop(spawn(async move {
            yield_now().await;
            tx.send(5).unwrap();
        }));
    })
    .unwrap();
    assert_eq!(
        rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap(),
        5
    );
}

#[test]
fn join_handle_is_finished() {
    let mut rt = Runtime::builder().worker_threads(1).build().unwrap();
    rt.block_on(async {
        let h = spawn(async { 3 });
        while !h.is_finished() {
            yield_now().await;
        }
        assert_eq!(h.await.unwrap(), 3);
    })
    .unwrap();
}

#[test]
fn spawn_local_runs_non_send_futures_on_the_block_on_thread() {
    let mut rt = Runtime::builder().worker_threads(1).build().unwrap();
    let me = std::thread::current().id();
    let out = rt
        .block_on(async move {
            let rc = Rc::new(std::cell::Cell::new(0));
            let r2 = rc.clone();
            let h = spawn_local(async move {
                yield_now().await;
                r2.set(r2.get() + 1);
                std::thread::current().id()
            });
            let ran_on = h.await.unwrap();
            (rc.get(), ran_on)
        })
        .unwrap();
    assert_eq!(out, (1, me));
}

#[test]
fn spawn_local_on_a_worker_stays_on_it() {
    let mut rt = Runtime::builder().worker_threads(2).build().unwrap();
    rt.block_on(async {
        let h = spawn_on(1, async {
            let outer = std::thread::current().name().map(String::from);
            let inner = spawn_local(async { std::thread::current().name().map(String::from) })
                .await
                .unwrap();
            (outer, inner)
        })
        .unwrap();
        let (a, b) = h.await.unwrap();
        assert_eq!(a.as_deref(), Some("hiver-worker-1"));
        assert_eq!(a, b);
    })
    .unwrap();
}

#[test]
fn spawn_on_a_missing_worker_is_an_error() {
    let mut rt = Runtime::builder().worker_threads(2).build().unwrap();
    rt.block_on(async {
        let e = spawn_on(2, async {}).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("no worker 2"), "{e}");
    })
    .unwrap();
}

#[test]
fn spawn_outside_a_runtime_panics_with_a_message() {
    let r = std::panic::catch_unwind(|| drop(spawn(async {})));
    let msg = r.unwrap_err();
    let msg = msg.downcast_ref::<String>().unwrap();
    assert!(msg.contains("must be called from a hiver runtime"), "{msg}");
}

#[test]
fn nested_block_on_is_an_error_not_a_panic() {
    let mut outer = Runtime::builder().worker_threads(1).build().unwrap();
    let mut inner = Runtime::builder().worker_threads(1).build().unwrap();
    let r = outer
        .block_on(async move { inner.block_on(async { 1 }) })
        .unwrap();
    let e = r.unwrap_err();
    assert!(e.to_string().contains("nested block_on"), "{e}");
}

#[test]
fn spawned_tasks_keep_running_after_block_on_returns() {
    let mut rt = Runtime::builder().worker_threads(2).build().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let go_rx = std::sync::Mutex::new(go_rx);
    rt.block_on(async move {
        spawn(async move {
            // Blocks this worker until the test says go: block_on has returned by then.
            go_rx.lock().unwrap().recv().unwrap();
            tx.send("still running").unwrap();
        });
    })
    .unwrap();
    go_tx.send(()).unwrap();
    assert_eq!(
        rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap(),
        "still running"
    );
}

#[test]
fn a_task_woken_from_a_foreign_thread_runs() {
    for d in drivers() {
        let mut rt = runtime(d, 2);
        let v = rt
            .block_on(async {
                let (tx, rx) = std::sync::mpsc::channel::<std::task::Waker>();
                let state = Arc::new(AtomicUsize::new(0));
                let s2 = state.clone();
                let h = spawn(std::future::poll_fn(move |cx| {
                    if s2.load(Ordering::SeqCst) == 1 {
                        return std::task::Poll::Ready(7);
                    }
                    tx.send(cx.waker().clone()).unwrap();
                    std::task::Poll::Pending
                }));
                let waker = loop {
                    if let Ok(w) = rx.try_recv() {
                        break w;
                    }
                    yield_now().await;
                };
                std::thread::spawn(move || {
                    state.store(1, Ordering::SeqCst);
                    waker.wake();
                })
                .join()
                .unwrap();
                h.await.unwrap()
            })
            .unwrap();
        assert_eq!(v, 7, "on {d}");
    }
}

#[test]
fn accept_loop_style_spawns_keep_every_worker_busy() {
    let mut rt = Runtime::builder().worker_threads(2).build().unwrap();
    rt.block_on(async {
        let hs: Vec<_> = (0..2000)
            .map(|_| {
                spawn(async {
                    for _ in 0..5 {
                        yield_now().await;
                    }
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    })
    .unwrap();
    let m = rt.metrics();
    let polls: Vec<u64> = m.workers().iter().map(|w| w.polls).collect();
    let spawned: Vec<u64> = m.workers().iter().map(|w| w.spawned).collect();
    assert_eq!(spawned.iter().sum::<u64>(), 2000);
    for (i, s) in spawned.iter().enumerate() {
        assert!(*s >= 600, "worker {i} got {s} of 2000 tasks: {spawned:?}");
    }
    assert!(
        polls.iter().all(|&p| p >= 600 * 6),
        "polls per worker {polls:?}"
    );
}
