//! Item 9: cross-thread wake storms racing the runtime's shutdown, 1,000 times per driver,
//! a fresh runtime each time (tokio PR #8068's shape). Four std threads wake the tasks'
//! wakers in a loop (by reference, and by cloning then consuming a clone) while the
//! runtime is dropped, and keep waking after it is gone, then drop their wakers. Some
//! tasks finish after a number of wakes, racing the drop too. No hang (a watchdog aborts
//! the binary if a round stops progressing), no crash, no panic; every future is dropped
//! exactly once.

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use hiver_runtime::{spawn, unbounded};

use crate::support::{drivers, runtime, serial, Counted, Progress};

const ROUNDS: u64 = 1000;
const TASKS: u64 = 8;

#[test]
fn wake_storms_racing_shutdown_a_thousand_times() {
    let _serial = serial();
    for driver in drivers() {
        let progress = Progress::arm(
            format!("{driver}: wake storm rounds"),
            Duration::from_secs(30),
        );
        let dropped = Arc::new(AtomicU64::new(0));
        for round in 0..ROUNDS {
            let workers = 1 + (round % 2) as usize;
            let mut rt = runtime(driver, workers);
            let wakers: Arc<Mutex<Vec<Waker>>> = Arc::default();
            let w2 = wakers.clone();
            let d = dropped.clone();
            rt.block_on(async move {
                let (registered_tx, registered) = unbounded::<()>();
                for t in 0..TASKS {
                    let (w, guard) = (w2.clone(), Counted(d.clone()));
                    let registered_tx = registered_tx.clone();
                    // Odd tasks finish after some wakes (racing the drop); even ones never.
                    let finish_after = if t % 2 == 1 { 50 + t * 10 } else { u64::MAX };
                    let mut polls = 0u64;
                    drop(spawn(poll_fn(move |cx| {
                        let _keep = &guard;
                        polls += 1;
                        if polls == 1 {
                            w.lock().unwrap().push(cx.waker().clone());
                            let _ = registered_tx.try_send(());
                        }
                        if polls >= finish_after {
                            Poll::Ready(())
                        } else {
                            Poll::Pending
                        }
                    })));
                }
                for _ in 0..TASKS {
                    registered
                        .recv()
                        .await
                        .expect("a task registered its waker");
                }
            })
            .unwrap();
            // Each thread says when it has woken every waker a few times, wakes on while
            // the runtime drops, and stops a few passes after it learnt the drop is done.
            let gone = Arc::new(AtomicBool::new(false));
            let (warm_tx, warm) = std::sync::mpsc::channel::<()>();
            let threads: Vec<_> = (0..4)
                .map(|k| {
                    let (wakers, gone, warm_tx) = (wakers.clone(), gone.clone(), warm_tx.clone());
                    std::thread::spawn(move || {
                        let mine: Vec<Waker> = wakers.lock().unwrap().clone();
                        let mut after = 0;
                        // Bounded: at most this many passes even if never told.
                        for pass in 0..1_000_000 {
                            if pass == 10 {
                                let _ = warm_tx.send(());
                            }
                            if gone.load(Ordering::SeqCst) {
                                after += 1;
                                if after > 10 {
                                    break;
                                }
                            }
                            for w in &mine {
                                if k % 2 == 0 {
                                    w.wake_by_ref();
                                } else {
                                    // The by-value path: a clone made and consumed here.
                                    #[allow(clippy::waker_clone_wake)]
                                    w.clone().wake();
                                }
                            }
                        }
                        drop(mine);
                        after
                    })
                })
                .collect();
            // Two threads storming (as many as run at once on this 2-core machine) is
            // enough to race the drop; the others join in as they get a core.
            for _ in 0..2 {
                warm.recv().expect("a waker thread started");
            }
            drop(rt); // the threads keep waking meanwhile
            gone.store(true, Ordering::SeqCst);
            // Each thread woke ten passes more after the runtime was gone (late wakes are
            // no-ops), then dropped its wakers.
            for t in threads {
                t.join().expect("waker thread");
            }
            drop(wakers);
            assert_eq!(
                dropped.load(Ordering::SeqCst),
                (round + 1) * TASKS,
                "{driver}: round {round}: every future dropped once"
            );
            progress.tick();
        }
        println!("{driver}: {ROUNDS} runtimes dropped during wake storms");
    }
}
