//! Shared code of the hiver-runtime benchmarks: settings from the environment, interleaved
//! rounds, medians and percentiles, the ratio printer, and the runtime-neutral primitives
//! (`YieldNow`, `Baton`) that every peer runs unchanged.
//!
//! Each bench binary (`benches/*.rs`, `harness = false`) describes its workloads as a list of
//! [`Peer`]s, hiver first, and hands them to [`compare`]: one warm-up round of every peer is
//! discarded, then [`rounds`] rounds alternate the peers (forward on even rounds, backward on
//! odd ones), and the table gives each peer's median and the ratio `peer time / hiver time`
//! computed round by round (> 1 means hiver is faster).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// Worker threads given to every multi-threaded runtime: `HIVER_BENCH_WORKERS`, default 2.
pub fn workers() -> usize {
    env_usize("HIVER_BENCH_WORKERS", 2).max(1)
}

/// Measured rounds per peer after the warm-up round: `HIVER_BENCH_ROUNDS`, default 5.
pub fn rounds() -> usize {
    env_usize("HIVER_BENCH_ROUNDS", 5).max(1)
}

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| {
            eprintln!("{name}={v:?} is not a number; using {default}");
            default
        }),
        Err(_) => default,
    }
}

/// Whether a workload runs: every one unless a filter word was given on the command line
/// (`cargo bench -p hiver-benches -- pingpong`); cargo's own `--bench` flag is ignored.
pub fn selected(workload: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    filters.is_empty() || filters.iter().any(|f| workload.contains(f.as_str()))
}

/// Prints the banner of one bench binary: the settings and the machine.
pub fn banner(bench: &str, hiver_driver: &str) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "# {bench}: hiver ({hiver_driver} driver) vs tokio; {} workers each, {} rounds + 1 warm-up, \
         {cores} cores; ratio = peer time / hiver time (> 1: hiver faster)",
        workers(),
        rounds(),
    );
}

/// What one round of one peer measured.
#[derive(Debug, Clone, Default)]
pub struct Round {
    /// Wall time of the timed part of the round.
    pub elapsed: Duration,
    /// Per-operation latencies (latency workloads only).
    pub latencies: Vec<Duration>,
    /// Fraction of round trips whose two sides ran on different threads, where measured.
    pub cross_thread: Option<f64>,
}

impl Round {
    /// A round that measured a wall time.
    pub fn time(elapsed: Duration) -> Round {
        Round {
            elapsed,
            ..Round::default()
        }
    }
}

/// One runtime configuration taking part in a workload: a name and one round's body.
pub struct Peer<'a> {
    name: String,
    run: Box<dyn FnMut() -> Round + 'a>,
}

impl<'a> Peer<'a> {
    /// A peer named `name` whose rounds run `run`.
    pub fn new(name: impl Into<String>, run: impl FnMut() -> Round + 'a) -> Peer<'a> {
        Peer {
            name: name.into(),
            run: Box::new(run),
        }
    }
}

/// What a workload reports.
#[derive(Debug, Clone, Copy)]
pub enum Measure {
    /// Wall time of `ops` operations: median time, and time per operation.
    Throughput {
        /// Operations in one round (tasks, passes, yields).
        ops: u64,
    },
    /// Per-operation latencies: median and p99.
    Latency,
}

/// Runs `peers` (hiver first: the baseline of the ratios) in interleaved rounds and prints
/// the table of `title`.
pub fn compare(title: &str, measure: Measure, mut peers: Vec<Peer<'_>>) {
    let started = Instant::now();
    for p in peers.iter_mut() {
        drop((p.run)());
    }
    let n = peers.len();
    let mut results: Vec<Vec<Round>> = (0..n).map(|_| Vec::new()).collect();
    for r in 0..rounds() {
        let order: Vec<usize> = if r % 2 == 0 {
            (0..n).collect()
        } else {
            (0..n).rev().collect()
        };
        for i in order {
            let round = (peers[i].run)();
            results[i].push(round);
        }
    }
    println!();
    println!("## {title}");
    match measure {
        Measure::Throughput { ops } => print_throughput(&peers, &results, ops),
        Measure::Latency => print_latency(&peers, &results),
    }
    if std::env::var_os("HIVER_BENCH_VERBOSE").is_some() {
        print_rounds(&peers, &results);
    }
    println!("   ({:.1} s)", started.elapsed().as_secs_f64());
}

/// Every round of every peer, in the order they ran (`HIVER_BENCH_VERBOSE=1`).
fn print_rounds(peers: &[Peer<'_>], results: &[Vec<Round>]) {
    for (p, rs) in peers.iter().zip(results) {
        let cells: Vec<String> = rs
            .iter()
            .map(|r| {
                if r.latencies.is_empty() {
                    fmt_dur(r.elapsed)
                } else {
                    let mut v = r.latencies.clone();
                    v.sort_unstable();
                    format!(
                        "{}/{}",
                        fmt_dur(percentile_sorted(&v, 50.0)),
                        fmt_dur(percentile_sorted(&v, 99.0))
                    )
                }
            })
            .collect();
        println!("   rounds of {}: {}", p.name, cells.join(", "));
    }
}

fn print_throughput(peers: &[Peer<'_>], results: &[Vec<Round>], ops: u64) {
    println!(
        "{:<38} {:>10} {:>22} {:>10} {:>24} {:>7}",
        "peer", "median", "min–max", "per op", "ratio vs hiver (min–max)", "cross"
    );
    let base: Vec<Duration> = results[0].iter().map(|r| r.elapsed).collect();
    for (i, (p, rs)) in peers.iter().zip(results).enumerate() {
        let times: Vec<Duration> = rs.iter().map(|r| r.elapsed).collect();
        let med = median(&times);
        let (lo, hi) = min_max(&times);
        let per_op = med.as_secs_f64() / ops.max(1) as f64;
        println!(
            "{:<38} {:>10} {:>22} {:>10} {:>24} {:>7}",
            p.name,
            fmt_dur(med),
            format!("{}–{}", fmt_dur(lo), fmt_dur(hi)),
            fmt_secs(per_op),
            ratio_cell(i == 0, &base, &times),
            cross_cell(rs),
        );
    }
}

fn print_latency(peers: &[Peer<'_>], results: &[Vec<Round>]) {
    println!(
        "{:<38} {:>10} {:>10} {:>24} {:>24} {:>7}",
        "peer", "median", "p99", "median ratio (min–max)", "p99 ratio (min–max)", "cross"
    );
    let summary = |rs: &[Round]| -> (Vec<Duration>, Vec<Duration>) {
        rs.iter()
            .map(|r| {
                let mut v = r.latencies.clone();
                v.sort_unstable();
                (percentile_sorted(&v, 50.0), percentile_sorted(&v, 99.0))
            })
            .unzip()
    };
    let (base_med, base_p99) = summary(&results[0]);
    for (i, (p, rs)) in peers.iter().zip(results).enumerate() {
        let (meds, p99s) = summary(rs);
        println!(
            "{:<38} {:>10} {:>10} {:>24} {:>24} {:>7}",
            p.name,
            fmt_dur(median(&meds)),
            fmt_dur(median(&p99s)),
            ratio_cell(i == 0, &base_med, &meds),
            ratio_cell(i == 0, &base_p99, &p99s),
            cross_cell(rs),
        );
    }
}

/// `median (min–max)` of the per-round ratios `times / base`, or `baseline` for hiver.
fn ratio_cell(is_base: bool, base: &[Duration], times: &[Duration]) -> String {
    if is_base {
        return "baseline".to_string();
    }
    let ratios: Vec<f64> = base
        .iter()
        .zip(times)
        .map(|(b, t)| t.as_secs_f64() / b.as_secs_f64().max(1e-12))
        .collect();
    let mut sorted = ratios.clone();
    sorted.sort_by(f64::total_cmp);
    let mid = if sorted.len() % 2 == 1 {
        sorted[sorted.len() / 2]
    } else {
        (sorted[sorted.len() / 2 - 1] + sorted[sorted.len() / 2]) / 2.0
    };
    format!(
        "{mid:.2} ({:.2}–{:.2})",
        sorted[0],
        sorted[sorted.len() - 1]
    )
}

fn cross_cell(rs: &[Round]) -> String {
    let fs: Vec<f64> = rs.iter().filter_map(|r| r.cross_thread).collect();
    if fs.is_empty() {
        return "-".to_string();
    }
    format!("{:.0}%", 100.0 * fs.iter().sum::<f64>() / fs.len() as f64)
}

/// The median of `v` (the mean of the middle two for an even count); zero when empty.
pub fn median(v: &[Duration]) -> Duration {
    let mut s = v.to_vec();
    s.sort_unstable();
    match s.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2,
    }
}

/// The `p`th percentile (nearest rank) of an already sorted slice; zero when empty.
pub fn percentile_sorted(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn min_max(v: &[Duration]) -> (Duration, Duration) {
    let lo = v.iter().copied().min().unwrap_or_default();
    let hi = v.iter().copied().max().unwrap_or_default();
    (lo, hi)
}

/// A duration with a unit that keeps three or four significant digits.
pub fn fmt_dur(d: Duration) -> String {
    fmt_secs(d.as_secs_f64())
}

/// Seconds with a unit that keeps three or four significant digits.
pub fn fmt_secs(secs: f64) -> String {
    let ns = secs * 1e9;
    if ns < 1e3 {
        format!("{ns:.1} ns")
    } else if ns < 1e6 {
        format!("{:.2} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.3} s", ns / 1e9)
    }
}

/// Yields once: wakes its own task and returns `Pending`, then `Ready` on the next poll.
/// The same code for every runtime (neither tokio's nor hiver's own yield).
#[derive(Debug, Default)]
pub struct YieldNow {
    yielded: bool,
}

impl YieldNow {
    /// A fresh yield point.
    pub fn new() -> YieldNow {
        YieldNow::default()
    }
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// A turn counter passed between two sides (0 and 1): side `s` acts on turns `t` with
/// `t % 2 == s`, then hands the turn over and wakes the other side. Built on std only (an
/// atomic and one `Mutex<Option<Waker>>` slot per side), so both runtimes get the identical
/// primitive; a waiting side is either a task (`wait`) or a plain thread (`wait_blocking`).
#[derive(Debug, Default)]
pub struct Baton {
    turn: AtomicU64,
    slots: [Mutex<Option<Waker>>; 2],
    tags: [AtomicUsize; 2],
}

impl Baton {
    /// A baton at turn 0 (side 0 to act).
    pub fn new() -> Arc<Baton> {
        Arc::new(Baton::default())
    }

    /// Waits until the turn is `target` (side `side` waits on its own slot).
    pub fn wait(&self, side: usize, target: u64) -> WaitTurn<'_> {
        WaitTurn {
            baton: self,
            side,
            target,
        }
    }

    /// Blocks this thread until the turn is `target`, parking it in between.
    pub fn wait_blocking(&self, side: usize, target: u64) {
        let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
        while self.poll_turn(side, target, &waker).is_pending() {
            std::thread::park();
        }
    }

    /// Hands turn `target` (the current one, owned by `side`) to the other side and wakes it.
    pub fn pass(&self, side: usize, target: u64) {
        self.tags[side].store(thread_tag(), Ordering::Relaxed);
        self.turn.store(target + 1, Ordering::Release);
        let waker = lock(&self.slots[1 - side]).take();
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Whether the other side's last pass came from another thread than this one.
    pub fn other_side_elsewhere(&self, side: usize) -> bool {
        self.tags[1 - side].load(Ordering::Relaxed) != thread_tag()
    }

    fn poll_turn(&self, side: usize, target: u64, waker: &Waker) -> Poll<()> {
        if self.turn.load(Ordering::Acquire) == target {
            return Poll::Ready(());
        }
        {
            let mut slot = lock(&self.slots[side]);
            match slot.as_ref() {
                Some(w) if w.will_wake(waker) => {}
                _ => *slot = Some(waker.clone()),
            }
        }
        // The passer stores the turn before it takes the slot, under the same lock: either it
        // saw our waker, or this load sees its turn.
        if self.turn.load(Ordering::Acquire) == target {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The future of [`Baton::wait`].
#[derive(Debug)]
pub struct WaitTurn<'a> {
    baton: &'a Baton,
    side: usize,
    target: u64,
}

impl Future for WaitTurn<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.baton.poll_turn(self.side, self.target, cx.waker())
    }
}

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// A number unique to the calling thread while it lives.
fn thread_tag() -> usize {
    thread_local! {
        static TAG: u8 = const { 0 };
    }
    TAG.with(|t| t as *const u8 as usize)
}

/// What the measuring side (side 0) of a ping-pong saw.
#[derive(Debug, Clone, Default)]
pub struct PingResult {
    /// Wall time of the `n` timed round trips (after one untimed handshake).
    pub elapsed: Duration,
    /// Each round trip's time, when asked for.
    pub latencies: Vec<Duration>,
    /// Fraction of round trips answered from another thread.
    pub cross_thread: f64,
}

impl PingResult {
    /// As a [`Round`].
    pub fn into_round(self) -> Round {
        Round {
            elapsed: self.elapsed,
            latencies: self.latencies,
            cross_thread: Some(self.cross_thread),
        }
    }
}

/// Side 0 of a ping-pong, as a task: one untimed handshake, then `n` timed round trips
/// (pass the turn, wait for it to come back), each timed if `record`; its thread is pinned
/// to `cpu` while it runs, if given.
pub async fn ping(baton: Arc<Baton>, n: u64, record: bool, cpu: Option<usize>) -> PingResult {
    let _pin = pin_current_thread(cpu);
    baton.pass(0, 0);
    baton.wait(0, 2).await;
    let mut latencies = Vec::with_capacity(if record { n as usize } else { 0 });
    let mut cross = 0u64;
    let start = Instant::now();
    for k in 1..=n {
        let t = Instant::now();
        baton.pass(0, 2 * k);
        baton.wait(0, 2 * k + 2).await;
        if record {
            latencies.push(t.elapsed());
        }
        cross += u64::from(baton.other_side_elsewhere(0));
    }
    PingResult {
        elapsed: start.elapsed(),
        latencies,
        cross_thread: cross as f64 / n.max(1) as f64,
    }
}

/// Side 1 of a ping-pong, as a task: answers `n + 1` passes (the handshake included); its
/// thread is pinned to `cpu` while it runs, if given.
pub async fn pong(baton: Arc<Baton>, n: u64, cpu: Option<usize>) {
    let _pin = pin_current_thread(cpu);
    for k in 0..=n {
        baton.wait(1, 2 * k + 1).await;
        baton.pass(1, 2 * k + 1);
    }
}

/// [`ping`] on a plain thread, parking it between passes.
pub fn ping_blocking(baton: &Baton, n: u64, record: bool, cpu: Option<usize>) -> PingResult {
    let _pin = pin_current_thread(cpu);
    baton.pass(0, 0);
    baton.wait_blocking(0, 2);
    let mut latencies = Vec::with_capacity(if record { n as usize } else { 0 });
    let mut cross = 0u64;
    let start = Instant::now();
    for k in 1..=n {
        let t = Instant::now();
        baton.pass(0, 2 * k);
        baton.wait_blocking(0, 2 * k + 2);
        if record {
            latencies.push(t.elapsed());
        }
        cross += u64::from(baton.other_side_elsewhere(0));
    }
    PingResult {
        elapsed: start.elapsed(),
        latencies,
        cross_thread: cross as f64 / n.max(1) as f64,
    }
}

/// A tokio runtime with `workers` worker threads (all its drivers on, as is usual).
pub fn tokio_multi_thread(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("tokio multi_thread runtime")
}

/// A tokio current-thread runtime (all its drivers on).
pub fn tokio_current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio current_thread runtime")
}

/// A hiver runtime with `workers` workers and every other setting at its default.
pub fn hiver(workers: usize) -> hiver_runtime::Runtime {
    hiver_runtime::Runtime::builder()
        .worker_threads(workers)
        .build()
        .expect("hiver runtime")
}

/// A ping-pong of `n` timed round trips on a hiver runtime, side 0 on worker `ping_on` and
/// side 1 on worker `pong_on`, their threads pinned as `cpus` says while they run.
pub fn hiver_pingpong(
    rt: &mut hiver_runtime::Runtime,
    (ping_on, pong_on): (usize, usize),
    n: u64,
    record: bool,
    cpus: Cpus,
) -> PingResult {
    let (ping_cpu, pong_cpu) = cpus.sides();
    rt.block_on(async move {
        let baton = Baton::new();
        let answer = hiver_runtime::spawn_on(pong_on, pong(baton.clone(), n, pong_cpu))
            .expect("spawn_on pong");
        let result = hiver_runtime::spawn_on(ping_on, ping(baton, n, record, ping_cpu))
            .expect("spawn_on ping")
            .await
            .expect("hiver ping task");
        answer.await.expect("hiver pong task");
        result
    })
    .expect("hiver block_on")
}

/// A ping-pong on a tokio runtime, both sides `tokio::spawn`ed from `block_on`: the
/// scheduler decides where they run (the result's `cross_thread` says how often they were
/// apart). No pinning: a tokio task may move between workers.
pub fn tokio_pingpong(rt: &tokio::runtime::Runtime, n: u64, record: bool) -> PingResult {
    rt.block_on(async move {
        let baton = Baton::new();
        let answer = tokio::spawn(pong(baton.clone(), n, None));
        let result = tokio::spawn(ping(baton, n, record, None))
            .await
            .expect("tokio ping task");
        answer.await.expect("tokio pong task");
        result
    })
}

/// A ping-pong between two tokio current-thread runtimes, one per thread (tokio used
/// thread-per-core): side 0 on the calling thread, side 1 on a thread started for it.
pub fn tokio_pair_pingpong(n: u64, record: bool, cpus: Cpus) -> PingResult {
    let (ping_cpu, pong_cpu) = cpus.sides();
    let baton = Baton::new();
    let other = baton.clone();
    let rt = tokio_current_thread();
    let answer =
        std::thread::spawn(move || tokio_current_thread().block_on(pong(other, n, pong_cpu)));
    let result = rt.block_on(ping(baton, n, record, ping_cpu));
    answer.join().expect("tokio pong thread");
    result
}

/// Where the two sides of a ping-pong run, CPU-wise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cpus {
    /// Wherever the kernel puts their threads (the default of both runtimes).
    Free,
    /// Side 0 pinned to CPU 1, side 1 to CPU 0 (modulo the CPU count) while they run.
    Apart,
    /// Both sides pinned to CPU 0 while they run.
    Together,
}

impl Cpus {
    /// The CPU of side 0 and of side 1.
    pub fn sides(self) -> (Option<usize>, Option<usize>) {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        match self {
            Cpus::Free => (None, None),
            Cpus::Apart => (Some(1 % cores), Some(0)),
            Cpus::Together => (Some(0), Some(0)),
        }
    }
}

/// Restores the thread's CPU affinity when dropped (see [`pin_current_thread`]).
#[derive(Debug)]
pub struct CpuPin {
    #[cfg(target_os = "linux")]
    saved: Option<rustix::thread::CpuSet>,
}

/// Pins the calling thread to `cpu` until the returned guard drops, which restores the
/// affinity it had; nothing for `None`, or off Linux.
pub fn pin_current_thread(cpu: Option<usize>) -> CpuPin {
    #[cfg(target_os = "linux")]
    {
        let saved = cpu.and_then(|c| {
            let saved = rustix::thread::sched_getaffinity(None).ok()?;
            let mut set = rustix::thread::CpuSet::new();
            set.set(c);
            rustix::thread::sched_setaffinity(None, &set).ok()?;
            Some(saved)
        });
        CpuPin { saved }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = cpu;
        CpuPin {}
    }
}

impl Drop for CpuPin {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        if let Some(saved) = &self.saved {
            let _ = rustix::thread::sched_setaffinity(None, saved);
        }
    }
}
