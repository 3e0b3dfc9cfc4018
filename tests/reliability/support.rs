//! Helpers of the reliability tests: the serial lock, watchdogs, fd counting, runtimes.

#![allow(dead_code)] // not every case uses every helper

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::task::Poll;
use std::time::Duration;

pub(crate) use crate::drivers::{drivers, runtime};
pub(crate) use crate::fds::{assert_no_fd_leak, open_fds};

/// Every test of this binary holds this lock while it runs: they count the process's
/// descriptors, change `RLIMIT_NOFILE`, fork, and measure latency, all process-wide.
static SERIAL: Mutex<()> = Mutex::new(());

/// Takes the binary-wide test lock (a test that failed holding it does not poison it).
pub(crate) fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// The bound on every test's async part: a hang becomes a failure, never a stuck binary.
pub(crate) const DEADLINE: Duration = Duration::from_secs(60);

/// `fut`, failing the test if it takes longer than [`DEADLINE`] (a hang).
pub(crate) async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    match hiver_runtime::timeout(DEADLINE, fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: not done within {DEADLINE:?} (a hang)"),
    }
}

/// A watchdog for a blocking section that no async timeout can bound (dropping a runtime,
/// joining threads): if the guard is not dropped within `limit`, the process prints what
/// hung and aborts, so that a hang is a failure and not a stuck test binary.
pub(crate) struct Watchdog {
    done: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    pub(crate) fn arm(what: impl Into<String>, limit: Duration) -> Watchdog {
        let what = what.into();
        let (tx, rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                eprintln!("watchdog: {what}: not done within {limit:?} (a hang); aborting");
                std::process::abort();
            }
        });
        Watchdog {
            done: Some(tx),
            thread: Some(thread),
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.done.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Polls `fut` exactly once, with the task's waker.
pub(crate) async fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
    let mut fut = Some(fut);
    poll_fn(|cx| Poll::Ready(fut.take().expect("polled once").poll(cx))).await
}

/// The payload of the panics the tests cause on purpose.
pub(crate) const INTENDED: &str = "reliability test: intended panic";

/// Silences the default panic message of the intended panics (hundreds of them would
/// bury the output); every other panic is printed as usual.
pub(crate) fn quiet_intended_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let p = info.payload();
            let msg = p
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| p.downcast_ref::<String>().map(String::as_str));
            if msg.is_some_and(|m| m.starts_with(INTENDED)) {
                return;
            }
            default(info);
        }));
    });
}

#[path = "../common/nofile.rs"]
mod nofile;
pub(crate) use nofile::raise_nofile;

/// Debug builds run smaller counts (the figures come from the release soak program).
pub(crate) fn scaled(release: u64, debug: u64) -> u64 {
    if cfg!(debug_assertions) {
        debug
    } else {
        release
    }
}

/// A watchdog for a long loop of blocking steps: if [`tick`](Self::tick) is not called
/// for `limit`, the process prints what stalled (and at which step) and aborts.
pub(crate) struct Progress {
    steps: std::sync::Arc<std::sync::atomic::AtomicU64>,
    _watch: Watchdog,
}

impl Progress {
    pub(crate) fn arm(what: impl Into<String>, limit: Duration) -> Progress {
        use std::sync::atomic::Ordering;
        let what = what.into();
        let steps = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let seen = steps.clone();
        let (tx, rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let mut last = u64::MAX;
            loop {
                match rx.recv_timeout(limit) {
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    _ => return,
                }
                let now = seen.load(Ordering::SeqCst);
                if now == last {
                    eprintln!("watchdog: {what}: no progress for {limit:?} at step {now} (a hang); aborting");
                    std::process::abort();
                }
                last = now;
            }
        });
        Progress {
            steps,
            _watch: Watchdog {
                done: Some(tx),
                thread: Some(thread),
            },
        }
    }

    /// One more step done.
    pub(crate) fn tick(&self) {
        self.steps.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Sets `SO_SNDBUF` and `SO_RCVBUF` of the socket `fd` to `bytes` (the kernel doubles it,
/// and keeps it above its minimum).
pub(crate) fn set_buffer_sizes(fd: &impl std::os::fd::AsRawFd, bytes: usize) {
    for opt in [libc::SO_SNDBUF, libc::SO_RCVBUF] {
        let v = bytes as libc::c_int;
        // SAFETY: `fd` is a live socket for the call; the pointer and length describe `v`,
        // which the kernel only reads.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&v as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0, "setsockopt: {}", std::io::Error::last_os_error());
    }
}

/// A TCP socket of this process found by its two addresses, for setting an option on a
/// runtime socket whose descriptor is not public. The descriptor is only borrowed: it
/// stays the runtime's (never closed through this value).
pub(crate) struct FoundFd(std::os::fd::RawFd);

impl std::os::fd::AsRawFd for FoundFd {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0
    }
}

/// The descriptor of the connected TCP socket with addresses `local` and `peer`, if any.
pub(crate) fn socket_fd(
    local: std::net::SocketAddr,
    peer: std::net::SocketAddr,
) -> Option<FoundFd> {
    use std::mem::ManuallyDrop;
    use std::os::fd::FromRawFd;
    for e in std::fs::read_dir("/proc/self/fd").ok()?.flatten() {
        let Some(fd) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let is_socket =
            std::fs::read_link(e.path()).is_ok_and(|t| t.to_string_lossy().starts_with("socket:"));
        if !is_socket {
            continue;
        }
        // SAFETY: `fd` is open (listed just now) and only queried through this value,
        // which is never dropped (ManuallyDrop): the descriptor stays its owner's.
        let s = ManuallyDrop::new(unsafe { std::net::TcpStream::from_raw_fd(fd) });
        if s.local_addr().ok() == Some(local) && s.peer_addr().ok() == Some(peer) {
            return Some(FoundFd(fd));
        }
    }
    None
}

/// The soft and hard `RLIMIT_NOFILE`.
pub(crate) fn nofile_limits() -> (u64, u64) {
    nofile::nofile()
}

/// Counts its drop on the shared counter: the drop-counting guard a task or value carries.
pub(crate) struct Counted(pub(crate) Arc<AtomicU64>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}
