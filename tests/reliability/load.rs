//! The load the reliability tests and the soak program (`examples/soak.rs`, which includes
//! this file) share: a seeded generator, an echo server, checked echo clients, churn,
//! slow clients, timer storms, a latency histogram, and the process's RSS and fd count.

#![allow(dead_code)] // the test binary and the soak program each use part of it

use std::future::{poll_fn, Future as _};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::{sleep, spawn, yield_now, Sleep};

#[path = "../common/rng.rs"]
mod rng;
pub(crate) use rng::Rng;

/// This process's resident set (`VmRSS` of /proc/self/status), in KiB.
pub(crate) fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Latencies in a fixed-size log-linear histogram (about 1.6% resolution from 1 µs to
/// an hour): memory does not grow with the number of samples.
#[derive(Clone)]
pub(crate) struct Histogram {
    counts: Vec<u64>,
    n: u64,
    max_us: u64,
}

const LINEAR: u64 = 64;
const SUB: u64 = 64;

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; (LINEAR + 40 * SUB) as usize],
            n: 0,
            max_us: 0,
        }
    }
}

impl Histogram {
    fn bucket(us: u64) -> usize {
        if us < LINEAR {
            return us as usize;
        }
        let log = 63 - u64::from(us.leading_zeros()); // >= 6
        let sub = (us >> (log - 6)) & (SUB - 1);
        (LINEAR + (log - 6) * SUB + sub) as usize
    }

    fn lower_bound(b: usize) -> u64 {
        let b = b as u64;
        if b < LINEAR {
            return b;
        }
        let log = (b - LINEAR) / SUB + 6;
        let sub = (b - LINEAR) % SUB;
        (1 << log) | (sub << (log - 6))
    }

    pub(crate) fn record(&mut self, d: Duration) {
        let us = d.as_micros().min(u128::from(u32::MAX)) as u64;
        let b = Self::bucket(us).min(self.counts.len() - 1);
        self.counts[b] += 1;
        self.n += 1;
        self.max_us = self.max_us.max(us);
    }

    pub(crate) fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.n += other.n;
        self.max_us = self.max_us.max(other.max_us);
    }

    pub(crate) fn count(&self) -> u64 {
        self.n
    }

    /// The `q` quantile (0..=1), rounded down to its bucket.
    pub(crate) fn quantile(&self, q: f64) -> Duration {
        if self.n == 0 {
            return Duration::ZERO;
        }
        let rank = ((self.n as f64 * q).ceil() as u64).clamp(1, self.n);
        let mut seen = 0;
        for (b, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Duration::from_micros(Self::lower_bound(b));
            }
        }
        Duration::from_micros(self.max_us)
    }

    pub(crate) fn max(&self) -> Duration {
        Duration::from_micros(self.max_us)
    }

    /// "p50 .. p99 .. p99.9 .. max" for a report line.
    pub(crate) fn summary(&self) -> String {
        format!(
            "n={} p50={:?} p99={:?} p99.9={:?} max={:?}",
            self.n,
            self.quantile(0.50),
            self.quantile(0.99),
            self.quantile(0.999),
            self.max()
        )
    }
}

/// Echoes one connection until end of stream; returns the bytes echoed. The stream gets
/// `TCP_NODELAY`, as latency-minded servers set: without it, an echo written in several
/// pieces (io_uring receives at most one 8 KiB provided buffer at a time) meets Nagle's
/// algorithm and the peer's delayed ACK, 40 ms stalls that measure the kernel, not us.
pub(crate) async fn echo_conn(mut stream: TcpStream) -> io::Result<u64> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(total);
        }
        stream.write_all(&buf[..n]).await?;
        total += n as u64;
    }
}

/// Accepts forever, one echo task per connection. Connection errors end only their
/// connection (counted in `errors`); an accept error ends the server.
pub(crate) async fn serve_echo(listener: TcpListener, errors: Arc<AtomicU64>) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let errors = errors.clone();
        spawn(async move {
            if echo_conn(stream).await.is_err() {
                errors.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
}

/// What echo clients saw.
#[derive(Clone, Default)]
pub(crate) struct EchoStats {
    pub(crate) round_trips: u64,
    /// Bytes sent and received back identical.
    pub(crate) bytes_verified: u64,
    /// Round trips whose echo differed from what was sent.
    pub(crate) corrupt: u64,
    pub(crate) latency: Histogram,
}

impl EchoStats {
    pub(crate) fn merge(&mut self, o: &EchoStats) {
        self.round_trips += o.round_trips;
        self.bytes_verified += o.bytes_verified;
        self.corrupt += o.corrupt;
        self.latency.merge(&o.latency);
    }
}

/// Shared limits of a group of echo clients: round trips left to claim, and a deadline.
pub(crate) struct Budget {
    left: AtomicU64,
    deadline: Option<Instant>,
    pub(crate) done: AtomicU64,
}

impl Budget {
    pub(crate) fn new(round_trips: u64, deadline: Option<Instant>) -> Arc<Budget> {
        Arc::new(Budget {
            left: AtomicU64::new(round_trips),
            deadline,
            done: AtomicU64::new(0),
        })
    }

    /// Ends the run: no more round trips are claimed.
    pub(crate) fn stop(&self) {
        self.left.store(0, Ordering::Relaxed);
    }

    /// Claims one round trip; `false` when the budget or the time is spent.
    fn claim(&self) -> bool {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return false;
        }
        self.left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// One client connection: round trips of random sizes (1 byte to `max_size`) until the
/// budget is spent, each echo compared byte for byte with what was sent.
pub(crate) async fn echo_client(
    addr: SocketAddr,
    seed: u64,
    max_size: usize,
    budget: Arc<Budget>,
) -> io::Result<EchoStats> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut rng = Rng::new(seed);
    let mut out = vec![0u8; max_size];
    let mut back = vec![0u8; max_size];
    let mut stats = EchoStats::default();
    while budget.claim() {
        let n = rng.size(max_size);
        rng.fill(&mut out[..n]);
        let t = Instant::now();
        stream.write_all(&out[..n]).await?;
        stream.read_exact(&mut back[..n]).await?;
        stats.latency.record(t.elapsed());
        stats.round_trips += 1;
        if back[..n] == out[..n] {
            stats.bytes_verified += n as u64;
        } else {
            stats.corrupt += 1;
        }
        budget.done.fetch_add(1, Ordering::Relaxed);
    }
    Ok(stats)
}

/// Connect, send `msg`, read it back, close: `cycles` times, spreading the connections
/// over `addrs` (each destination address has its own 28k ephemeral ports). Returns the
/// cycles whose echo came back wrong.
pub(crate) async fn churn(addrs: Vec<SocketAddr>, cycles: u64, seed: u64) -> io::Result<u64> {
    let mut rng = Rng::new(seed);
    let mut wrong = 0;
    for i in 0..cycles {
        let addr = addrs[(i % addrs.len() as u64) as usize];
        let mut s = TcpStream::connect(addr)
            .await
            .map_err(|e| io::Error::new(e.kind(), format!("churn connect {i} to {addr}: {e}")))?;
        let mut msg = [0u8; 32];
        rng.fill(&mut msg);
        s.write_all(&msg).await?;
        let mut back = [0u8; 32];
        s.read_exact(&mut back).await?;
        wrong += u64::from(back != msg);
    }
    Ok(wrong)
}

/// A slow client: connects (then counts itself in `connected`), waits `offset`, then
/// sends one byte every `period` and reads its echo, `bytes` times.
pub(crate) async fn slow_client(
    addr: SocketAddr,
    connected: Arc<AtomicU64>,
    offset: Duration,
    period: Duration,
    bytes: u32,
) -> io::Result<()> {
    let mut s = TcpStream::connect(addr).await?;
    connected.fetch_add(1, Ordering::Relaxed);
    sleep(offset).await;
    for i in 0..bytes {
        let b = [i as u8];
        s.write_all(&b).await?;
        let mut back = [0u8];
        s.read_exact(&mut back).await?;
        if back != b {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "slow echo wrong",
            ));
        }
        sleep(period).await;
    }
    Ok(())
}

/// A blocking std client (run it on its own thread): round trips of `size` bytes, timed,
/// until it has made at least `min_n` and run for at least `min_time` (or made `max_n`).
pub(crate) fn std_pinger(
    addr: SocketAddr,
    min_n: u64,
    min_time: Duration,
    max_n: u64,
    size: usize,
) -> io::Result<Histogram> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    // The watchdog of a blocking client: a lost echo is an error, not a hang.
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut h = Histogram::default();
    let out = vec![0x5au8; size];
    let mut back = vec![0u8; size];
    let start = Instant::now();
    while h.count() < max_n && (h.count() < min_n || start.elapsed() < min_time) {
        let t = Instant::now();
        s.write_all(&out)?;
        s.read_exact(&mut back)?;
        h.record(t.elapsed());
        if back != out {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "ping echo wrong",
            ));
        }
    }
    Ok(h)
}

/// Creates `count` timers (random deadlines from 1 ms to 60 s), registers each with the
/// wheel (one poll) and drops it, keeping at most `live` alive at once; yields to the
/// worker's other tasks after every batch of 256, and drops the last `live` in batches too
/// (as a server's per-request timers go, not 10,000 in one poll). Returns how many fired
/// before they were dropped.
pub(crate) async fn timer_storm(count: u64, live: usize, seed: u64) -> u64 {
    let mut rng = Rng::new(seed);
    let mut window: std::collections::VecDeque<Sleep> = std::collections::VecDeque::new();
    let mut fired = 0;
    let mut made = 0;
    while made < count {
        let batch = (count - made).min(256);
        poll_fn(|cx| {
            for _ in 0..batch {
                let d = Duration::from_millis(1 + rng.below(60_000));
                let mut s = sleep(d);
                if std::pin::Pin::new(&mut s).poll(cx).is_ready() {
                    fired += 1;
                } else {
                    window.push_back(s);
                }
                if window.len() > live {
                    window.pop_front();
                }
            }
            Poll::Ready(())
        })
        .await;
        made += batch;
        yield_now().await;
    }
    while !window.is_empty() {
        let n = window.len().min(256);
        window.drain(..n);
        yield_now().await;
    }
    fired
}
