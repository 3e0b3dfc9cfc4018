//! The I/O driver a worker parks in, and the handle other threads wake it with.
//!
//! The contract every driver meets (as mio's `sys/mod.rs` writes its own down):
//! - `Driver::new(kind, config)` is called on the worker thread that will use it (io_uring
//!   rings with `SINGLE_ISSUER` and `DEFER_TASKRUN` are bound to their creator), and fails
//!   with an `io::Error` that says why, never a panic.
//! - `park(timeout)` blocks until an unpark, an I/O event, or the timeout (`None`: no
//!   bound; `Some(ZERO)`: just poll). Spurious returns are allowed; lost unparks are not: an
//!   unpark issued before `park` makes that `park` return promptly.
//! - `Unparker::unpark` may be called from any thread, any number of times.
//!
//! Selection is enum dispatch (no `dyn`): io_uring and epoll on Linux, kqueue on macOS and
//! the BSDs. `DriverType::Auto` tries io_uring and falls back to epoll, saying why through
//! `tracing`.

mod capabilities;
mod config;
pub(crate) mod readiness;
#[cfg(target_os = "linux")]
pub(crate) mod uring;

#[cfg(all(test, target_os = "linux"))]
mod tests;

use std::io;
use std::time::Duration;

pub use capabilities::Capabilities;
pub use config::DriverType;
pub use config::{DriverConfig, DriverConfigBuilder};

/// A worker's driver.
// One per worker, created in place and never moved: boxing the big variant would only add
// an indirection to every turn.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Driver {
    #[cfg(target_os = "linux")]
    Uring(uring::UringDriver),
    #[cfg(target_os = "linux")]
    Epoll(readiness::ReadinessDriver),
    #[cfg(not(target_os = "linux"))]
    Kqueue(readiness::ReadinessDriver),
}

/// Wakes a parked driver from any thread.
pub(crate) enum Unparker {
    #[cfg(target_os = "linux")]
    EventFd(std::sync::Arc<std::os::fd::OwnedFd>),
    /// epoll's eventfd waker, or kqueue's `EVFILT_USER` one.
    Readiness(std::sync::Arc<readiness::Waker>),
}

impl Unparker {
    /// Wakes the driver. Errors cannot be acted on by a waker; a failed wake is logged.
    pub(crate) fn unpark(&self) {
        let r = match self {
            #[cfg(target_os = "linux")]
            Unparker::EventFd(fd) => match rustix::io::write(fd, &1u64.to_ne_bytes()) {
                // A full counter means a wake is already pending.
                Ok(_) | Err(rustix::io::Errno::AGAIN) => Ok(()),
                Err(e) => Err(io::Error::from(e)),
            },
            Unparker::Readiness(w) => w.wake(),
        };
        if let Err(e) = r {
            tracing::error!(error = %e, "failed to wake a worker's driver");
        }
    }
}

impl Driver {
    /// Creates the driver `kind` on the calling thread.
    pub(crate) fn new(kind: DriverType, config: &DriverConfig) -> io::Result<Driver> {
        // kqueue has no settings of its own yet.
        #[cfg(not(target_os = "linux"))]
        let _ = config;
        match kind {
            #[cfg(target_os = "linux")]
            DriverType::Auto => match uring::UringDriver::new(config) {
                Ok(d) => Ok(Driver::Uring(d)),
                Err(e) => {
                    tracing::info!(reason = %e, "io_uring unavailable, falling back to epoll");
                    let mut d = readiness::ReadinessDriver::new().map_err(|epoll| {
                        let epoll = readiness_error(epoll);
                        io::Error::new(epoll.kind(), format!("{epoll}; before it, {e}"))
                    })?;
                    d.fallback = Some(e.to_string());
                    Ok(Driver::Epoll(d))
                }
            },
            #[cfg(target_os = "linux")]
            DriverType::IOUring => uring::UringDriver::new(config).map(Driver::Uring),
            #[cfg(target_os = "linux")]
            DriverType::Epoll => Ok(Driver::Epoll(
                readiness::ReadinessDriver::new().map_err(readiness_error)?,
            )),
            #[cfg(target_os = "linux")]
            DriverType::Kqueue => Err(unsupported(
                kind,
                "kqueue exists on macOS and the BSDs, not on Linux",
            )),
            #[cfg(not(target_os = "linux"))]
            DriverType::Auto | DriverType::Kqueue => Ok(Driver::Kqueue(
                readiness::ReadinessDriver::new().map_err(readiness_error)?,
            )),
            #[cfg(not(target_os = "linux"))]
            DriverType::IOUring | DriverType::Epoll => Err(unsupported(
                kind,
                "io_uring and epoll are Linux interfaces; this platform has kqueue",
            )),
        }
    }

    /// The driver actually running.
    pub(crate) fn kind(&self) -> DriverType {
        match self {
            #[cfg(target_os = "linux")]
            Driver::Uring(_) => DriverType::IOUring,
            #[cfg(target_os = "linux")]
            Driver::Epoll(_) => DriverType::Epoll,
            #[cfg(not(target_os = "linux"))]
            Driver::Kqueue(_) => DriverType::Kqueue,
        }
    }

    /// What this driver was granted.
    pub(crate) fn capabilities(&self) -> Capabilities {
        match self {
            #[cfg(target_os = "linux")]
            Driver::Uring(d) => d.capabilities(),
            #[cfg(target_os = "linux")]
            Driver::Epoll(d) => Capabilities::readiness(DriverType::Epoll, d.fallback.clone()),
            #[cfg(not(target_os = "linux"))]
            Driver::Kqueue(d) => Capabilities::readiness(DriverType::Kqueue, d.fallback.clone()),
        }
    }

    /// A handle that wakes this driver from any thread.
    pub(crate) fn unparker(&self) -> Unparker {
        match self {
            #[cfg(target_os = "linux")]
            Driver::Uring(d) => d.unparker(),
            #[cfg(target_os = "linux")]
            Driver::Epoll(d) => d.unparker(),
            #[cfg(not(target_os = "linux"))]
            Driver::Kqueue(d) => d.unparker(),
        }
    }

    /// Blocks until woken, an event, or `timeout`.
    pub(crate) fn park(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            Driver::Uring(d) => d.park(timeout),
            #[cfg(target_os = "linux")]
            Driver::Epoll(d) => d.park(timeout),
            #[cfg(not(target_os = "linux"))]
            Driver::Kqueue(d) => d.park(timeout),
        }
    }

    /// Kernel entries made so far (`io_uring_enter`, `epoll_wait`, `kevent`).
    pub(crate) fn kernel_entries(&self) -> u64 {
        match self {
            #[cfg(target_os = "linux")]
            Driver::Uring(d) => d.kernel_entries(),
            #[cfg(target_os = "linux")]
            Driver::Epoll(d) => d.kernel_entries(),
            #[cfg(not(target_os = "linux"))]
            Driver::Kqueue(d) => d.kernel_entries(),
        }
    }
}

/// The kind of I/O path the current thread's driver takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IoPath {
    /// Completion-based: operations go to the ring.
    #[cfg(target_os = "linux")]
    Uring,
    /// Readiness-based: try the syscall, wait for an event on `EAGAIN`.
    Readiness,
}

impl Driver {
    /// Which I/O path this driver takes.
    pub(crate) fn io_path(&self) -> IoPath {
        match self {
            #[cfg(target_os = "linux")]
            Driver::Uring(_) => IoPath::Uring,
            #[cfg(target_os = "linux")]
            Driver::Epoll(_) => IoPath::Readiness,
            #[cfg(not(target_os = "linux"))]
            Driver::Kqueue(_) => IoPath::Readiness,
        }
    }

    /// Between two batches of tasks: hands the kernel what they queued and takes what is
    /// ready, without blocking. `busy`: tasks are still queued (a readiness driver then
    /// polls for events; otherwise it leaves that to the park).
    pub(crate) fn turn(&mut self, busy: bool) -> io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            Driver::Uring(d) => {
                if busy || !d.submit_wait() {
                    d.turn()
                } else {
                    Ok(())
                }
            }
            #[cfg(target_os = "linux")]
            Driver::Epoll(d) if busy => d.park(Some(Duration::ZERO)),
            #[cfg(not(target_os = "linux"))]
            Driver::Kqueue(d) if busy => d.park(Some(Duration::ZERO)),
            _ => Ok(()),
        }
    }

    /// The readiness driver, if this is one.
    pub(crate) fn as_readiness(&mut self) -> Option<&mut readiness::ReadinessDriver> {
        match self {
            #[cfg(target_os = "linux")]
            Driver::Epoll(d) => Some(d),
            #[cfg(not(target_os = "linux"))]
            Driver::Kqueue(d) => Some(d),
            #[cfg(target_os = "linux")]
            Driver::Uring(_) => None,
        }
    }

    /// The io_uring driver, if this is one.
    #[cfg(target_os = "linux")]
    pub(crate) fn as_uring(&mut self) -> Option<&mut uring::UringDriver> {
        match self {
            Driver::Uring(d) => Some(d),
            _ => None,
        }
    }
}

/// Runs `f` on the current thread's driver: an error outside a runtime, or while the
/// driver is busy (a re-entrant call, which the runtime never makes).
pub(crate) fn with_current<R>(f: impl FnOnce(&mut Driver) -> R) -> io::Result<R> {
    crate::runtime::context::with_core(|core| match core.driver().try_borrow_mut() {
        Ok(mut d) => Ok(f(&mut d)),
        Err(_) => Err(io::Error::other(
            "the I/O driver of this thread is busy (re-entrant use)",
        )),
    })
    .unwrap_or_else(|| Err(no_runtime()))
}

/// The I/O path of the current thread's driver.
pub(crate) fn current_path() -> io::Result<IoPath> {
    crate::runtime::context::io()
        .map(|(path, _)| path)
        .ok_or_else(no_runtime)
}

/// Runs `f` on the current thread's io_uring driver; `None` when there is none (no
/// runtime, another driver, or the driver busy).
#[cfg(target_os = "linux")]
pub(crate) fn with_uring<R>(f: impl FnOnce(&mut uring::UringDriver) -> R) -> Option<R> {
    uring_io(|d| Ok(f(d))).ok()
}

/// Runs `f` on the current thread's io_uring driver, or fails saying why not.
#[cfg(target_os = "linux")]
pub(crate) fn uring_io<R>(
    f: impl FnOnce(&mut uring::UringDriver) -> io::Result<R>,
) -> io::Result<R> {
    with_current(|d| match d.as_uring() {
        Some(u) => f(u),
        None => Err(io::Error::other(
            "an io_uring operation on a thread whose driver is not io_uring",
        )),
    })?
}

/// The error of an I/O call made with no runtime on the thread.
pub(crate) fn no_runtime() -> io::Error {
    io::Error::other(
        "no hiver runtime on this thread: I/O must run inside Runtime::block_on or a spawned task",
    )
}

/// The error of setting up the epoll or kqueue driver (its poller and waker descriptors),
/// saying which driver failed and, for the common errnos, why.
fn readiness_error(e: io::Error) -> io::Error {
    let driver = if cfg!(target_os = "linux") {
        "epoll"
    } else {
        "kqueue"
    };
    let hint = match e.raw_os_error() {
        Some(24) => " (no file descriptor left: EMFILE)",
        Some(23) => " (the system's file table is full: ENFILE)",
        Some(12) => " (out of memory: ENOMEM)",
        _ => "",
    };
    io::Error::new(
        e.kind(),
        format!("{driver} driver: creating its poller and waker failed: {e}{hint}"),
    )
}

fn unsupported(kind: DriverType, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("driver {kind} is not available: {why}"),
    )
}
