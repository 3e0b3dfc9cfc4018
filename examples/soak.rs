//! The long reliability runs of the reliability issue, with their figures and verdicts.
//! Five cases, each on a server runtime and a separate client side in this process, per
//! driver:
//!
//! - `soak`: `--conns` connections echo messages of random sizes (1 byte to `--max-size`,
//!   each power-of-two bucket equally likely), every echo compared byte for byte, until
//!   `--round-trips` are done. Prints round trips, bytes verified, latency, and RSS
//!   (`VmRSS`) after warm-up (the first `--warmup` round trips) and at the end. Fails on
//!   any corrupt or lost byte, any connection error, fewer round trips than
//!   `--round-trips` (a `--duration` that ran out first), a run that ended before its
//!   warm-up (RSS growth then cannot be judged), RSS growth of 5% or more after warm-up,
//!   or a descriptor leak.
//! - `churn`: `--churn` connect/send/read/close cycles over 127.0.0.2-5. Prints the rate
//!   and RSS after the warm-up (the first tenth, at least 1,000 cycles or half) and at the
//!   end; fails on any error, wrong echo, fewer cycles than `--churn` (a `--duration` that
//!   ran out first), descriptor leak or RSS growth of 5% or more.
//! - `slow`: a blocking client's echo p99, alone and beside `--slow` connections sending
//!   one byte a second for `--slow-secs`. Fails if the p99 beside the slow clients is 10 ms
//!   or more (the issue's bound, item 3), or on any slow client's or server's error.
//! - `timers`: 8 connections echo 1-64 byte messages throughout; their latency is taken
//!   quiet (100,000 round trips), then while `--timers` timers are created and cancelled on
//!   the server's workers (storms repeat until at least 1,000 echoes ran during them).
//!   Fails if the storm's p99 exceeds max(2 x the quiet p99, quiet p99 + 1 ms) (the issue's
//!   "within 2x", item 8, with a 1 ms floor: a quiet p99 of ~70 µs makes a bare 2x a
//!   measure of scheduler noise, not of the timers), if a wheel is not empty afterwards,
//!   or on a corrupt echo.
//! - `idle`: `--idle-conns` connections held idle in the server for `--idle-secs`, then
//!   one echo on every one (RELIABILITY.md case 10). Prints RSS per idle connection (the
//!   clients are plain std sockets in a child process, so the growth is the server
//!   side's). Fails on any error, wrong echo, lost connection or descriptor leak. The
//!   default count is 0.75 x the hard `RLIMIT_NOFILE`, at most 15,000.
//!
//! `--duration SECS` is a time limit per case and driver: `soak` and `churn` stop at it and
//! then fail (their count was not reached); `timers` stops its quiet phase and its storms
//! at it and fails if a storm did not finish; `slow` caps `--slow-secs` and `idle` caps
//! `--idle-secs` to half of it (the rest is for their measurements, connections and
//! echoes), and both fail if they end after it. Without it, only the counts bound the
//! cases.
//!
//! ```text
//! cargo run --release --example soak -- [--driver all|uring|epoll]
//!     [--case all|soak|churn|slow|timers|idle] [--conns 200] [--round-trips 10000000]
//!     [--duration SECS] [--warmup N] [--workers 1] [--max-size 65536] [--churn 100000]
//!     [--slow 1000] [--slow-secs 10] [--timers 1000000] [--idle-conns M] [--idle-secs 60]
//! ```
//!
//! Exit status: 0 if every case passed, 1 if one failed, 2 for a bad flag.

#[path = "../tests/common/fds.rs"]
mod fds;
#[path = "../tests/reliability/load.rs"]
mod load;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::{spawn, spawn_on, DriverType, JoinHandle, Runtime};

use fds::open_fds;
use load::{
    churn, echo_client, rss_kib, serve_echo, slow_client, std_pinger, Budget, EchoStats, Histogram,
    Rng,
};

#[derive(Clone, Debug)]
struct Opts {
    drivers: Vec<DriverType>,
    cases: Vec<String>,
    conns: u64,
    round_trips: u64,
    duration: Option<Duration>,
    warmup: Option<u64>,
    workers: usize,
    max_size: usize,
    churn: u64,
    slow: u64,
    slow_secs: u32,
    timers: u64,
    idle_conns: u64,
    idle_secs: Duration,
}

impl Opts {
    /// The deadline of a case starting now (`--duration`), if any.
    fn deadline(&self) -> Option<Instant> {
        self.duration.map(|d| Instant::now() + d)
    }
}

const CASES: [&str; 5] = ["soak", "churn", "slow", "timers", "idle"];

/// The p99 bound of the fast client beside the slow clients (the issue's item 3).
const SLOW_P99_LIMIT: Duration = Duration::from_millis(10);
/// The absolute floor of the timer storm's p99 bound: the storm's p99 may exceed twice the
/// quiet one, but not the quiet one plus this.
const STORM_FLOOR: Duration = Duration::from_millis(1);
/// Echoes the storm phase must see before its p99 is judged (storms repeat until then).
const STORM_MIN_ECHOES: u64 = 1_000;

/// The default `--idle-conns`: 0.75 x the hard `RLIMIT_NOFILE`, at most 15,000
/// (RELIABILITY.md case 10). The clients live in a child process, so the server process
/// holds one descriptor per connection.
fn default_idle_conns() -> u64 {
    let (_, hard) = nofile();
    (hard.min(1 << 24) * 3 / 4).min(15_000)
}

fn usage() -> ! {
    eprintln!(
        "usage: soak [--driver all|uring|epoll] [--case all|soak|churn|slow|timers|idle] \
         [--conns N] [--round-trips N] [--duration SECS] [--warmup N] [--workers N] \
         [--max-size BYTES] [--churn N] [--slow N] [--slow-secs N] [--timers N] \
         [--idle-conns M] [--idle-secs S]\n\
         \n\
         Fails (exit 1) on any lost or corrupt byte, error, descriptor leak, and:\n\
         - soak: fewer round trips than --round-trips; a run ending before --warmup (RSS\n  \
           growth not judged); RSS growth of 5% or more after warm-up\n\
         - churn: fewer cycles than --churn; RSS growth of 5% or more\n\
         - slow: the fast client's p99 beside the slow clients at 10 ms or more\n\
         - timers: the echo p99 during the storm above max(2 x quiet p99, quiet p99 + 1 ms)\n  \
           (2x of a ~70 us quiet p99 would judge scheduler noise: hence the 1 ms floor);\n  \
           a wheel not empty afterwards\n\
         - idle: a connection lost or an echo wrong after the idle hold\n\
         --duration SECS is a limit per case and driver: soak, churn and the timer storm stop\n  \
         at it and fail; slow and idle cap --slow-secs and --idle-secs to half of it and\n  \
         fail if they end after it.\n\
         --idle-conns defaults to 0.75 x hard RLIMIT_NOFILE (the clients are in a child\n  \
         process), at most 15,000 ({} here); --idle-secs to 60.",
        default_idle_conns()
    );
    std::process::exit(2)
}

fn parse() -> Opts {
    let mut o = Opts {
        drivers: vec![DriverType::IOUring, DriverType::Epoll],
        cases: CASES.iter().map(|c| c.to_string()).collect(),
        conns: 200,
        round_trips: 10_000_000,
        duration: None,
        warmup: None,
        workers: 1,
        max_size: 64 * 1024,
        churn: 100_000,
        slow: 1000,
        slow_secs: 10,
        timers: 1_000_000,
        idle_conns: default_idle_conns(),
        idle_secs: Duration::from_secs(60),
    };
    fn num<T: std::str::FromStr>(v: &str) -> T {
        v.replace('_', "").parse().unwrap_or_else(|_| usage())
    }
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--driver" => {
                o.drivers = match v.as_str() {
                    "all" => vec![DriverType::IOUring, DriverType::Epoll],
                    "uring" | "io_uring" => vec![DriverType::IOUring],
                    "epoll" => vec![DriverType::Epoll],
                    _ => usage(),
                }
            }
            "--case" => {
                o.cases = match v.as_str() {
                    "all" => CASES.iter().map(|c| c.to_string()).collect(),
                    c if CASES.contains(&c) => vec![c.to_string()],
                    _ => usage(),
                }
            }
            "--conns" => o.conns = num(&v),
            "--round-trips" => o.round_trips = num(&v),
            "--duration" => o.duration = Some(Duration::from_secs_f64(num(&v))),
            "--warmup" => o.warmup = Some(num(&v)),
            "--workers" => o.workers = num(&v),
            "--max-size" => o.max_size = num(&v),
            "--churn" => o.churn = num(&v),
            "--slow" => o.slow = num(&v),
            "--slow-secs" => o.slow_secs = num(&v),
            "--timers" => o.timers = num(&v),
            "--idle-conns" => o.idle_conns = num(&v),
            "--idle-secs" => o.idle_secs = Duration::from_secs_f64(num(&v)),
            _ => usage(),
        }
    }
    if o.conns == 0
        || o.workers == 0
        || o.max_size == 0
        || o.slow_secs < 3
        || o.idle_conns == 0
        || o.warmup.is_some_and(|w| w >= o.round_trips)
        || o.duration.is_some_and(|d| d < Duration::from_secs(1))
    {
        usage()
    }
    if let Some(d) = o.duration {
        // `slow` measures twice for about --slow-secs each: fit it in the limit.
        let cap = (d.as_secs() / 2).max(3) as u32;
        if o.slow_secs > cap {
            println!(
                "soak: --duration {d:?}: --slow-secs {} capped to {cap}",
                o.slow_secs
            );
            o.slow_secs = cap;
        }
        if o.idle_secs > d / 2 {
            println!(
                "soak: --duration {d:?}: --idle-secs {:?} capped to {:?}",
                o.idle_secs,
                d / 2
            );
            o.idle_secs = d / 2;
        }
    }
    o
}

fn runtime(driver: DriverType, workers: usize) -> io::Result<Runtime> {
    let rt = Runtime::builder()
        .worker_threads(workers)
        .driver_type(driver)
        .build()?;
    if rt.driver_type() != driver {
        return Err(io::Error::other(format!(
            "asked for {driver}, got {}",
            rt.driver_type()
        )));
    }
    Ok(rt)
}

/// A server runtime with an echo server on `hosts` (127.0.0.H), and its listening addresses.
fn echo_server(
    driver: DriverType,
    workers: usize,
    hosts: &[u8],
    errors: &Arc<AtomicU64>,
) -> io::Result<(Runtime, Vec<SocketAddr>)> {
    let mut rt = runtime(driver, workers)?;
    let mut addrs = Vec::new();
    for h in hosts {
        let errors = errors.clone();
        let addr = rt.block_on(async move {
            let l = TcpListener::bind(format!("127.0.0.{h}:0")).await?;
            let addr = l.local_addr()?;
            drop(spawn(serve_echo(l, errors)));
            Ok::<_, io::Error>(addr)
        })??;
        addrs.push(addr);
    }
    Ok((rt, addrs))
}

/// Judges one figure: prints it, and records a failure.
struct Verdict {
    failures: Vec<String>,
}

impl Verdict {
    fn check(&mut self, ok: bool, what: String) {
        println!("  {} {what}", if ok { "ok  " } else { "FAIL" });
        if !ok {
            self.failures.push(what);
        }
    }

    fn rss(&mut self, what: &str, warm: u64, end: u64) {
        let growth = (end as f64 - warm as f64) / warm.max(1) as f64 * 100.0;
        self.check(
            growth < 5.0,
            format!("{what}: RSS {warm} KiB after warm-up, {end} KiB at the end ({growth:+.2}%; limit +5%)"),
        );
    }

    fn fds(&mut self, what: &str, before: usize) {
        let after = open_fds();
        self.check(
            after == before,
            format!("{what}: descriptors {before} before, {after} after"),
        );
    }
}

fn case_soak(driver: DriverType, o: &Opts, v: &mut Verdict) -> io::Result<()> {
    let before = open_fds();
    let errors = Arc::new(AtomicU64::new(0));
    let (server, addrs) = echo_server(driver, o.workers, &[1], &errors)?;
    let mut clients = runtime(driver, 1)?;
    let budget = Budget::new(o.round_trips, o.deadline());
    let warmup = o.warmup.unwrap_or((o.round_trips / 20).min(500_000));
    let start = Instant::now();
    let handles: Vec<_> = (0..o.conns)
        .map(|i| clients.spawn(echo_client(addrs[0], i, o.max_size, budget.clone())))
        .collect();
    // Progress every 10 s; the RSS sample once the warm-up is done (looked at every 5 ms,
    // so that a short run does not pass its warm-up unseen).
    let mut rss_warm = None;
    let mut last = Instant::now();
    while !handles.iter().all(|h| h.is_finished()) {
        std::thread::sleep(Duration::from_millis(5));
        let done = budget.done.load(Ordering::Relaxed);
        if rss_warm.is_none() && done >= warmup {
            rss_warm = Some((rss_kib(), done));
        }
        if last.elapsed() >= Duration::from_secs(10) {
            last = Instant::now();
            let s = start.elapsed().as_secs_f64();
            println!(
                "  .. {done} round trips in {s:.0} s ({:.0}/s)",
                done as f64 / s
            );
        }
    }
    let rss_end = rss_kib();
    let elapsed = start.elapsed();
    let mut total = EchoStats::default();
    let mut failed = 0;
    clients.block_on(async {
        for (i, h) in handles.into_iter().enumerate() {
            match h.await {
                Ok(Ok(s)) => total.merge(&s),
                Ok(Err(e)) => {
                    failed += 1;
                    eprintln!("  connection {i}: {e}");
                }
                Err(e) => {
                    failed += 1;
                    eprintln!("  connection {i}: task: {e}");
                }
            }
        }
    })?;
    drop(clients);
    drop(server);
    let secs = elapsed.as_secs_f64();
    println!(
        "  {} round trips over {} connections in {secs:.1} s ({:.0}/s), {} bytes verified \
         each way ({:.1} MB/s each way)",
        total.round_trips,
        o.conns,
        total.round_trips as f64 / secs,
        total.bytes_verified,
        total.bytes_verified as f64 / secs / 1e6
    );
    println!("  latency per round trip: {}", total.latency.summary());
    v.check(
        total.corrupt == 0 && failed == 0 && errors.load(Ordering::Relaxed) == 0,
        format!(
            "soak: {} corrupt echoes, {failed} failed connections, {} server errors",
            total.corrupt,
            errors.load(Ordering::Relaxed)
        ),
    );
    v.check(
        total.round_trips >= o.round_trips,
        format!(
            "soak: {} of --round-trips {} done{}",
            total.round_trips,
            o.round_trips,
            match o.duration {
                Some(d) if total.round_trips < o.round_trips =>
                    format!(" (--duration {d:?} ran out)"),
                _ => String::new(),
            }
        ),
    );
    match rss_warm {
        Some((warm, at)) => {
            println!("  warm-up: first {at} round trips");
            v.rss("soak", warm, rss_end);
        }
        None => v.check(
            false,
            format!(
                "soak: RSS growth not judged: the run ended after {} round trips, before the \
                 warm-up of {warmup} (RSS {rss_end} KiB at the end)",
                total.round_trips
            ),
        ),
    }
    v.fds("soak", before);
    Ok(())
}

fn case_churn(driver: DriverType, o: &Opts, v: &mut Verdict) -> io::Result<()> {
    const TASKS: u64 = 8;
    let before = open_fds();
    let errors = Arc::new(AtomicU64::new(0));
    let (server, addrs) = echo_server(driver, o.workers, &[2, 3, 4, 5], &errors)?;
    let mut clients = runtime(driver, 1)?;
    let deadline = o.deadline();
    let start = Instant::now();
    // The warm-up round (a tenth, at least 1,000 cycles or half the run: the allocator's
    // arenas settle within the first thousand), then rounds of a tenth each, so that
    // `--duration` can stop the case between two rounds.
    let tenth = (o.churn / 10).max(1);
    let warm = tenth.max((o.churn / 2).min(1000)).max(1);
    let mut rss = Vec::new();
    let mut wrong = 0;
    let mut failures = Vec::new();
    let mut done = 0;
    let mut round = 0;
    while done < o.churn && failures.is_empty() {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let n = if round == 0 { warm } else { tenth }.min(o.churn - done);
        let per = n / TASKS;
        let handles: Vec<_> = (0..TASKS)
            .map(|i| {
                let extra = u64::from(i < n % TASKS);
                clients.spawn(churn(addrs.clone(), per + extra, round * 100 + i))
            })
            .collect();
        clients.block_on(async {
            for h in handles {
                match h.await {
                    Ok(Ok(w)) => wrong += w,
                    Ok(Err(e)) => failures.push(e.to_string()),
                    Err(e) => failures.push(e.to_string()),
                }
            }
        })?;
        rss.push(rss_kib());
        done += n;
        round += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    drop(clients);
    drop(server);
    println!(
        "  {done} connect/send/read/close cycles in {secs:.1} s ({:.0}/s)",
        done as f64 / secs
    );
    for f in &failures {
        eprintln!("  churn: {f}");
    }
    v.check(
        failures.is_empty() && wrong == 0 && errors.load(Ordering::Relaxed) == 0,
        format!(
            "churn: {} failed clients, {wrong} wrong echoes, {} server errors",
            failures.len(),
            errors.load(Ordering::Relaxed)
        ),
    );
    v.check(
        done == o.churn,
        format!(
            "churn: {done} of --churn {} cycles done{}",
            o.churn,
            if done < o.churn && failures.is_empty() {
                " (--duration ran out)"
            } else {
                ""
            }
        ),
    );
    if rss.len() >= 2 {
        v.rss("churn", rss[0], rss[rss.len() - 1]);
    } else {
        v.check(
            false,
            "churn: RSS growth not judged: fewer than two rounds ran".into(),
        );
    }
    v.fds("churn", before);
    Ok(())
}

fn ping(addr: SocketAddr, time: Duration) -> io::Result<Histogram> {
    std::thread::spawn(move || std_pinger(addr, 1_000, time, u64::MAX, 64))
        .join()
        .map_err(|_| io::Error::other("pinger thread panicked"))?
}

fn case_slow(driver: DriverType, o: &Opts, v: &mut Verdict) -> io::Result<()> {
    let before = open_fds();
    let errors = Arc::new(AtomicU64::new(0));
    let (server, addrs) = echo_server(driver, o.workers, &[1], &errors)?;
    let addr = addrs[0];
    let measure = Duration::from_secs(u64::from(o.slow_secs) - 2);
    let quiet = ping(addr, measure)?;
    let mut clients = runtime(driver, 1)?;
    let connected = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..o.slow)
        .map(|i| {
            let offset = Duration::from_micros(i * 1_000_000 / o.slow.max(1));
            clients.spawn(slow_client(
                addr,
                connected.clone(),
                offset,
                Duration::from_secs(1),
                o.slow_secs,
            ))
        })
        .collect();
    let start = Instant::now();
    while connected.load(Ordering::Relaxed) < o.slow && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let loaded = ping(addr, measure)?;
    let mut failed = 0;
    clients.block_on(async {
        for h in handles {
            if !matches!(h.await, Ok(Ok(()))) {
                failed += 1;
            }
        }
    })?;
    drop(clients);
    drop(server);
    let (q, l) = (quiet.quantile(0.99), loaded.quantile(0.99));
    println!("  alone:                    {}", quiet.summary());
    println!("  beside {} slow clients: {}", o.slow, loaded.summary());
    v.check(
        connected.load(Ordering::Relaxed) == o.slow,
        format!(
            "slow: {} of {} slow clients connected before the loaded measurement",
            connected.load(Ordering::Relaxed),
            o.slow
        ),
    );
    v.check(
        l < SLOW_P99_LIMIT,
        format!(
            "slow: fast client p99 {l:?} beside {} slow clients (alone {q:?}; limit: under \
             {SLOW_P99_LIMIT:?})",
            o.slow
        ),
    );
    v.check(
        failed == 0 && errors.load(Ordering::Relaxed) == 0,
        format!(
            "slow: {failed} failed slow clients, {} server errors",
            errors.load(Ordering::Relaxed)
        ),
    );
    v.fds("slow", before);
    Ok(())
}

/// Phases of the timer case's echo clients.
const QUIET: u8 = 0;
const STORM: u8 = 1;
const STOP: u8 = 2;

/// What one echo client of the timer case saw, per phase.
#[derive(Default)]
struct Phased {
    quiet: EchoStats,
    storm: EchoStats,
    /// Echoes that came back wrong, in any phase.
    corrupt: u64,
}

/// An echo client of 1-64 byte messages, each checked byte for byte, until `phase` says
/// `STOP`. A round trip is timed in the phase it started and ended in (one that straddles
/// a change of phase is checked but not timed); `counts` counts them per phase.
async fn phased_client(
    addr: SocketAddr,
    seed: u64,
    phase: Arc<AtomicU8>,
    counts: Arc<[AtomicU64; 2]>,
) -> io::Result<Phased> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut rng = Rng::new(seed);
    let (mut out, mut back) = ([0u8; 64], [0u8; 64]);
    let mut p = Phased::default();
    loop {
        let ph = phase.load(Ordering::SeqCst);
        if ph == STOP {
            return Ok(p);
        }
        let n = rng.size(64);
        rng.fill(&mut out[..n]);
        let t = Instant::now();
        stream.write_all(&out[..n]).await?;
        stream.read_exact(&mut back[..n]).await?;
        let elapsed = t.elapsed();
        let right = back[..n] == out[..n];
        p.corrupt += u64::from(!right);
        if phase.load(Ordering::SeqCst) != ph {
            continue;
        }
        let s = if ph == QUIET {
            &mut p.quiet
        } else {
            &mut p.storm
        };
        s.latency.record(elapsed);
        s.round_trips += 1;
        if right {
            s.bytes_verified += n as u64;
        } else {
            s.corrupt += 1;
        }
        counts[usize::from(ph)].fetch_add(1, Ordering::Relaxed);
    }
}

fn case_timers(driver: DriverType, o: &Opts, v: &mut Verdict) -> io::Result<()> {
    const QUIET_ECHOES: u64 = 100_000;
    let before = open_fds();
    let deadline = o.deadline();
    let past = |d: Option<Instant>| d.is_some_and(|d| Instant::now() >= d);
    let errors = Arc::new(AtomicU64::new(0));
    let (mut server, addrs) = echo_server(driver, o.workers, &[1], &errors)?;
    let mut clients = runtime(driver, 1)?;
    // The same 8 connections echo throughout: quiet, then during the storms.
    let phase = Arc::new(AtomicU8::new(QUIET));
    let counts = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    let echoes: Vec<JoinHandle<io::Result<Phased>>> = (0..8)
        .map(|i| {
            clients.spawn(phased_client(
                addrs[0],
                500 + i,
                phase.clone(),
                counts.clone(),
            ))
        })
        .collect();
    let echoing =
        |echoes: &[JoinHandle<io::Result<Phased>>]| !echoes.iter().any(|h| h.is_finished());
    while counts[0].load(Ordering::Relaxed) < QUIET_ECHOES && !past(deadline) && echoing(&echoes) {
        std::thread::sleep(Duration::from_millis(5));
    }
    // The storms: each worker creates and cancels its share; repeated until enough echoes
    // ran during them to judge a p99.
    phase.store(STORM, Ordering::SeqCst);
    let workers = o.workers as u64;
    let per = (o.timers / workers).max(1);
    let start = Instant::now();
    let (mut made, mut fired, mut rounds, mut peak) = (0u64, 0u64, 0u32, 0u64);
    let mut timed_out = false;
    loop {
        let storms = server.block_on(async {
            (0..workers)
                .map(|w| {
                    spawn_on(
                        w as usize,
                        load::timer_storm(per, 10_000, u64::from(rounds) * 64 + w),
                    )
                })
                .collect::<io::Result<Vec<_>>>()
        })??;
        while !storms.iter().all(|h| h.is_finished()) {
            if past(deadline) {
                storms.iter().for_each(|h| h.abort());
                timed_out = true;
                break;
            }
            let live: u64 = server.metrics().workers().iter().map(|w| w.timers).sum();
            peak = peak.max(live);
            std::thread::sleep(Duration::from_millis(1));
        }
        fired += server.block_on(async {
            let mut f = 0;
            for h in storms {
                f += h.await.unwrap_or(0);
            }
            f
        })?;
        if timed_out {
            break;
        }
        made += per * workers;
        rounds += 1;
        if counts[1].load(Ordering::Relaxed) >= STORM_MIN_ECHOES
            || !echoing(&echoes)
            || rounds >= 1000
        {
            break;
        }
    }
    let storm_time = start.elapsed();
    phase.store(STOP, Ordering::SeqCst);
    let mut failed = Vec::new();
    let mut total = Phased::default();
    clients.block_on(async {
        for h in echoes {
            match h.await {
                Ok(Ok(p)) => {
                    total.quiet.merge(&p.quiet);
                    total.storm.merge(&p.storm);
                    total.corrupt += p.corrupt;
                }
                Ok(Err(e)) => failed.push(e.to_string()),
                Err(e) => failed.push(e.to_string()),
            }
        }
    })?;
    let left: Vec<u64> = server
        .metrics()
        .workers()
        .iter()
        .map(|w| w.timers)
        .collect();
    drop(clients);
    drop(server);
    println!(
        "  {made} timers created and cancelled in {rounds} storm(s) of {} in {:.2} s ({:.0}/s; \
         {fired} fired first; at most {peak} registered at once), beside {} echoes",
        per * workers,
        storm_time.as_secs_f64(),
        made as f64 / storm_time.as_secs_f64(),
        total.storm.round_trips
    );
    let (quiet, storm) = (&total.quiet.latency, &total.storm.latency);
    println!("  quiet: {}", quiet.summary());
    println!("  storm: {}", storm.summary());
    let (q, s) = (quiet.quantile(0.99), storm.quantile(0.99));
    let limit = (2 * q).max(q + STORM_FLOOR);
    for f in &failed {
        eprintln!("  timers: echo client: {f}");
    }
    v.check(
        failed.is_empty() && total.corrupt == 0 && errors.load(Ordering::Relaxed) == 0,
        format!(
            "timers: {} failed echo clients, {} corrupt echoes, {} server errors",
            failed.len(),
            total.corrupt,
            errors.load(Ordering::Relaxed)
        ),
    );
    v.check(
        !timed_out,
        format!(
            "timers: the storms {} within --duration",
            if timed_out {
                "did not finish"
            } else {
                "finished"
            }
        ),
    );
    v.check(
        quiet.count() > 0 && storm.count() >= STORM_MIN_ECHOES,
        format!(
            "timers: {} quiet echoes, {} during the storms (at least {STORM_MIN_ECHOES} needed \
             to judge)",
            quiet.count(),
            storm.count()
        ),
    );
    v.check(
        s <= limit,
        format!(
            "timers: echo p99 {s:?} during the storm, {q:?} quiet ({:.2}x); limit \
             max(2 x quiet, quiet + {STORM_FLOOR:?}) = {limit:?}",
            s.as_secs_f64() / q.as_secs_f64().max(1e-9)
        ),
    );
    v.check(
        left.iter().all(|&t| t == 0),
        format!("timers: wheels empty afterwards: {left:?}"),
    );
    v.fds("timers", before);
    Ok(())
}

/// Accepts `want` connections, each served by a task that echoes through a 64-byte buffer
/// until end of stream: an idle connection costs its task, its stream and a pending read.
async fn serve_idle(
    listener: TcpListener,
    want: u64,
    accepted: Arc<AtomicU64>,
    closed: Arc<AtomicU64>,
    errors: Arc<AtomicU64>,
) -> io::Result<()> {
    for _ in 0..want {
        let (mut stream, _) = listener.accept().await?;
        accepted.fetch_add(1, Ordering::SeqCst);
        let (closed, errors) = (closed.clone(), errors.clone());
        spawn(async move {
            let mut buf = [0u8; 64];
            let r: io::Result<()> = async {
                loop {
                    let n = stream.read(&mut buf).await?;
                    if n == 0 {
                        return Ok(());
                    }
                    stream.write_all(&buf[..n]).await?;
                }
            }
            .await;
            if r.is_err() {
                errors.fetch_add(1, Ordering::SeqCst);
            }
            closed.fetch_add(1, Ordering::SeqCst);
        });
    }
    Ok(())
}

/// Waits (bounded by `limit`) until `counter` reaches `want`; false if it did not.
fn wait_count(counter: &AtomicU64, want: u64, limit: Duration) -> bool {
    let start = Instant::now();
    while counter.load(Ordering::SeqCst) < want {
        if start.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}

/// The client side of the idle case, in a child process (`soak --idle-client ADDR M`):
/// connects `M` blocking sockets and says `connected`; on `echo` from the parent, one echo
/// on every connection, each message naming its connection, and says `echoed WRONG`; then
/// closes them all and exits when its standard input ends.
fn idle_client(addr: &str, m: u64) -> io::Result<()> {
    use std::io::{BufRead, Read, Write};
    raise_nofile(m + 256);
    let mut conns = Vec::with_capacity(m as usize);
    for i in 0..m {
        let c = std::net::TcpStream::connect(addr)
            .map_err(|e| io::Error::new(e.kind(), format!("idle connect {i} of {m}: {e}")))?;
        // The watchdog of the echo below: a lost connection is an error, not a hang.
        c.set_read_timeout(Some(Duration::from_secs(30)))?;
        conns.push(c);
    }
    let mut out = io::stdout().lock();
    writeln!(out, "connected")?;
    out.flush()?;
    let mut lines = io::stdin().lock().lines();
    match lines.next() {
        Some(Ok(l)) if l == "echo" => {}
        _ => {
            return Err(io::Error::other(
                "idle client: no echo order from the parent",
            ))
        }
    }
    let mut wrong = 0u64;
    for (i, c) in conns.iter_mut().enumerate() {
        let msg = (i as u64 ^ 0x5a5a_0000_0000).to_le_bytes();
        let mut back = [0u8; 8];
        c.write_all(&msg)
            .and_then(|()| c.read_exact(&mut back))
            .map_err(|e| io::Error::new(e.kind(), format!("idle echo on connection {i}: {e}")))?;
        wrong += u64::from(back != msg);
    }
    writeln!(out, "echoed {wrong}")?;
    out.flush()?;
    for _ in lines {}
    drop(conns);
    Ok(())
}

fn case_idle(driver: DriverType, o: &Opts, v: &mut Verdict) -> io::Result<()> {
    use std::io::{BufRead, Write};
    use std::process::{Command, Stdio};
    let m = o.idle_conns;
    let before = open_fds();
    let (soft, hard) = nofile();
    if (before as u64) + m + 64 > soft {
        return Err(io::Error::other(format!(
            "--idle-conns {m}: the server ends need {m} descriptors beside the {before} open, \
             RLIMIT_NOFILE is {soft} (hard {hard})"
        )));
    }
    let (accepted, closed, errors) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let mut server = runtime(driver, o.workers)?;
    let (addr, acceptor) = {
        let (a, c, e) = (accepted.clone(), closed.clone(), errors.clone());
        server.block_on(async move {
            let l = TcpListener::bind("127.0.0.6:0").await?;
            let addr = l.local_addr()?;
            Ok::<_, io::Error>((addr, spawn(serve_idle(l, m, a, c, e))))
        })??
    };
    let rss0 = rss_kib();
    // The clients are plain blocking sockets in a child process (this program again, with
    // --idle-client): the server process holds only the server ends, and its RSS growth is
    // the server side's.
    let start = Instant::now();
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--idle-client", &addr.to_string(), &m.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut to_child = child.stdin.take().expect("piped");
    let mut from_child = io::BufReader::new(child.stdout.take().expect("piped")).lines();
    let mut said = |what: &str| -> io::Result<String> {
        match from_child.next() {
            Some(line) => line,
            None => Err(io::Error::other(format!(
                "idle client exited before it {what} (its error is above)"
            ))),
        }
    };
    let connected = said("connected")?;
    let all_in = connected == "connected" && wait_count(&accepted, m, Duration::from_secs(60));
    let connect_time = start.elapsed();
    let rss1 = rss_kib();
    std::thread::sleep(o.idle_secs); // the case: M connections idle for S seconds
    let rss2 = rss_kib();
    let ended_idle = closed.load(Ordering::SeqCst);
    // One echo on every connection, each message naming its connection.
    let start = Instant::now();
    writeln!(to_child, "echo")?;
    let echoed = said("echoed")?;
    let wrong: u64 = echoed
        .strip_prefix("echoed ")
        .and_then(|w| w.parse().ok())
        .ok_or_else(|| io::Error::other(format!("idle client said {echoed:?}")))?;
    let echo_time = start.elapsed();
    let rss3 = rss_kib();
    drop(from_child);
    drop(to_child); // the child closes its connections and exits
    let status = child.wait()?;
    let all_closed = wait_count(&closed, m, Duration::from_secs(60));
    v.check(
        status.success(),
        format!("idle: the client process {status}"),
    );
    let acc = server.block_on(acceptor)?;
    drop(server);
    let grown = rss1.saturating_sub(rss0).max(rss2.saturating_sub(rss0));
    println!(
        "  {m} connections made in {:.2} s, held idle {:?}, then one echo on each in {:.2} s",
        connect_time.as_secs_f64(),
        o.idle_secs,
        echo_time.as_secs_f64()
    );
    println!(
        "  RSS {rss0} KiB before, {rss1} KiB with {m} idle connections, {rss2} KiB after the \
         hold, {rss3} KiB after the echoes: {:.0} bytes per idle connection (server side)",
        grown as f64 * 1024.0 / m as f64
    );
    v.check(
        all_in && ended_idle == 0 && all_closed && wrong == 0,
        format!(
            "idle: {} of {m} accepted, {ended_idle} ended while idle, {wrong} wrong echoes, \
             {} of {m} ended after the clients closed",
            accepted.load(Ordering::SeqCst),
            closed.load(Ordering::SeqCst)
        ),
    );
    v.check(
        matches!(acc, Ok(Ok(()))) && errors.load(Ordering::SeqCst) == 0,
        format!(
            "idle: acceptor {}, {} connection errors",
            match &acc {
                Ok(Ok(())) => "ok".to_string(),
                Ok(Err(e)) => e.to_string(),
                Err(e) => e.to_string(),
            },
            errors.load(Ordering::SeqCst)
        ),
    );
    v.fds("idle", before);
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, addr, m] = &args[..] {
        if flag == "--idle-client" {
            let m = m.parse().unwrap_or_else(|_| usage());
            if let Err(e) = idle_client(addr, m) {
                eprintln!("soak: idle client: {e}");
                std::process::exit(1);
            }
            return;
        }
    }
    let o = parse();
    // 1,000 slow clients and their server ends, plus the rest; or the server end of every
    // idle connection (their clients are in a child process).
    raise_nofile((4 * o.slow + 4 * o.conns).max(o.idle_conns) + 1024);
    println!(
        "soak: cases {:?}, server workers {}, {} cores, kernel {}",
        o.cases,
        o.workers,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
    );
    let mut v = Verdict {
        failures: Vec::new(),
    };
    for &driver in &o.drivers {
        for case in &o.cases {
            println!("{driver} / {case}:");
            let t = Instant::now();
            let r = match case.as_str() {
                "soak" => case_soak(driver, &o, &mut v),
                "churn" => case_churn(driver, &o, &mut v),
                "slow" => case_slow(driver, &o, &mut v),
                "timers" => case_timers(driver, &o, &mut v),
                _ => case_idle(driver, &o, &mut v),
            };
            if let Err(e) = r {
                v.check(false, format!("{driver} / {case}: {e}"));
            }
            if let (Some(d), "slow" | "idle") = (o.duration, case.as_str()) {
                let took = t.elapsed();
                v.check(
                    took <= d,
                    format!("{case}: took {took:.1?}, limit --duration {d:?}"),
                );
            }
            println!(
                "  ({driver} / {case} took {:.1} s)",
                t.elapsed().as_secs_f64()
            );
        }
    }
    if v.failures.is_empty() {
        println!("soak: all passed");
    } else {
        println!("soak: {} failed:", v.failures.len());
        for f in &v.failures {
            println!("  {f}");
        }
        std::process::exit(1);
    }
}

/// Raises the soft `RLIMIT_NOFILE` towards `want` (within the hard limit).
fn raise_nofile(want: u64) {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `r` is a live, writable rlimit for the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } != 0 || r.rlim_cur >= want {
        return;
    }
    r.rlim_cur = want.min(r.rlim_max);
    // SAFETY: `r` is a live rlimit for the call; the kernel only reads it.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) } != 0 {
        eprintln!("soak: could not raise RLIMIT_NOFILE to {want}");
    }
}

/// The soft and hard `RLIMIT_NOFILE` (0, 0 if unknown).
fn nofile() -> (u64, u64) {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `r` is a live, writable rlimit for the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } != 0 {
        return (0, 0);
    }
    (r.rlim_cur, r.rlim_max)
}
