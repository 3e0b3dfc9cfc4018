//! The long reliability runs of the reliability issue, with their figures. Four cases, each
//! on a server runtime and a separate client runtime in this process, per driver:
//!
//! - `soak`: `--conns` connections echo messages of random sizes (1 byte to `--max-size`,
//!   each power-of-two bucket equally likely), every echo compared byte for byte, until
//!   `--round-trips` are done or `--duration` seconds passed. Prints round trips, bytes
//!   verified, latency, and RSS (`VmRSS`) after warm-up (the first `--warmup` round trips)
//!   and at the end. Fails on any corrupt or lost byte, any connection error, RSS growth
//!   of 5% or more after warm-up, or a descriptor leak.
//! - `churn`: `--churn` connect/send/read/close cycles over 127.0.0.2-5. Prints the rate
//!   and RSS after the first tenth and at the end; fails on any error, wrong echo,
//!   descriptor leak or RSS growth of 5% or more.
//! - `slow`: a blocking client's echo p99, alone and beside `--slow` connections sending
//!   one byte a second for `--slow-secs` (both printed; the issue's bound is 10 ms).
//! - `timers`: echo latency quiet, then while `--timers` timers are created and cancelled
//!   on the server's workers (the issue's aim: within 2x). Fails if a wheel is not empty
//!   afterwards.
//!
//! Timing figures are printed, never judged: only correctness and memory fail the run.
//!
//! ```text
//! cargo run --release --example soak -- [--driver all|uring|epoll] [--case all|soak|churn|slow|timers]
//!     [--conns 200] [--round-trips 10000000] [--duration SECS] [--warmup N] [--workers 1]
//!     [--max-size 65536] [--churn 100000] [--slow 1000] [--slow-secs 10] [--timers 1000000]
//! ```
//!
//! Exit status: 0 if every case passed, 1 if one failed, 2 for a bad flag.

#[path = "../tests/common/fds.rs"]
mod fds;
#[path = "../tests/reliability/load.rs"]
mod load;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hiver_runtime::io::TcpListener;
use hiver_runtime::{spawn, spawn_on, DriverType, Runtime};

use fds::open_fds;
use load::{
    churn, echo_client, rss_kib, serve_echo, slow_client, std_pinger, timer_storm, Budget,
    EchoStats, Histogram,
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
}

const CASES: [&str; 4] = ["soak", "churn", "slow", "timers"];

fn usage() -> ! {
    eprintln!(
        "usage: soak [--driver all|uring|epoll] [--case all|soak|churn|slow|timers] [--conns N] \
         [--round-trips N] [--duration SECS] [--warmup N] [--workers N] [--max-size BYTES] \
         [--churn N] [--slow N] [--slow-secs N] [--timers N]"
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
            _ => usage(),
        }
    }
    if o.conns == 0 || o.workers == 0 || o.max_size == 0 || o.slow_secs < 3 {
        usage()
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
    let deadline = o.duration.map(|d| Instant::now() + d);
    let budget = Budget::new(o.round_trips, deadline);
    let warmup = o.warmup.unwrap_or((o.round_trips / 20).min(500_000));
    let start = Instant::now();
    let handles: Vec<_> = (0..o.conns)
        .map(|i| clients.spawn(echo_client(addrs[0], i, o.max_size, budget.clone())))
        .collect();
    // Progress every 10 s; the RSS sample once the warm-up is done.
    let mut rss_warm = None;
    let mut last = Instant::now();
    while !handles.iter().all(|h| h.is_finished()) {
        std::thread::sleep(Duration::from_millis(50));
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
    match rss_warm {
        Some((warm, at)) => {
            println!("  warm-up: first {at} round trips");
            v.rss("soak", warm, rss_end);
        }
        None => println!("  RSS {rss_end} KiB at the end (the run ended before the warm-up)"),
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
    let start = Instant::now();
    let warm = o.churn / 10;
    let mut rss = Vec::new();
    let mut wrong = 0;
    let mut failures = Vec::new();
    for (round, n) in [(0, warm), (1, o.churn - warm)] {
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
    }
    let secs = start.elapsed().as_secs_f64();
    drop(clients);
    drop(server);
    println!(
        "  {} connect/send/read/close cycles in {secs:.1} s ({:.0}/s)",
        o.churn,
        o.churn as f64 / secs
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
    v.rss("churn", rss[0], rss[1]);
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
    println!(
        "  p99 {q:?} alone, {l:?} beside the slow clients: {} the issue's 10 ms bound",
        if l < Duration::from_millis(10) {
            "within"
        } else {
            "OVER"
        }
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

/// Echo latency of 8 connections of 1-64 byte messages, until `stop` says so (or `n`).
fn small_echoes(
    clients: &mut Runtime,
    addr: SocketAddr,
    n: u64,
    until: impl Fn() -> bool + Send + Sync + 'static,
) -> io::Result<EchoStats> {
    let budget = Budget::new(n, None);
    let handles: Vec<_> = (0..8)
        .map(|i| clients.spawn(echo_client(addr, 500 + i, 64, budget.clone())))
        .collect();
    while !handles.iter().all(|h| h.is_finished()) {
        std::thread::sleep(Duration::from_millis(5));
        if until() {
            budget.stop();
        }
    }
    clients.block_on(async {
        let mut total = EchoStats::default();
        for h in handles {
            total.merge(&h.await.map_err(|e| io::Error::other(e.to_string()))??);
        }
        Ok(total)
    })?
}

fn case_timers(driver: DriverType, o: &Opts, v: &mut Verdict) -> io::Result<()> {
    let before = open_fds();
    let errors = Arc::new(AtomicU64::new(0));
    let (mut server, addrs) = echo_server(driver, o.workers, &[1], &errors)?;
    let mut clients = runtime(driver, 1)?;
    let quiet = small_echoes(&mut clients, addrs[0], 100_000, || false)?;
    let workers = o.workers as u64;
    let start = Instant::now();
    let storms = server.block_on(async {
        (0..workers)
            .map(|w| spawn_on(w as usize, timer_storm(o.timers / workers, 10_000, w)))
            .collect::<io::Result<Vec<_>>>()
    })??;
    let done = Arc::new(AtomicU64::new(0));
    let watch: Vec<_> = storms
        .into_iter()
        .map(|h| {
            let done = done.clone();
            server.spawn(async move {
                let fired = h.await.unwrap_or(0);
                done.fetch_add(1, Ordering::SeqCst);
                fired
            })
        })
        .collect();
    let d = done.clone();
    let storm = small_echoes(&mut clients, addrs[0], u64::MAX, move || {
        d.load(Ordering::SeqCst) == workers
    })?;
    let storm_time = start.elapsed();
    let fired: u64 = server.block_on(async {
        let mut f = 0;
        for h in watch {
            f += h.await.unwrap_or(0);
        }
        f
    })?;
    let left: Vec<u64> = server
        .metrics()
        .workers()
        .iter()
        .map(|w| w.timers)
        .collect();
    drop(clients);
    drop(server);
    let made = o.timers / workers * workers;
    println!(
        "  {made} timers created and cancelled in {:.2} s ({:.0}/s; {fired} fired first), \
         beside {} echoes",
        storm_time.as_secs_f64(),
        made as f64 / storm_time.as_secs_f64(),
        storm.round_trips
    );
    println!("  quiet: {}", quiet.latency.summary());
    println!("  storm: {}", storm.latency.summary());
    let (q, s) = (quiet.latency.quantile(0.99), storm.latency.quantile(0.99));
    println!(
        "  p99 {q:?} quiet, {s:?} during the storm: {:.2}x (the issue's aim: within 2x)",
        s.as_secs_f64() / q.as_secs_f64().max(1e-9)
    );
    v.check(
        quiet.corrupt + storm.corrupt == 0 && errors.load(Ordering::Relaxed) == 0,
        format!(
            "timers: {} corrupt echoes, {} server errors",
            quiet.corrupt + storm.corrupt,
            errors.load(Ordering::Relaxed)
        ),
    );
    v.check(
        left.iter().all(|&t| t == 0),
        format!("timers: wheels empty afterwards: {left:?}"),
    );
    v.fds("timers", before);
    Ok(())
}

fn main() {
    let o = parse();
    // 1,000 slow clients and their server ends, plus the rest.
    raise_nofile(4 * o.slow + 4 * o.conns + 1024);
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
                _ => case_timers(driver, &o, &mut v),
            };
            if let Err(e) = r {
                v.check(false, format!("{driver} / {case}: {e}"));
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
