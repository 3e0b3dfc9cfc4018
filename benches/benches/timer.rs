//! Timers: registering and cancelling many, firing many at once, and `timeout` around a
//! future that is ready at once.
//!
//! Workloads:
//! - `timer/insert-cancel`: inside one task, 1 000 000 sleeps of distinct durations
//!   (1 s + i µs, so none fires), each boxed and polled once (so that it registers in the
//!   timer), then all dropped (cancelled); the whole loop is timed, per timer;
//! - `timer/sleepers`: 100 000 tasks, spawned from a task on a worker, each sleeping a
//!   pseudo-random 1..=50 ms (the same durations for both runtimes) until a deadline it
//!   computes when it starts, then recording its lateness (`now - deadline`, after the
//!   sleep); the latency table gives the median and p99 lateness, a second table the wall
//!   time of the whole round (spawn to last join) from the same rounds;
//! - `timer/timeout-ready`: `timeout(1 s, async { 1 })` awaited 1 000 000 times in a loop
//!   inside one task, per operation.
//!
//! tokio runs a multi-thread runtime with the same worker count and only its time driver
//! (`enable_time()`); tokio's `Sleep` is `!Unpin`, so both peers box their sleeps in
//! `timer/insert-cancel` (one allocation and one free per timer in both).

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::hint::black_box;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use hiver_benches::{compare, fmt_dur, hiver, median, rounds, workers, Measure, Peer, Round};

const TIMERS: u64 = 1_000_000;
const SLEEPERS: usize = 100_000;
const MAX_SLEEP_MS: u64 = 50;
const TIMEOUTS: u64 = 1_000_000;
const SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// A tokio multi-thread runtime with `workers` workers and its time driver only.
fn tokio_timers(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_time()
        .build()
        .expect("tokio multi_thread runtime")
}

/// Creates `TIMERS` sleeps of distinct durations over one second, polls each once (it must
/// stay pending: registered), keeps them, then drops them all; the time of the whole loop.
async fn insert_cancel<S: Future<Output = ()>>(sleep: fn(Duration) -> S) -> Duration {
    let mut sleeps: Vec<Pin<Box<S>>> = Vec::with_capacity(TIMERS as usize);
    let start = Instant::now();
    for i in 0..TIMERS {
        let mut s = Box::pin(sleep(Duration::from_secs(1) + Duration::from_micros(i)));
        let pending = poll_fn(|cx| Poll::Ready(s.as_mut().poll(cx).is_pending())).await;
        assert!(pending, "a sleep of over 1 s was ready at its first poll");
        sleeps.push(s);
    }
    drop(black_box(sleeps));
    start.elapsed()
}

fn insert_then_cancel(w: usize) {
    let mut h = hiver(w);
    let tm = tokio_timers(w);
    compare(
        &format!(
            "timer/insert-cancel: {TIMERS} sleeps (1 s + i µs) polled once each, then all dropped, in one task"
        ),
        Measure::Throughput { ops: TIMERS },
        vec![
            Peer::new(format!("hiver ({w} workers)"), || {
                let t = h
                    .block_on(async { hiver_runtime::spawn(insert_cancel(hiver_runtime::sleep)).await })
                    .expect("hiver block_on");
                Round::time(t.expect("hiver task"))
            }),
            Peer::new(format!("tokio multi_thread ({w} workers)"), || {
                let t = tm.block_on(async { tokio::spawn(insert_cancel(tokio::time::sleep)).await });
                Round::time(t.expect("tokio task"))
            }),
        ],
    );
}

/// `n` pseudo-random sleep lengths in 1..=`MAX_SLEEP_MS` ms (xorshift64 from `SEED`).
fn sleep_lengths(n: usize) -> Arc<Vec<u64>> {
    let mut s = SEED;
    Arc::new(
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                1 + s % MAX_SLEEP_MS
            })
            .collect(),
    )
}

/// One round of `timer/sleepers`: its wall time, each task's lateness (zero when it ended
/// early) and how many ended early.
struct Sleepers {
    wall: Duration,
    lateness: Vec<Duration>,
    early: usize,
}

async fn hiver_sleepers(lengths: Arc<Vec<u64>>) -> Sleepers {
    let start = Instant::now();
    let handles: Vec<_> = lengths
        .iter()
        .map(|&ms| {
            hiver_runtime::spawn(async move {
                let deadline = hiver_runtime::Instant::now() + Duration::from_millis(ms);
                hiver_runtime::sleep_until(deadline).await;
                hiver_runtime::Instant::now().checked_duration_since(deadline)
            })
        })
        .collect();
    let mut lateness = Vec::with_capacity(handles.len());
    for h in handles {
        let late = h.await.expect("hiver sleeper task");
        lateness.push(late.expect("a hiver sleep ended before its deadline"));
    }
    Sleepers {
        wall: start.elapsed(),
        lateness,
        early: 0,
    }
}

async fn tokio_sleepers(lengths: Arc<Vec<u64>>) -> Sleepers {
    let start = Instant::now();
    let handles: Vec<_> = lengths
        .iter()
        .map(|&ms| {
            tokio::spawn(async move {
                let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
                tokio::time::sleep_until(deadline).await;
                tokio::time::Instant::now().checked_duration_since(deadline)
            })
        })
        .collect();
    let mut lateness = Vec::with_capacity(handles.len());
    let mut early = 0;
    for h in handles {
        match h.await.expect("tokio sleeper task") {
            Some(late) => lateness.push(late),
            None => {
                early += 1;
                lateness.push(Duration::ZERO);
            }
        }
    }
    Sleepers {
        wall: start.elapsed(),
        lateness,
        early,
    }
}

fn sleepers(w: usize) {
    let lengths = sleep_lengths(SLEEPERS);
    let mut h = hiver(w);
    let tm = tokio_timers(w);
    // Wall time, max lateness and early count of every round, warm-up first.
    let walls: [RefCell<Vec<(Duration, Duration, usize)>>; 2] = Default::default();
    let record = |peer: usize, s: Sleepers| -> Round {
        let max = s.lateness.iter().copied().max().unwrap_or_default();
        walls[peer].borrow_mut().push((s.wall, max, s.early));
        Round {
            elapsed: s.wall,
            latencies: s.lateness,
            cross_thread: None,
        }
    };
    let names = [
        format!("hiver ({w} workers)"),
        format!("tokio multi_thread ({w} workers)"),
    ];
    compare(
        &format!(
            "timer/sleepers: {SLEEPERS} tasks sleeping 1..={MAX_SLEEP_MS} ms (same pseudo-random lengths), lateness after the deadline"
        ),
        Measure::Latency,
        vec![
            Peer::new(names[0].clone(), || {
                let l = lengths.clone();
                let s = h
                    .block_on(async { hiver_runtime::spawn(hiver_sleepers(l)).await })
                    .expect("hiver block_on");
                record(0, s.expect("hiver task"))
            }),
            Peer::new(names[1].clone(), || {
                let l = lengths.clone();
                let s = tm.block_on(async { tokio::spawn(tokio_sleepers(l)).await });
                record(1, s.expect("tokio task"))
            }),
        ],
    );
    print_walls(&names, &walls.map(RefCell::into_inner));
}

/// The wall-time table of `timer/sleepers`, from the rounds `compare` ran (the warm-up
/// round dropped): median and min–max wall time, the median of it beyond the longest sleep,
/// the median of the rounds' maximum lateness, early endings in all rounds, and the ratio
/// to hiver round by round, as `compare` computes it.
fn print_walls(names: &[String; 2], walls: &[Vec<(Duration, Duration, usize)>; 2]) {
    println!("wall time of the same rounds (spawn of the first task to join of the last):");
    println!(
        "{:<38} {:>10} {:>22} {:>11} {:>10} {:>6} {:>24}",
        "peer", "median", "min–max", "beyond 50ms", "max late", "early", "ratio vs hiver (min–max)"
    );
    let measured = |v: &[(Duration, Duration, usize)]| -> Vec<(Duration, Duration, usize)> {
        v.iter()
            .skip(v.len().saturating_sub(rounds()))
            .copied()
            .collect()
    };
    let base: Vec<Duration> = measured(&walls[0]).iter().map(|r| r.0).collect();
    for (i, (name, rs)) in names.iter().zip(walls).enumerate() {
        let rs = measured(rs);
        let times: Vec<Duration> = rs.iter().map(|r| r.0).collect();
        let maxes: Vec<Duration> = rs.iter().map(|r| r.1).collect();
        let early: usize = rs.iter().map(|r| r.2).sum();
        let med = median(&times);
        let lo = times.iter().copied().min().unwrap_or_default();
        let hi = times.iter().copied().max().unwrap_or_default();
        let ratio = if i == 0 {
            "baseline".to_string()
        } else {
            let mut r: Vec<f64> = base
                .iter()
                .zip(&times)
                .map(|(b, t)| t.as_secs_f64() / b.as_secs_f64().max(1e-12))
                .collect();
            r.sort_by(f64::total_cmp);
            let n = r.len();
            let mid = if n % 2 == 1 {
                r[n / 2]
            } else {
                (r[n / 2 - 1] + r[n / 2]) / 2.0
            };
            format!("{mid:.2} ({:.2}–{:.2})", r[0], r[n - 1])
        };
        println!(
            "{:<38} {:>10} {:>22} {:>11} {:>10} {:>6} {:>24}",
            name,
            fmt_dur(med),
            format!("{}–{}", fmt_dur(lo), fmt_dur(hi)),
            fmt_dur(med.saturating_sub(Duration::from_millis(MAX_SLEEP_MS))),
            fmt_dur(median(&maxes)),
            early,
            ratio,
        );
    }
}

async fn hiver_timeouts() -> Duration {
    let start = Instant::now();
    let mut sum = 0u64;
    for _ in 0..TIMEOUTS {
        sum += hiver_runtime::timeout(Duration::from_secs(1), async { black_box(1u64) })
            .await
            .expect("a ready future timed out");
    }
    assert_eq!(sum, TIMEOUTS);
    start.elapsed()
}

async fn tokio_timeouts() -> Duration {
    let start = Instant::now();
    let mut sum = 0u64;
    for _ in 0..TIMEOUTS {
        sum += tokio::time::timeout(Duration::from_secs(1), async { black_box(1u64) })
            .await
            .expect("a ready future timed out");
    }
    assert_eq!(sum, TIMEOUTS);
    start.elapsed()
}

fn timeout_ready(w: usize) {
    let mut h = hiver(w);
    let tm = tokio_timers(w);
    compare(
        &format!("timer/timeout-ready: timeout(1 s, async {{ 1 }}) x {TIMEOUTS} in one task"),
        Measure::Throughput { ops: TIMEOUTS },
        vec![
            Peer::new(format!("hiver ({w} workers)"), || {
                let t = h
                    .block_on(async { hiver_runtime::spawn(hiver_timeouts()).await })
                    .expect("hiver block_on");
                Round::time(t.expect("hiver task"))
            }),
            Peer::new(format!("tokio multi_thread ({w} workers)"), || {
                let t = tm.block_on(async { tokio::spawn(tokio_timeouts()).await });
                Round::time(t.expect("tokio task"))
            }),
        ],
    );
}

fn main() {
    let w = workers();
    let driver = hiver(w).driver_type().to_string();
    hiver_benches::banner("timer", &driver);
    if hiver_benches::selected("timer/insert-cancel") {
        insert_then_cancel(w);
    }
    if hiver_benches::selected("timer/sleepers") {
        sleepers(w);
    }
    if hiver_benches::selected("timer/timeout-ready") {
        timeout_ready(w);
    }
}
