//! The runtime-neutral load generator of `perf/run`: std threads, non-blocking std sockets
//! and one raw epoll instance per thread (rustix), no async runtime. Linux only.
//!
//! ```text
//! loadgen --mode echo|http [--addr HOST:PORT] [--connections C] [--size BYTES]
//!         [--pipeline N] [--duration SECS] [--warmup SECS] [--threads T] [--server-pid PID]
//! ```
//!
//! Each connection runs a closed loop: send a request, wait for the whole response, check
//! it, send the next one.
//!
//! - `echo`: a `--size`-byte message (its bytes change every round), echoed back and
//!   compared byte for byte.
//! - `http`: `--pipeline` (default 1) copies of `GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n`
//!   in one write; each response is read by its `Content-Length` and must be `200` with the
//!   body `Hello, World!`. Every response counts as one request; its latency runs from the
//!   write of its batch.
//!
//! The first `--warmup` seconds are not counted. Latencies of the responses completed in
//! the `--duration` seconds after it go into an HDR histogram (nanoseconds, 3 significant
//! digits). With `--server-pid`, the server's CPU time (utime and stime of
//! `/proc/PID/stat`) is sampled at the start and the end of the counted window.
//!
//! Output, one line on stdout (a connection that fails is closed and counted in `errors`;
//! the others go on):
//!
//! ```text
//! RESULT mode=echo connections=50 size=64 pipeline=1 threads=1 duration_s=5.000 requests=N
//!   rps=R p50_us=.. p99_us=.. p999_us=.. max_us=.. mean_us=.. errors=0 client_cpu_s=..
//!   server_cpu_s=.. server_user_s=.. server_sys_s=..
//! ```
//!
//! (one line; the `server_*` fields are `na` without `--server-pid`). Bad flags print the
//! usage and exit 2; a server that cannot be reached exits 1.

#[cfg(target_os = "linux")]
fn main() {
    linux::main()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("loadgen: Linux only (epoll)");
    std::process::exit(2)
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io::{self, Read, Write};
    use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
    use std::os::fd::AsFd;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use hdrhistogram::Histogram;
    use rustix::buffer::spare_capacity;
    use rustix::event::{epoll, Timespec};

    const USAGE: &str = "usage: loadgen --mode echo|http [--addr HOST:PORT] [--connections C] \
        [--size BYTES] [--pipeline N] [--duration SECS] [--warmup SECS] [--threads T] \
        [--server-pid PID]";

    const HTTP_REQUEST: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n";
    const HTTP_BODY: &[u8] = b"Hello, World!";
    /// Largest response head or body accepted (anything bigger is an error).
    const MAX_RESPONSE: usize = 64 * 1024;

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Mode {
        Echo,
        Http,
    }

    #[derive(Clone)]
    struct Config {
        mode: Mode,
        addr: SocketAddr,
        connections: usize,
        size: usize,
        pipeline: usize,
        duration: Duration,
        warmup: Duration,
        threads: usize,
        server_pid: Option<u32>,
    }

    fn usage() -> ! {
        eprintln!("{USAGE}");
        std::process::exit(2)
    }

    fn seconds(value: &str) -> Duration {
        match value.parse::<f64>() {
            Ok(s) if s.is_finite() && (0.0..=86_400.0).contains(&s) => Duration::from_secs_f64(s),
            _ => usage(),
        }
    }

    fn positive(value: &str, max: usize) -> usize {
        match value.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => usage(),
        }
    }

    fn parse_args() -> Config {
        let mut mode = None;
        let mut addr = "127.0.0.1:8080".to_string();
        let mut config = Config {
            mode: Mode::Echo,
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            connections: 50,
            size: 64,
            pipeline: 1,
            duration: Duration::from_secs(5),
            warmup: Duration::from_secs(1),
            threads: 1,
            server_pid: None,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let Some(value) = it.next() else { usage() };
            match flag.as_str() {
                "--mode" => {
                    mode = Some(match value.as_str() {
                        "echo" => Mode::Echo,
                        "http" => Mode::Http,
                        _ => usage(),
                    })
                }
                "--addr" => addr = value,
                "--connections" => config.connections = positive(&value, 100_000),
                "--size" => config.size = positive(&value, MAX_RESPONSE),
                "--pipeline" => config.pipeline = positive(&value, 1024),
                "--duration" => config.duration = seconds(&value),
                "--warmup" => config.warmup = seconds(&value),
                "--threads" => config.threads = positive(&value, 1024),
                "--server-pid" => {
                    config.server_pid = Some(positive(&value, u32::MAX as usize) as u32)
                }
                _ => usage(),
            }
        }
        let Some(mode) = mode else { usage() };
        config.mode = mode;
        if config.duration.is_zero() {
            usage()
        }
        match addr.to_socket_addrs().map(|mut a| a.next()) {
            Ok(Some(a)) => config.addr = a,
            _ => {
                eprintln!("loadgen: cannot resolve {addr}");
                std::process::exit(2)
            }
        }
        config.threads = config.threads.min(config.connections);
        config
    }

    /// What one thread measured.
    struct Report {
        histogram: Histogram<u64>,
        requests: u64,
        errors: u64,
    }

    fn new_histogram() -> Histogram<u64> {
        // 1 ns to 60 s, 3 significant digits.
        Histogram::new_with_bounds(1, 60_000_000_000, 3).unwrap_or_else(|e| {
            eprintln!("loadgen: histogram: {e}");
            std::process::exit(1)
        })
    }

    /// One connection's closed loop.
    struct Conn {
        stream: TcpStream,
        /// The bytes of the current round (echo: the message; http: the batch).
        request: Vec<u8>,
        written: usize,
        /// Registered for writability (a write did not go out whole).
        want_write: bool,
        sent_at: Instant,
        /// echo: bytes echoed so far this round; http: responses so far this round.
        received: usize,
        /// http: received bytes not yet consumed by a whole response.
        inbuf: Vec<u8>,
        round: u64,
    }

    enum Failure {
        Io(io::Error),
        Closed,
        Mismatch(String),
    }

    impl std::fmt::Display for Failure {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                Failure::Io(e) => write!(f, "{e}"),
                Failure::Closed => write!(f, "closed by the server"),
                Failure::Mismatch(what) => write!(f, "bad response: {what}"),
            }
        }
    }

    impl From<io::Error> for Failure {
        fn from(e: io::Error) -> Failure {
            Failure::Io(e)
        }
    }

    /// The echo message of a round: bytes that differ from round to round and connection
    /// to connection, so that stale or crossed data is caught.
    fn fill_message(buf: &mut [u8], conn: usize, round: u64) {
        let seed = (conn as u64)
            .wrapping_mul(31)
            .wrapping_add(round.wrapping_mul(7));
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (seed.wrapping_add(i as u64) % 251) as u8;
        }
    }

    /// The offset just past `\r\n\r\n` in `buf`.
    fn head_end(buf: &[u8]) -> Option<usize> {
        buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
    }

    /// The length of the response at the start of `buf` if it is all there, checked.
    fn http_response(buf: &[u8]) -> Result<Option<usize>, Failure> {
        let Some(head_len) = head_end(buf) else {
            return if buf.len() > MAX_RESPONSE {
                Err(Failure::Mismatch("response head too large".into()))
            } else {
                Ok(None)
            };
        };
        let head = &buf[..head_len];
        if !(head.starts_with(b"HTTP/1.1 200 ") || head.starts_with(b"HTTP/1.0 200 ")) {
            let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
            return Err(Failure::Mismatch(format!(
                "status line {:?}",
                String::from_utf8_lossy(line)
            )));
        }
        let mut content_length = None;
        for line in head.split(|&b| b == b'\n').skip(1) {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if let Some(colon) = line.iter().position(|&b| b == b':') {
                if line[..colon].eq_ignore_ascii_case(b"content-length") {
                    let value = String::from_utf8_lossy(&line[colon + 1..]);
                    content_length = value.trim().parse::<usize>().ok();
                    if content_length.is_none() {
                        return Err(Failure::Mismatch(format!("Content-Length {value:?}")));
                    }
                }
            }
        }
        let Some(body_len) = content_length else {
            return Err(Failure::Mismatch("no Content-Length".into()));
        };
        if body_len > MAX_RESPONSE {
            return Err(Failure::Mismatch(format!("Content-Length {body_len}")));
        }
        if buf.len() < head_len + body_len {
            return Ok(None);
        }
        let body = &buf[head_len..head_len + body_len];
        if body != HTTP_BODY {
            return Err(Failure::Mismatch(format!(
                "body {:?}",
                String::from_utf8_lossy(body)
            )));
        }
        Ok(Some(head_len + body_len))
    }

    struct Worker<'a> {
        config: &'a Config,
        epoll: rustix::fd::OwnedFd,
        conns: Vec<Option<Conn>>,
        /// The first index of this thread's connections among all (for the echo bytes).
        first: usize,
        scratch: Vec<u8>,
        report: Report,
        measure_from: Instant,
        measure_until: Instant,
    }

    impl Worker<'_> {
        /// Starts connection `i`'s next round.
        fn send(&mut self, i: usize, now: Instant) -> Result<(), Failure> {
            let first = self.first;
            let config = self.config;
            let Some(conn) = self.conns[i].as_mut() else {
                return Ok(());
            };
            conn.round += 1;
            if config.mode == Mode::Echo {
                fill_message(&mut conn.request, first + i, conn.round);
            }
            conn.written = 0;
            conn.received = 0;
            conn.sent_at = now;
            self.write(i)
        }

        /// Writes what is left of connection `i`'s request, registering for writability if
        /// it does not all go out.
        fn write(&mut self, i: usize) -> Result<(), Failure> {
            let Some(conn) = self.conns[i].as_mut() else {
                return Ok(());
            };
            while conn.written < conn.request.len() {
                match conn.stream.write(&conn.request[conn.written..]) {
                    Ok(0) => return Err(Failure::Closed),
                    Ok(n) => conn.written += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let want_write = conn.written < conn.request.len();
            if want_write != conn.want_write {
                conn.want_write = want_write;
                let mut flags = epoll::EventFlags::IN;
                if want_write {
                    flags |= epoll::EventFlags::OUT;
                }
                epoll::modify(
                    &self.epoll,
                    conn.stream.as_fd(),
                    epoll::EventData::new_u64(i as u64),
                    flags,
                )
                .map_err(io::Error::from)?;
            }
            Ok(())
        }

        /// Reads what connection `i` received; records and starts the next round when its
        /// response is complete.
        fn read(&mut self, i: usize) -> Result<(), Failure> {
            let mode = self.config.mode;
            let pipeline = self.config.pipeline;
            let Some(conn) = self.conns[i].as_mut() else {
                return Ok(());
            };
            let n = match conn.stream.read(&mut self.scratch) {
                Ok(0) => return Err(Failure::Closed),
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                    ) =>
                {
                    return Ok(())
                }
                Err(e) => return Err(e.into()),
            };
            let got = &self.scratch[..n];
            let mut completed = 0;
            match mode {
                Mode::Echo => {
                    let expected = conn.request.get(conn.received..conn.received + n);
                    if expected != Some(got) {
                        return Err(Failure::Mismatch(format!(
                            "echo differs in bytes {}..{} of round {}",
                            conn.received,
                            conn.received + n,
                            conn.round
                        )));
                    }
                    conn.received += n;
                    if conn.received == conn.request.len() {
                        completed = 1;
                    }
                }
                Mode::Http => {
                    conn.inbuf.extend_from_slice(got);
                    let mut consumed = 0;
                    while let Some(len) = http_response(&conn.inbuf[consumed..])? {
                        consumed += len;
                        conn.received += 1;
                        completed += 1;
                        if conn.received > pipeline {
                            return Err(Failure::Mismatch("more responses than requests".into()));
                        }
                    }
                    conn.inbuf.drain(..consumed);
                }
            }
            if completed == 0 {
                return Ok(());
            }
            let now = Instant::now();
            if now >= self.measure_from && now < self.measure_until {
                let latency = now.duration_since(conn.sent_at).as_nanos();
                let latency = u64::try_from(latency).unwrap_or(u64::MAX);
                self.report
                    .histogram
                    .saturating_record_n(latency.max(1), completed as u64);
                self.report.requests += completed as u64;
            }
            let round_done = match mode {
                Mode::Echo => true,
                Mode::Http => conn.received == pipeline,
            };
            if round_done && now < self.measure_until {
                self.send(i, now)?;
            }
            Ok(())
        }

        fn fail(&mut self, i: usize, failure: &Failure) {
            if let Some(conn) = self.conns[i].take() {
                // Errors after the end are a server closing connections we stopped using.
                if Instant::now() < self.measure_until {
                    self.report.errors += 1;
                    eprintln!("loadgen: connection {}: {failure}", self.first + i);
                }
                let _ = epoll::delete(&self.epoll, conn.stream.as_fd());
            }
        }

        fn run(mut self, start: Instant) -> Report {
            self.measure_from = start + self.config.warmup;
            self.measure_until = self.measure_from + self.config.duration;
            for i in 0..self.conns.len() {
                if let Err(f) = self.send(i, start) {
                    self.fail(i, &f);
                }
            }
            let mut events: Vec<epoll::Event> = Vec::with_capacity(256);
            let timeout = Timespec {
                tv_sec: 0,
                tv_nsec: 10_000_000,
            };
            loop {
                if Instant::now() >= self.measure_until || self.conns.iter().all(Option::is_none) {
                    break;
                }
                events.clear();
                match epoll::wait(&self.epoll, spare_capacity(&mut events), Some(&timeout)) {
                    Ok(_) => {}
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(e) => {
                        eprintln!("loadgen: epoll_wait: {e}");
                        self.report.errors += 1;
                        break;
                    }
                }
                for event in &events {
                    // `Event` is packed: copy its fields out.
                    let (flags, data) = (event.flags, event.data);
                    let i = data.u64() as usize;
                    let mut result = Ok(());
                    if flags.contains(epoll::EventFlags::OUT) {
                        result = self.write(i);
                    }
                    if result.is_ok()
                        && flags.intersects(
                            epoll::EventFlags::IN | epoll::EventFlags::HUP | epoll::EventFlags::ERR,
                        )
                    {
                        result = self.read(i);
                    }
                    if let Err(f) = result {
                        self.fail(i, &f);
                    }
                }
            }
            self.report
        }
    }

    /// Connects `count` connections and registers them with a new epoll instance.
    fn connect(config: &Config, first: usize, count: usize) -> io::Result<Worker<'_>> {
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        let mut conns = Vec::with_capacity(count);
        for i in 0..count {
            let stream = TcpStream::connect_timeout(&config.addr, Duration::from_secs(5))
                .map_err(|e| io::Error::new(e.kind(), format!("connect {}: {e}", config.addr)))?;
            stream.set_nodelay(true)?;
            stream.set_nonblocking(true)?;
            epoll::add(
                &epoll,
                stream.as_fd(),
                epoll::EventData::new_u64(i as u64),
                epoll::EventFlags::IN,
            )?;
            let request = match config.mode {
                Mode::Echo => vec![0; config.size],
                Mode::Http => HTTP_REQUEST.repeat(config.pipeline),
            };
            conns.push(Some(Conn {
                stream,
                request,
                written: 0,
                want_write: false,
                sent_at: Instant::now(),
                received: 0,
                inbuf: Vec::new(),
                round: 0,
            }));
        }
        let now = Instant::now();
        Ok(Worker {
            config,
            epoll,
            conns,
            first,
            scratch: vec![0; 64 * 1024],
            report: Report {
                histogram: new_histogram(),
                requests: 0,
                errors: 0,
            },
            measure_from: now,
            measure_until: now,
        })
    }

    /// utime and stime of a process, in seconds.
    fn cpu_times(pid: &str) -> Option<(f64, f64)> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name (field 2) may hold spaces: count fields after its ')'.
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = rustix::param::clock_ticks_per_second() as f64;
        let utime: f64 = fields.get(11)?.parse().ok()?;
        let stime: f64 = fields.get(12)?.parse().ok()?;
        Some((utime / ticks, stime / ticks))
    }

    fn sleep_until(t: Instant) {
        let now = Instant::now();
        if t > now {
            std::thread::sleep(t - now);
        }
    }

    pub(super) fn main() {
        let config = parse_args();
        let (ready_tx, ready_rx) = mpsc::channel::<io::Result<()>>();
        let mut starts = Vec::new();
        let mut threads = Vec::new();
        let mut first = 0;
        for t in 0..config.threads {
            let count = config.connections / config.threads
                + usize::from(t < config.connections % config.threads);
            let (start_tx, start_rx) = mpsc::channel::<Instant>();
            starts.push(start_tx);
            let ready = ready_tx.clone();
            let config = config.clone();
            let thread = std::thread::Builder::new()
                .name(format!("loadgen-{t}"))
                .spawn(move || {
                    let worker = match connect(&config, first, count) {
                        Ok(w) => {
                            let _ = ready.send(Ok(()));
                            w
                        }
                        Err(e) => {
                            let _ = ready.send(Err(e));
                            return None;
                        }
                    };
                    let start = start_rx.recv().ok()?;
                    Some(worker.run(start))
                });
            match thread {
                Ok(t) => threads.push(t),
                Err(e) => {
                    eprintln!("loadgen: spawning a thread: {e}");
                    std::process::exit(1)
                }
            }
            first += count;
        }
        drop(ready_tx);
        for _ in 0..config.threads {
            match ready_rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    eprintln!("loadgen: {e}");
                    std::process::exit(1)
                }
                Err(_) => {
                    eprintln!("loadgen: a thread died while connecting");
                    std::process::exit(1)
                }
            }
        }

        let start = Instant::now();
        for s in &starts {
            let _ = s.send(start);
        }
        let measure_from = start + config.warmup;
        let measure_until = measure_from + config.duration;
        let pid = config.server_pid.map(|p| p.to_string());
        sleep_until(measure_from);
        let server_before = pid.as_deref().and_then(cpu_times);
        let client_before = cpu_times("self");
        sleep_until(measure_until);
        let server_after = pid.as_deref().and_then(cpu_times);
        let client_after = cpu_times("self");

        let mut histogram = new_histogram();
        let mut requests = 0;
        let mut errors = 0;
        for t in threads {
            match t.join() {
                Ok(Some(report)) => {
                    let _ = histogram.add(&report.histogram);
                    requests += report.requests;
                    errors += report.errors;
                }
                Ok(None) | Err(_) => errors += 1,
            }
        }

        let seconds = config.duration.as_secs_f64();
        let us = |ns: u64| ns as f64 / 1000.0;
        let quantile = |q: f64| {
            if histogram.is_empty() {
                "na".to_string()
            } else {
                format!("{:.1}", us(histogram.value_at_quantile(q)))
            }
        };
        let client_cpu = match (client_before, client_after) {
            (Some(b), Some(a)) => format!("{:.3}", (a.0 + a.1) - (b.0 + b.1)),
            _ => "na".into(),
        };
        let (server_cpu, server_user, server_sys) = match (server_before, server_after) {
            (Some(b), Some(a)) => (
                format!("{:.3}", (a.0 + a.1) - (b.0 + b.1)),
                format!("{:.3}", a.0 - b.0),
                format!("{:.3}", a.1 - b.1),
            ),
            _ => ("na".into(), "na".into(), "na".into()),
        };
        let mode = match config.mode {
            Mode::Echo => "echo",
            Mode::Http => "http",
        };
        let mean = if histogram.is_empty() {
            "na".to_string()
        } else {
            format!("{:.1}", histogram.mean() / 1000.0)
        };
        println!(
            "RESULT mode={mode} connections={} size={} pipeline={} threads={} duration_s={seconds:.3} \
             requests={requests} rps={:.1} p50_us={} p99_us={} p999_us={} max_us={} mean_us={mean} \
             errors={errors} client_cpu_s={client_cpu} server_cpu_s={server_cpu} \
             server_user_s={server_user} server_sys_s={server_sys}",
            config.connections,
            if config.mode == Mode::Echo { config.size } else { HTTP_REQUEST.len() },
            config.pipeline,
            config.threads,
            requests as f64 / seconds,
            quantile(0.5),
            quantile(0.99),
            quantile(0.999),
            if histogram.is_empty() { "na".to_string() } else { format!("{:.1}", us(histogram.max())) },
        );
    }
}
