//! `DriverType::Auto` falls back to epoll when io_uring is refused, proven for real: a child
//! process installs a seccomp filter that fails `io_uring_setup` with `EPERM` (as Docker's
//! default profile and other sandboxes do), then builds runtimes under it.
//!
//! How: each parent test re-runs this test binary (`std::env::current_exe()`) with
//! `HIVER_FALLBACK_CHILD=<mode>` and `--exact child_entry`, so libtest runs only
//! [`child_entry`], which does nothing without that variable (in a normal run it passes at
//! once). The filter is irreversible and process-wide, hence the separate process.
//!
//! In the child, after the filter:
//! - a raw `io_uring_setup` fails with `EPERM` (the filter works);
//! - `DriverType::IOUring` fails to build, with a `PermissionDenied` error naming
//!   `io_uring_setup`, `EPERM`'s text and the seccomp hint;
//! - `DriverType::Auto` builds, on 2 workers, and reports `DriverType::Epoll`, and the
//!   runtime's log says it fell back;
//! - `echo` mode then serves a TCP echo on that epoll runtime, which the parent drives with
//!   64 KiB of patterned bytes and checks byte for byte.
//!
//! Before the filter, `check` mode also builds an `Auto` runtime and sees io_uring: the
//! filter is the only difference. `enosys` mode installs the same filter with `ENOSYS`
//! (a kernel built without io_uring) and makes the same checks, with that errno and its
//! text in the errors, and the same echo. In every mode `Runtime::capabilities().fallback`
//! of the `Auto` runtime carries the io_uring error. Every wait is bounded; a stuck child
//! is killed.
#![cfg(target_os = "linux")]

mod seccomp;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::Shutdown;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use hiver_runtime::{DriverType, Runtime};

/// The variable that turns [`child_entry`] on; its value is the mode.
const CHILD_ENV: &str = "HIVER_FALLBACK_CHILD";
/// The libtest name of [`child_entry`] (a crate-root function: no module path).
const CHILD_TEST: &str = "child_entry";
/// How long a child may live, start to exit.
const CHILD_DEADLINE: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------
// Child side.

/// The child's entry point. Without [`CHILD_ENV`] (every normal run) it returns at once.
#[test]
fn child_entry() {
    let Ok(mode) = std::env::var(CHILD_ENV) else {
        return;
    };
    // The runtime's fallback is an INFO event; the parent reads it from stderr.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(io::stderr)
        .init();
    if mode == "check" {
        // Control: before the filter, this machine's Auto runtime runs io_uring.
        let rt = Runtime::builder()
            .worker_threads(1)
            .driver_type(DriverType::Auto)
            .build()
            .expect("Auto runtime before the filter");
        println!("before the filter, Auto chose: {}", rt.driver_type());
        assert_eq!(
            rt.driver_type(),
            DriverType::IOUring,
            "io_uring must work on this machine before the filter, or the test proves nothing"
        );
        drop(rt);
    }
    let refusal = if mode == "enosys" {
        Refusal::NOSYS
    } else {
        Refusal::PERM
    };
    let installed =
        seccomp::refuse_io_uring_setup(refusal.errno).expect("install the seccomp filter");
    assert!(
        installed,
        "the parent only starts a child on a supported arch"
    );
    println!(
        "seccomp filter installed: io_uring_setup -> {}",
        refusal.name
    );
    let rt = fallback_checks(&refusal);
    match mode.as_str() {
        "check" => {}
        "echo" | "enosys" => serve_echo(rt),
        other => panic!("unknown {CHILD_ENV} mode {other:?}"),
    }
    println!("CHILD DONE");
}

/// How the filter refuses `io_uring_setup`, and what the errors must then say.
struct Refusal {
    errno: i32,
    name: &'static str,
    kind: io::ErrorKind,
    /// Needles of the `DriverType::IOUring` error: the call, the errno's text, the hint.
    needles: [&'static str; 3],
}

impl Refusal {
    /// A sandbox's refusal (Docker's default profile).
    const PERM: Refusal = Refusal {
        errno: libc::EPERM,
        name: "EPERM",
        kind: io::ErrorKind::PermissionDenied,
        needles: [
            "io_uring_setup",
            "Operation not permitted (os error 1)",
            "seccomp",
        ],
    };
    /// A kernel without io_uring (before 5.1, or built without it).
    const NOSYS: Refusal = Refusal {
        errno: libc::ENOSYS,
        name: "ENOSYS",
        kind: io::ErrorKind::Unsupported,
        needles: [
            "io_uring_setup",
            "Function not implemented (os error 38)",
            "no io_uring",
        ],
    };
}

/// Under the filter: io_uring is refused, explicitly and by `Auto`, which takes epoll.
/// Returns the `Auto` runtime.
fn fallback_checks(refusal: &Refusal) -> Runtime {
    let raw = seccomp::raw_io_uring_setup_error();
    println!("raw io_uring_setup(1, NULL) under the filter: {raw}");
    assert_eq!(
        raw.raw_os_error(),
        Some(refusal.errno),
        "the filter must refuse io_uring_setup with {} (EFAULT would mean it let it through)",
        refusal.name
    );

    // (1) io_uring asked for explicitly: an error that says why.
    let err = match Runtime::builder()
        .worker_threads(2)
        .driver_type(DriverType::IOUring)
        .build()
    {
        Ok(rt) => panic!(
            "DriverType::IOUring built under the filter (driver {})",
            rt.driver_type()
        ),
        Err(e) => e,
    };
    println!("DriverType::IOUring refused: {err}");
    // The runtime wraps the setup error ("worker N: io_uring: io_uring_setup(...) failed:
    // <errno text> (os error 1) (io_uring refused: seccomp filter, ...)"), keeping the kind
    // but not the raw errno.
    assert_eq!(err.kind(), refusal.kind, "{err}");
    let text = err.to_string();
    for needle in refusal.needles {
        assert!(text.contains(needle), "{needle:?} missing from {text:?}");
    }

    // (2) Auto: builds, on epoll.
    let rt = Runtime::builder()
        .worker_threads(2)
        .driver_type(DriverType::Auto)
        .build()
        .expect("DriverType::Auto must fall back to epoll under the filter");
    println!("DriverType::Auto chose: {}", rt.driver_type());
    assert_eq!(rt.driver_type(), DriverType::Epoll);
    assert_eq!(rt.worker_threads(), 2);
    // (2b) The reason is reported, not only logged.
    let caps = rt.capabilities();
    assert_eq!(caps.driver, DriverType::Epoll);
    let reason = caps
        .fallback
        .expect("capabilities().fallback says why Auto fell back");
    println!("capabilities().fallback: {reason}");
    assert!(
        reason.contains(refusal.needles[1]) && reason.contains("io_uring_setup"),
        "the fallback reason names the refused call and its errno: {reason:?}"
    );
    rt
}

/// (3) On the fallback runtime: accept one TCP connection and echo it, in a spawned task,
/// until the peer shuts down its write side. Prints `PORT <n>` once listening and
/// `ECHOED <bytes>` at the end.
fn serve_echo(mut rt: Runtime) {
    use hiver_runtime::io::TcpListener;
    use std::io::Write;

    let echoed = rt
        .block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let port = listener.local_addr()?.port();
            {
                // Its own line (libtest's "test child_entry ... " has no newline), flushed:
                // the parent is waiting for it.
                let mut out = io::stdout().lock();
                writeln!(out, "\nPORT {port}")?;
                out.flush()?;
            }
            let (mut stream, peer) = listener.accept().await?;
            println!("accepted {peer}");
            let handle = hiver_runtime::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut total = 0usize;
                loop {
                    let n = stream.read(&mut buf).await?;
                    if n == 0 {
                        return Ok::<usize, io::Error>(total);
                    }
                    stream.write_all(&buf[..n]).await?;
                    total += n;
                }
            });
            handle
                .await
                .map_err(|e| io::Error::other(format!("echo task: {e}")))?
        })
        .expect("block_on")
        .expect("the echo server failed");
    println!("ECHOED {echoed}");
}

// ---------------------------------------------------------------------------------------
// Parent side.

/// A running child: its stdout lines as they come, its stderr collected, killed on drop.
struct ChildRun {
    child: Child,
    lines: mpsc::Receiver<String>,
    stdout: Option<thread::JoinHandle<String>>,
    stderr: Option<thread::JoinHandle<String>>,
    deadline: Instant,
}

/// What a finished child left.
struct ChildOutput {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl ChildOutput {
    fn describe(&self) -> String {
        format!(
            "child {}\n--- child stdout ---\n{}--- child stderr ---\n{}--- end ---",
            self.status, self.stdout, self.stderr
        )
    }
}

impl ChildRun {
    fn spawn(mode: &str) -> ChildRun {
        let exe = std::env::current_exe().expect("current_exe");
        let mut child = Command::new(exe)
            .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, mode)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the child test binary");
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().expect("piped stdout");
        let stdout = thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                all.push_str(&line);
                all.push('\n');
                // The receiver may be gone (the parent no longer listens): keep collecting.
                let _ = tx.send(line);
            }
            all
        });
        let mut err = child.stderr.take().expect("piped stderr");
        let stderr = thread::spawn(move || {
            let mut all = Vec::new();
            let _ = err.read_to_end(&mut all);
            String::from_utf8_lossy(&all).into_owned()
        });
        ChildRun {
            child,
            lines,
            stdout: Some(stdout),
            stderr: Some(stderr),
            deadline: Instant::now() + CHILD_DEADLINE,
        }
    }

    /// Waits (bounded by the deadline) for the child's `PORT <n>` line.
    fn port(&mut self) -> u16 {
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(at) = line.find("PORT ") {
                        let n = line[at + "PORT ".len()..].trim();
                        match n.parse() {
                            Ok(port) => return port,
                            Err(e) => self.fail(&format!("bad PORT line {line:?}: {e}")),
                        }
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    self.fail(&format!("no PORT line within {CHILD_DEADLINE:?}"))
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.fail("the child closed its stdout without printing PORT")
                }
            }
        }
    }

    /// Kills the child and panics with `why` and everything it printed.
    fn fail(&mut self, why: &str) -> ! {
        let _ = self.child.kill();
        let status = self.child.wait().expect("wait after kill");
        let out = self.collect(status);
        panic!("{why}\n{}", out.describe());
    }

    /// Waits (bounded) for the child to exit, killing it at the deadline.
    fn finish(mut self) -> ChildOutput {
        let status = loop {
            match self.child.try_wait().expect("try_wait") {
                Some(status) => break status,
                None if Instant::now() >= self.deadline => self.fail(&format!(
                    "the child did not exit within {CHILD_DEADLINE:?}; killed it"
                )),
                None => thread::sleep(Duration::from_millis(10)),
            }
        };
        self.collect(status)
    }

    /// Joins the output readers (the pipes close when the child is gone).
    fn collect(&mut self, status: ExitStatus) -> ChildOutput {
        let join = |h: Option<thread::JoinHandle<String>>| {
            h.map(|h| h.join().unwrap_or_else(|_| "<reader panicked>".into()))
                .unwrap_or_default()
        };
        ChildOutput {
            status,
            stdout: join(self.stdout.take()),
            stderr: join(self.stderr.take()),
        }
    }
}

impl Drop for ChildRun {
    fn drop(&mut self) {
        // A parent that panicked half-way must not leave the child running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Asserts a finished child passed and did what a fallback child does (and prints its output).
fn assert_child_passed(out: &ChildOutput) {
    println!("{}", out.describe());
    assert!(out.status.success(), "the child failed\n{}", out.describe());
    for needle in [
        "DriverType::IOUring refused:",
        "DriverType::Auto chose: epoll",
        "capabilities().fallback: ",
        "CHILD DONE",
    ] {
        assert!(
            out.stdout.contains(needle),
            "{needle:?} missing from the child's stdout (did libtest run child_entry?)\n{}",
            out.describe()
        );
    }
    assert!(
        out.stderr.contains("falling back to epoll"),
        "the runtime's fallback event is missing from the child's stderr\n{}",
        out.describe()
    );
}

/// Whether this architecture has a filter; if not, the tests say so and assert nothing.
fn arch_supported() -> bool {
    if seccomp::AUDIT_ARCH.is_none() {
        println!("no seccomp AUDIT_ARCH for this architecture: nothing checked");
        return false;
    }
    true
}

/// Checks (1) and (2) alone: io_uring refused with the reason, Auto on epoll.
#[test]
fn auto_falls_back_to_epoll_when_seccomp_refuses_io_uring() {
    if !arch_supported() {
        return;
    }
    let out = ChildRun::spawn("check").finish();
    assert_child_passed(&out);
    assert!(
        out.stdout
            .contains("before the filter, Auto chose: io_uring"),
        "{}",
        out.describe()
    );
}

/// `len` patterned bytes (a multiplicative hash of the index: no short period).
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i as u32).wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

/// (1) + (2) + (3): the epoll runtime `Auto` fell back to serves a TCP echo, checked byte
/// for byte by this process over `std::net`.
#[test]
fn echo_server_runs_on_the_epoll_fallback() {
    if !arch_supported() {
        return;
    }
    echo_through_child("echo");
}

/// As [`echo_server_runs_on_the_epoll_fallback`], on a "kernel without io_uring": the filter
/// fails `io_uring_setup` with `ENOSYS`. `IOUring` is refused with `Unsupported`, naming
/// ENOSYS's text and the hint; `Auto` runs epoll, reports why, and serves the echo.
#[test]
fn enosys_io_uring_setup_falls_back_and_echoes() {
    if !arch_supported() {
        return;
    }
    let out = echo_through_child("enosys");
    assert!(
        out.stdout.contains("io_uring_setup -> ENOSYS"),
        "{}",
        out.describe()
    );
}

/// Runs a child in `mode` that serves an echo, drives 64 KiB through it and checks them;
/// returns the child's output once it passed.
fn echo_through_child(mode: &str) -> ChildOutput {
    const TOTAL: usize = 64 * 1024;
    const CHUNKS: [usize; 8] = [1, 7, 100, 1024, 1500, 4096, 8192, 16384];
    let timeout = Some(Duration::from_secs(10));

    let mut run = ChildRun::spawn(mode);
    let port = run.port();
    let stream = match std::net::TcpStream::connect(("127.0.0.1", port)) {
        Ok(s) => s,
        Err(e) => run.fail(&format!("connect to 127.0.0.1:{port}: {e}")),
    };
    // Socket options: they hold for the clone below too.
    stream.set_read_timeout(timeout).expect("read timeout");
    stream.set_write_timeout(timeout).expect("write timeout");
    let data = pattern(TOTAL);

    // Write in uneven chunks on one thread while this one reads the echo back.
    let mut writer = stream.try_clone().expect("clone the stream");
    let to_send = data.clone();
    let writing = thread::spawn(move || -> io::Result<()> {
        let mut rest = &to_send[..];
        for size in CHUNKS.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at((*size).min(rest.len()));
            writer.write_all(chunk)?;
            rest = tail;
        }
        writer.shutdown(Shutdown::Write)
    });

    let mut reader = stream;
    let mut back = Vec::with_capacity(TOTAL);
    let mut buf = [0u8; 4096];
    loop {
        match reader.read(&mut buf) {
            // EOF: the echo task saw our shutdown, returned, and the stream was closed.
            Ok(0) => break,
            Ok(n) => back.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => run.fail(&format!(
                "reading the echo after {} of {TOTAL} bytes: {e}",
                back.len()
            )),
        }
        if back.len() > TOTAL {
            run.fail(&format!(
                "the echo sent {} bytes, more than {TOTAL}",
                back.len()
            ));
        }
    }
    match writing.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => run.fail(&format!("writing to the echo server: {e}")),
        Err(_) => run.fail("the writer thread panicked"),
    }
    if back != data {
        let at = back
            .iter()
            .zip(&data)
            .position(|(a, b)| a != b)
            .unwrap_or(back.len().min(data.len()));
        run.fail(&format!(
            "the echo differs: got {} of {TOTAL} bytes, first difference at byte {at}",
            back.len()
        ));
    }
    println!("parent: {TOTAL} bytes echoed back intact, then EOF");

    let out = run.finish();
    assert_child_passed(&out);
    assert!(
        out.stdout.contains(&format!("ECHOED {TOTAL}")),
        "{}",
        out.describe()
    );
    out
}
