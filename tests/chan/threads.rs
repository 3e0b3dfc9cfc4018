//! Cross-thread producers: 4 plain threads send into `bounded(1)`, `bounded(16)` and
//! `unbounded`, received by a task on a worker: nothing lost or duplicated, FIFO per
//! producer (RELIABILITY.md case 33, with 100,000 messages per producer).

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use hiver_runtime::{bounded, spawn, unbounded, Receiver, Sender};

use super::support::{block_on, count, runtime, watchdog, Counted};

const PRODUCERS: u64 = 4;
const PER: u64 = if cfg!(miri) { 100 } else { 100_000 };

fn run(name: &str, (tx, rx): (Sender<Counted>, Receiver<Counted>)) {
    let drops = Arc::new(AtomicUsize::new(0));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let (tx, drops) = (tx.clone(), drops.clone());
            std::thread::spawn(move || {
                for i in 0..PER {
                    block_on(tx.send(Counted::new(p << 32 | i, &drops)))
                        .ok()
                        .unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let mut rt = runtime(super::support::drivers()[0], 2);
    let next = rt
        .block_on(async {
            spawn(async move {
                let mut next = vec![0u64; PRODUCERS as usize];
                while let Ok(v) = rx.recv().await {
                    let p = (v.id >> 32) as usize;
                    assert_eq!(v.id & 0xffff_ffff, next[p], "producer {p} out of order");
                    next[p] += 1;
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
        vec![PER; PRODUCERS as usize],
        "{name}: lost or duplicated"
    );
    assert_eq!(
        count(&drops),
        (PRODUCERS * PER) as usize,
        "{name}: each dropped once"
    );
}

#[test]
fn four_threads_into_bounded_1() {
    watchdog("threads-bounded-1", || run("bounded(1)", bounded(1)));
}

#[test]
fn four_threads_into_bounded_16() {
    watchdog("threads-bounded-16", || run("bounded(16)", bounded(16)));
}

#[test]
fn four_threads_into_unbounded() {
    watchdog("threads-unbounded", || run("unbounded", unbounded()));
}
