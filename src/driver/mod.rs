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

mod config;
mod readiness;
#[cfg(target_os = "linux")]
mod uring;

use std::io;
use std::time::Duration;

pub use config::DriverType;
pub use config::{DriverConfig, DriverConfigBuilder};

/// A worker's driver.
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
                    Ok(Driver::Epoll(readiness::ReadinessDriver::new()?))
                }
            },
            #[cfg(target_os = "linux")]
            DriverType::IOUring => uring::UringDriver::new(config).map(Driver::Uring),
            #[cfg(target_os = "linux")]
            DriverType::Epoll => Ok(Driver::Epoll(readiness::ReadinessDriver::new()?)),
            #[cfg(target_os = "linux")]
            DriverType::Kqueue => Err(unsupported(
                kind,
                "kqueue exists on macOS and the BSDs, not on Linux",
            )),
            #[cfg(not(target_os = "linux"))]
            DriverType::Auto | DriverType::Kqueue => {
                Ok(Driver::Kqueue(readiness::ReadinessDriver::new()?))
            }
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

fn unsupported(kind: DriverType, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("driver {kind} is not available: {why}"),
    )
}
