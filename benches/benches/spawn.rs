//! Spawn-and-join of many tiny tasks: 100 000 tasks returning a number, spawned in batches
//! of 1 000 whose handles are then awaited in order, summed so nothing is optimised away.
//!
//! Workloads:
//! - `spawn/block_on`: the spawning loop runs in `block_on` (not a worker in either
//!   runtime: every spawn and every join wake crosses threads);
//! - `spawn/worker`: the spawning loop runs in a task on a worker (spawns may stay local);
//! - `spawn/local`: one thread only: hiver `spawn_local` inside `block_on` against tokio's
//!   current-thread runtime (`tokio::spawn`) and a `LocalSet` (`spawn_local`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use hiver_benches::{
    compare, hiver, tokio_current_thread, tokio_multi_thread, workers, Measure, Peer, Round,
};

const TASKS: u64 = 100_000;
const BATCH: u64 = 1_000;

async fn hiver_spawn_join() -> Duration {
    let start = Instant::now();
    let mut sum = 0u64;
    for b in 0..TASKS / BATCH {
        let handles: Vec<_> = (0..BATCH)
            .map(|i| hiver_runtime::spawn(async move { black_box(b * BATCH + i) }))
            .collect();
        for h in handles {
            sum += h.await.expect("hiver task");
        }
    }
    assert_eq!(sum, TASKS * (TASKS - 1) / 2);
    start.elapsed()
}

async fn hiver_spawn_local_join() -> Duration {
    let start = Instant::now();
    let mut sum = 0u64;
    for b in 0..TASKS / BATCH {
        let handles: Vec<_> = (0..BATCH)
            .map(|i| hiver_runtime::spawn_local(async move { black_box(b * BATCH + i) }))
            .collect();
        for h in handles {
            sum += h.await.expect("hiver local task");
        }
    }
    assert_eq!(sum, TASKS * (TASKS - 1) / 2);
    start.elapsed()
}

async fn tokio_spawn_join() -> Duration {
    let start = Instant::now();
    let mut sum = 0u64;
    for b in 0..TASKS / BATCH {
        let handles: Vec<_> = (0..BATCH)
            .map(|i| tokio::spawn(async move { black_box(b * BATCH + i) }))
            .collect();
        for h in handles {
            sum += h.await.expect("tokio task");
        }
    }
    assert_eq!(sum, TASKS * (TASKS - 1) / 2);
    start.elapsed()
}

async fn tokio_spawn_local_join() -> Duration {
    let start = Instant::now();
    let mut sum = 0u64;
    for b in 0..TASKS / BATCH {
        let handles: Vec<_> = (0..BATCH)
            .map(|i| tokio::task::spawn_local(async move { black_box(b * BATCH + i) }))
            .collect();
        for h in handles {
            sum += h.await.expect("tokio local task");
        }
    }
    assert_eq!(sum, TASKS * (TASKS - 1) / 2);
    start.elapsed()
}

fn from_block_on(w: usize) {
    let mut h = hiver(w);
    let tm = tokio_multi_thread(w);
    let tc = tokio_current_thread();
    compare(
        &format!("spawn/block_on: spawn-and-join {TASKS} tiny tasks in batches of {BATCH}, from block_on"),
        Measure::Throughput { ops: TASKS },
        vec![
            Peer::new(format!("hiver ({w} workers)"), || {
                Round::time(h.block_on(hiver_spawn_join()).expect("hiver block_on"))
            }),
            Peer::new(format!("tokio multi_thread ({w} workers)"), || {
                Round::time(tm.block_on(tokio_spawn_join()))
            }),
            Peer::new("tokio current_thread", || Round::time(tc.block_on(tokio_spawn_join()))),
        ],
    );
}

fn from_worker(w: usize) {
    let mut h = hiver(w);
    let tm = tokio_multi_thread(w);
    compare(
        &format!("spawn/worker: spawn-and-join {TASKS} tiny tasks in batches of {BATCH}, from a task on a worker"),
        Measure::Throughput { ops: TASKS },
        vec![
            Peer::new(format!("hiver ({w} workers)"), || {
                let t = h
                    .block_on(async { hiver_runtime::spawn(hiver_spawn_join()).await })
                    .expect("hiver block_on");
                Round::time(t.expect("hiver outer task"))
            }),
            Peer::new(format!("tokio multi_thread ({w} workers)"), || {
                let t = tm.block_on(async { tokio::spawn(tokio_spawn_join()).await });
                Round::time(t.expect("tokio outer task"))
            }),
        ],
    );
}

fn local() {
    let mut h = hiver(1);
    let tc = tokio_current_thread();
    let tl = tokio_current_thread();
    compare(
        &format!("spawn/local: spawn-and-join {TASKS} tiny tasks in batches of {BATCH}, one thread (block_on's)"),
        Measure::Throughput { ops: TASKS },
        vec![
            Peer::new("hiver spawn_local in block_on", || {
                Round::time(h.block_on(hiver_spawn_local_join()).expect("hiver block_on"))
            }),
            Peer::new("tokio current_thread spawn", || Round::time(tc.block_on(tokio_spawn_join()))),
            Peer::new("tokio current_thread LocalSet", || {
                let set = tokio::task::LocalSet::new();
                Round::time(set.block_on(&tl, tokio_spawn_local_join()))
            }),
        ],
    );
}

fn main() {
    let w = workers();
    let driver = hiver(w).driver_type().to_string();
    hiver_benches::banner("spawn", &driver);
    if hiver_benches::selected("spawn/block_on") {
        from_block_on(w);
    }
    if hiver_benches::selected("spawn/worker") {
        from_worker(w);
    }
    if hiver_benches::selected("spawn/local") {
        local();
    }
}
