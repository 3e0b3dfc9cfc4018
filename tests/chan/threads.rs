//! Cross-thread producers: 4 plain threads send into `bounded(1)`, `bounded(16)` and
//! `unbounded`, received by a task on a worker: nothing lost or duplicated, FIFO per
//! producer, every value dropped once; on every driver (RELIABILITY.md case 33: 1,000,000
//! messages per producer in release, fewer in debug).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use hiver_runtime::{bounded, spawn, unbounded, DriverType, Receiver, Sender};

use super::support::{block_on, count, drivers, runtime, Counted};

const PRODUCERS: u64 = 4;

/// Messages per producer: 1,000,000 in release; in debug, `debug` (what runs in a few
/// seconds: a `bounded(1)` send parks its thread almost every time).
fn per(debug: u64) -> u64 {
    if cfg!(miri) {
        100
    } else if cfg!(debug_assertions) {
        debug
    } else {
        1_000_000
    }
}

/// How long the receiver may go without a message before the run counts as hung.
const STALL: Duration = Duration::from_secs(10);

/// Runs `f` on its own thread and fails if `progress` stands still for [`STALL`] (a lost
/// wake-up becomes a failure, not a hang) while letting a long run go on: 4,000,000
/// messages through `bounded(1)` take about a minute in release, each send parking its
/// thread. Panics in `f` come through.
fn progress_watchdog<R: Send + 'static>(
    what: String,
    progress: Arc<AtomicU64>,
    f: impl FnOnce() -> R + Send + 'static,
) -> R {
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let body = std::thread::spawn(move || {
        let r = f();
        let _ = done_tx.send(());
        r
    });
    let mut last = u64::MAX;
    loop {
        match done_rx.recv_timeout(STALL) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                return body.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
            }
            Err(RecvTimeoutError::Timeout) => {
                let now = progress.load(Ordering::SeqCst);
                assert_ne!(
                    now, last,
                    "{what}: no message received for {STALL:?} after {now} (lost wake-up?)"
                );
                last = now;
            }
        }
    }
}

/// Each driver in turn, each under its own watchdog.
fn every_driver(
    name: &'static str,
    debug: u64,
    make: fn() -> (Sender<Counted>, Receiver<Counted>),
) {
    let per = per(debug);
    for d in drivers() {
        let progress = Arc::new(AtomicU64::new(0));
        let p = progress.clone();
        progress_watchdog(format!("{d}: {name}"), progress, move || {
            let t = std::time::Instant::now();
            run(d, name, per, make(), p);
            println!(
                "{d}: {name}: {PRODUCERS} x {per} messages in {:?}",
                t.elapsed()
            );
        });
    }
}

fn run(
    driver: DriverType,
    name: &str,
    per: u64,
    (tx, rx): (Sender<Counted>, Receiver<Counted>),
    progress: Arc<AtomicU64>,
) {
    let drops = Arc::new(AtomicUsize::new(0));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let (tx, drops) = (tx.clone(), drops.clone());
            std::thread::spawn(move || {
                for i in 0..per {
                    block_on(tx.send(Counted::new(p << 32 | i, &drops)))
                        .ok()
                        .unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let mut rt = runtime(driver, 2);
    let next = rt
        .block_on(async {
            spawn(async move {
                let mut next = vec![0u64; PRODUCERS as usize];
                while let Ok(v) = rx.recv().await {
                    let p = (v.id >> 32) as usize;
                    assert!(p < PRODUCERS as usize, "a value no producer sent");
                    assert_eq!(v.id & 0xffff_ffff, next[p], "producer {p} out of order");
                    next[p] += 1;
                    progress.fetch_add(1, Ordering::Relaxed);
                }
                next
            })
            .await
            .unwrap()
        })
        .unwrap();
    for p in producers {
        p.join().unwrap();
    }
    assert_eq!(
        next,
        vec![per; PRODUCERS as usize],
        "{driver}: {name}: lost or duplicated"
    );
    assert_eq!(
        count(&drops),
        (PRODUCERS * per) as usize,
        "{driver}: {name}: each dropped once"
    );
}

#[test]
fn four_threads_into_bounded_1() {
    every_driver("bounded(1)", 16_000, || bounded(1));
}

#[test]
fn four_threads_into_bounded_16() {
    every_driver("bounded(16)", 200_000, || bounded(16));
}

#[test]
fn four_threads_into_unbounded() {
    every_driver("unbounded", 500_000, unbounded);
}
