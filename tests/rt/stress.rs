//! Scheduler edge cases under load (RELIABILITY.md cases 23-27).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Waker;

use hiver_runtime::{spawn, spawn_on, Runtime};

#[test]
fn a_million_spawns_through_a_small_queue_all_complete() {
    let n: u64 = if cfg!(debug_assertions) {
        300_000
    } else {
        1_000_000
    };
    let mut rt = Runtime::builder()
        .worker_threads(2)
        .queue_size(256)
        .build()
        .unwrap();
    let sum = rt
        .block_on(async move {
            spawn_on(0, async move {
                let mut sum = 0;
                let mut batch = Vec::with_capacity(10_000);
                for i in 0..n {
                    // Half go to this worker's own queue (10,000 at a time through 256
                    // slots: the overflow path, whatever placement does with the rest).
                    let h = if i % 2 == 0 {
                        spawn_on(0, async move { i }).expect("worker 0 exists")
                    } else {
                        spawn(async move { i })
                    };
                    batch.push(h);
                    if batch.len() == 10_000 {
                        for h in batch.drain(..) {
                            sum += h.await.unwrap();
                        }
                    }
                }
                for h in batch {
                    sum += h.await.unwrap();
                }
                sum
            })
            .unwrap()
            .await
            .unwrap()
        })
        .unwrap();
    assert_eq!(sum, n * (n - 1) / 2);
    let m = rt.metrics();
    assert!(
        m.workers().iter().any(|w| w.local_overflows > 0),
        "the 256-slot queue overflowed: {m:?}"
    );
}

#[test]
fn spawns_racing_shutdown_neither_hang_nor_panic() {
    for _ in 0..5 {
        let mut rt = Runtime::builder().worker_threads(2).build().unwrap();
        let started = Arc::new(AtomicBool::new(false));
        let s = started.clone();
        rt.block_on(async move {
            for w in 0..2 {
                let s = s.clone();
                spawn_on(w, async move {
                    s.store(true, Ordering::SeqCst);
                    for _ in 0..10_000 {
                        drop(spawn(async { std::future::pending::<()>().await }));
                    }
                })
                .unwrap();
            }
        })
        .unwrap();
        while !started.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        drop(rt);
    }
}

#[test]
fn cross_thread_wakes_racing_shutdown_are_harmless() {
    for round in 0..100 {
        let mut rt = Runtime::builder().worker_threads(2).build().unwrap();
        let wakers: Arc<std::sync::Mutex<Vec<Waker>>> = Arc::default();
        let w2 = wakers.clone();
        rt.block_on(async move {
            for _ in 0..8 {
                let w = w2.clone();
                spawn(std::future::poll_fn(move |cx| {
                    w.lock().unwrap().push(cx.waker().clone());
                    std::task::Poll::<()>::Pending
                }));
            }
            // Wait until every task registered its waker.
            while w2.lock().unwrap().len() < 8 {
                super::support::yield_now().await;
            }
        })
        .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let wakes = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (wakers, stop, wakes) = (wakers.clone(), stop.clone(), wakes.clone());
                std::thread::spawn(move || {
                    let mine: Vec<Waker> = wakers.lock().unwrap().clone();
                    while !stop.load(Ordering::SeqCst) {
                        for w in &mine {
                            w.wake_by_ref();
                            wakes.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    drop(mine);
                })
            })
            .collect();
        while wakes.load(Ordering::Relaxed) < 100 {
            std::thread::yield_now();
        }
        drop(rt); // the wakers keep firing meanwhile
        stop.store(true, Ordering::SeqCst);
        for t in threads {
            t.join().unwrap();
        }
        drop(wakers);
        let _ = round;
    }
}

#[test]
fn panics_in_drops_at_shutdown_and_of_outputs_are_contained() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("drop panics");
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    struct Count(Arc<AtomicUsize>);
    impl Drop for Count {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let mut rt = Runtime::builder().worker_threads(1).build().unwrap();
    let d = dropped.clone();
    rt.block_on(async move {
        // An output whose drop panics, detached: dropped on the worker, panic contained.
        drop(spawn(async { PanicOnDrop }));
        // Futures whose drop panics, pending at shutdown; and ordinary ones after them.
        for _ in 0..3 {
            let guard = PanicOnDrop;
            let c = Count(d.clone());
            spawn(async move {
                let _g = guard;
                let _c = c;
                std::future::pending::<()>().await
            });
        }
        // The worker still runs tasks after the detached output panicked.
        assert_eq!(spawn(async { 5 }).await.unwrap(), 5);
    })
    .unwrap();
    drop(rt);
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        3,
        "every future was dropped despite the panics"
    );
}
