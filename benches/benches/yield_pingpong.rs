//! Yield and ping-pong between two tasks.
//!
//! Workloads:
//! - `yield/one-worker`: two tasks on one worker, each yielding (`YieldNow`) 100 000 times,
//!   so they alternate through the run queue;
//! - `yield/all-workers`: two tasks per worker, each yielding 100 000 times, placed by the
//!   runtime's own `spawn`;
//! - `pingpong/one-worker`: two tasks on one worker handing a turn back and forth through a
//!   `Baton` (atomic turn + waker slot): 100 000 round trips, two wakes each;
//! - `pingpong/two-workers`: the same with the two tasks on two workers, 5 000 round trips
//!   (every wake crosses threads, usually to a parked worker).
//!
//! Every peer runs the same futures; only `spawn` differs. tokio's multi-thread scheduler
//! cannot pin a task, so where a workload names a placement its tokio peers are a
//! current-thread runtime (one worker) or one current-thread runtime per thread (two
//! workers), with tokio's multi-thread runtime alongside as it places the tasks itself; the
//! `cross` column gives how often the two sides were on different threads.

use std::time::Instant;

use hiver_benches::{
    compare, hiver, hiver_pingpong, tokio_current_thread, tokio_multi_thread, tokio_pair_pingpong,
    tokio_pingpong, workers, Cpus, Measure, Peer, Round, YieldNow,
};

const YIELDS: u64 = 100_000;
const LOCAL_TRIPS: u64 = 100_000;
const CROSS_TRIPS: u64 = 5_000;

async fn yielder(n: u64) {
    for _ in 0..n {
        YieldNow::new().await;
    }
}

fn yield_one_worker(w: usize) {
    let mut h = hiver(w);
    let tc = tokio_current_thread();
    compare(
        &format!("yield/one-worker: 2 tasks x {YIELDS} yields on one worker"),
        Measure::Throughput { ops: 2 * YIELDS },
        vec![
            Peer::new(format!("hiver (worker 0 of {w})"), || {
                let t = h
                    .block_on(async {
                        let start = Instant::now();
                        let a = hiver_runtime::spawn_on(0, yielder(YIELDS)).expect("spawn_on");
                        let b = hiver_runtime::spawn_on(0, yielder(YIELDS)).expect("spawn_on");
                        a.await.expect("hiver task");
                        b.await.expect("hiver task");
                        start.elapsed()
                    })
                    .expect("hiver block_on");
                Round::time(t)
            }),
            Peer::new("tokio current_thread", || {
                Round::time(tc.block_on(async {
                    let start = Instant::now();
                    let a = tokio::spawn(yielder(YIELDS));
                    let b = tokio::spawn(yielder(YIELDS));
                    a.await.expect("tokio task");
                    b.await.expect("tokio task");
                    start.elapsed()
                }))
            }),
        ],
    );
}

fn yield_all_workers(w: usize) {
    let mut h = hiver(w);
    let tm = tokio_multi_thread(w);
    let tasks = 2 * w as u64;
    compare(
        &format!("yield/all-workers: {tasks} tasks x {YIELDS} yields, placed by spawn"),
        Measure::Throughput {
            ops: tasks * YIELDS,
        },
        vec![
            Peer::new(format!("hiver ({w} workers)"), || {
                let t = h
                    .block_on(async {
                        let start = Instant::now();
                        let hs: Vec<_> = (0..tasks)
                            .map(|_| hiver_runtime::spawn(yielder(YIELDS)))
                            .collect();
                        for x in hs {
                            x.await.expect("hiver task");
                        }
                        start.elapsed()
                    })
                    .expect("hiver block_on");
                Round::time(t)
            }),
            Peer::new(format!("tokio multi_thread ({w} workers)"), || {
                Round::time(tm.block_on(async {
                    let start = Instant::now();
                    let hs: Vec<_> = (0..tasks).map(|_| tokio::spawn(yielder(YIELDS))).collect();
                    for x in hs {
                        x.await.expect("tokio task");
                    }
                    start.elapsed()
                }))
            }),
        ],
    );
}

fn pingpong_one_worker(w: usize) {
    let mut h = hiver(w);
    let tc = tokio_current_thread();
    let tm = tokio_multi_thread(w);
    compare(
        &format!("pingpong/one-worker: {LOCAL_TRIPS} round trips between two tasks on one worker"),
        Measure::Throughput { ops: LOCAL_TRIPS },
        vec![
            Peer::new(format!("hiver (both on worker 0 of {w})"), || {
                hiver_pingpong(&mut h, (0, 0), LOCAL_TRIPS, false, Cpus::Free).into_round()
            }),
            Peer::new("tokio current_thread", || {
                tc.block_on(async {
                    let baton = hiver_benches::Baton::new();
                    let answer =
                        tokio::spawn(hiver_benches::pong(baton.clone(), LOCAL_TRIPS, None));
                    let r = tokio::spawn(hiver_benches::ping(baton, LOCAL_TRIPS, false, None))
                        .await
                        .expect("tokio ping task");
                    answer.await.expect("tokio pong task");
                    r
                })
                .into_round()
            }),
            Peer::new(format!("tokio multi_thread ({w}, its placement)"), || {
                tokio_pingpong(&tm, LOCAL_TRIPS, false).into_round()
            }),
        ],
    );
}

fn pingpong_two_workers(w: usize) {
    let mut h = hiver(w);
    let tm = tokio_multi_thread(w);
    compare(
        &format!("pingpong/two-workers: {CROSS_TRIPS} round trips between tasks on two workers"),
        Measure::Throughput { ops: CROSS_TRIPS },
        vec![
            Peer::new(format!("hiver (workers 0 and 1 of {w})"), || {
                hiver_pingpong(&mut h, (0, 1), CROSS_TRIPS, false, Cpus::Free).into_round()
            }),
            Peer::new("tokio current_thread x2 threads", || {
                tokio_pair_pingpong(CROSS_TRIPS, false, Cpus::Free).into_round()
            }),
            Peer::new(format!("tokio multi_thread ({w}, its placement)"), || {
                tokio_pingpong(&tm, CROSS_TRIPS, false).into_round()
            }),
        ],
    );
}

fn main() {
    let w = workers();
    let driver = hiver(w).driver_type().to_string();
    hiver_benches::banner("yield_pingpong", &driver);
    if hiver_benches::selected("yield/one-worker") {
        yield_one_worker(w);
    }
    if hiver_benches::selected("yield/all-workers") {
        yield_all_workers(w);
    }
    if hiver_benches::selected("pingpong/one-worker") {
        pingpong_one_worker(w);
    }
    if w >= 2 && hiver_benches::selected("pingpong/two-workers") {
        pingpong_two_workers(w);
    }
}
