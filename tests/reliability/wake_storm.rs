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

use hiver_runtime::spawn;

use crate::support::{drivers, runtime, serial, Progress};

const ROUNDS: u64 = 1000;
const TASKS: u64 = 8;

struct Counted(Arc<AtomicU64>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

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
                for t in 0..TASKS {
                    let (w, guard) = (w2.clone(), Counted(d.clone()));
                    // Odd tasks finish after some wakes (racing the drop); even ones never.
                    let finish_after = if t % 2 == 1 { 50 + t * 10 } else { u64::MAX };
                    let mut polls = 0u64;
                    drop(spawn(poll_fn(move |cx| {
                        let _keep = &guard;
                        polls += 1;
                        if polls == 1 {
                            w.lock().unwrap().push(cx.waker().clone());
                        }
                        if polls >= finish_after {
                            Poll::Ready(())
                        } else {
                            Poll::Pending
                        }
                    })));
                }
                while w2.lock().unwrap().len() < TASKS as usize {
                    hiver_runtime::yield_now().await;
                }
            })
            .unwrap();
            let stop = Arc::new(AtomicBool::new(false));
            let wakes = Arc::new(AtomicU64::new(0));
            let threads: Vec<_> = (0..4)
                .map(|k| {
                    let (wakers, stop, wakes) = (wakers.clone(), stop.clone(), wakes.clone());
                    std::thread::spawn(move || {
                        let mine: Vec<Waker> = wakers.lock().unwrap().clone();
                        // Bounded: at most this many passes even if never stopped.
                        for _ in 0..1_000_000 {
                            if stop.load(Ordering::SeqCst) {
                                break;
                            }
                            for w in &mine {
                                if k % 2 == 0 {
                                    w.wake_by_ref();
                                } else {
                                    w.clone().wake();
                                }
                                wakes.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        drop(mine);
                    })
                })
                .collect();
            while wakes.load(Ordering::Relaxed) < 200 {
                std::thread::yield_now();
            }
            drop(rt); // the threads keep waking meanwhile
            let after = wakes.load(Ordering::Relaxed);
            // Some wakes land after the runtime is gone.
            while wakes.load(Ordering::Relaxed) < after + 100 {
                std::thread::yield_now();
            }
            stop.store(true, Ordering::SeqCst);
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
