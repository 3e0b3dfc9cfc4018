//! Cooperative scheduling: `yield_now` lets the other tasks of the worker run, and a task
//! that finds its channel always ready still yields after its budget, so that a task
//! queued behind it is not starved until the channel runs dry.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use hiver_runtime::{unbounded, yield_now};

use crate::drivers::{drivers, runtime};

#[test]
fn yield_now_lets_the_next_task_run() {
    for driver in drivers() {
        let mut rt = runtime(driver, 1);
        let other_ran = Arc::new(AtomicBool::new(false));
        let task = {
            let seen = other_ran.clone();
            rt.spawn(async move {
                // Queued on this worker behind the running task: only a yield lets it run.
                let set = seen.clone();
                let other =
                    hiver_runtime::spawn_local(async move { set.store(true, Ordering::SeqCst) });
                let before = seen.load(Ordering::SeqCst);
                yield_now().await;
                let after = seen.load(Ordering::SeqCst);
                other.wait().await.unwrap();
                (before, after)
            })
        };
        let (before, after) = rt.block_on(task).unwrap().unwrap();
        assert!(
            !before,
            "{driver}: the other task had not run before the yield"
        );
        assert!(after, "{driver}: it ran during the yield");
    }
}

#[test]
fn an_always_ready_channel_does_not_starve_the_worker() {
    const ITEMS: usize = 100_000;
    for driver in drivers() {
        let mut rt = runtime(driver, 1);
        let (tx, rx) = unbounded::<usize>();
        for i in 0..ITEMS {
            tx.try_send(i).unwrap();
        }
        drop(tx);
        let flag = Arc::new(AtomicBool::new(false));
        let seen_at = Arc::new(AtomicUsize::new(usize::MAX));
        let consumer = {
            let (flag, seen_at) = (flag.clone(), seen_at.clone());
            rt.spawn(async move {
                // Queued on this worker behind the consumer, before it starts receiving.
                let other = hiver_runtime::spawn_local(async move {
                    flag.store(true, Ordering::SeqCst);
                });
                let mut n = 0;
                while rx.recv().await.is_ok() {
                    n += 1;
                    if other.is_finished() && seen_at.load(Ordering::SeqCst) == usize::MAX {
                        seen_at.store(n, Ordering::SeqCst);
                    }
                }
                n
            })
        };
        assert_eq!(rt.block_on(consumer).unwrap().unwrap(), ITEMS);
        assert!(flag.load(Ordering::SeqCst));
        let at = seen_at.load(Ordering::SeqCst);
        println!("{driver}: the other task ran after {at} of {ITEMS} receives");
        assert!(
            at < ITEMS / 10,
            "{driver}: the task queued behind the consumer ran only after {at} receives"
        );
    }
}
