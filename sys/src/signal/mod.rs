//! Catching Unix signals without libc on Linux: a process-wide [`Receiver`] where caught
//! signals arrive, for one thread to wait on.
//!
//! - Linux (x86_64 and aarch64): the raw `rt_sigaction` syscall installs a handler, with an
//!   `SA_RESTORER` trampoline of two instructions (`rt_sigreturn`). The handler only sets the
//!   signal's pending flag (a static atomic) and then writes one byte to a non-blocking,
//!   close-on-exec pipe (the self-pipe trick); [`Receiver::wait`] reads the pipe, then takes
//!   every pending flag. A full pipe means a wake-up is pending already, so a write that
//!   fails with `EAGAIN` loses nothing: the flags, not the bytes, say which signals came.
//!   Other Linux architectures get an `Unsupported` error from [`Receiver::add`].
//! - macOS and the BSDs: an `EVFILT_SIGNAL` filter per signal on a kqueue of its own. kqueue
//!   records a delivery whatever the signal's disposition, so the disposition only has to
//!   keep the default action (termination) away: a handler that does nothing, installed with
//!   libc's `sigaction`. Not `SIG_IGN`: an ignored signal stays ignored across `exec` (a child
//!   process would inherit it), and an ignored `SIGCHLD` is not recorded by kqueue at all.
//!
//! Several deliveries of a signal before a wait are reported once: signals coalesce, in the
//! kernel (a standard signal is pending at most once) and here.
//!
//! **What a process gives up.** Once a signal is caught, its previous disposition (default
//! action, `SIG_IGN`, another handler) is replaced for the rest of the process's life, as with
//! tokio: nothing is restored when nobody listens any more. `SIGKILL` and `SIGSTOP` cannot be
//! caught, the synchronous fault signals (`SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`, `SIGTRAP`)
//! would loop on the faulting instruction once the handler returns, and the C library
//! reserves a few real-time signals for its threads: all are refused with `InvalidInput`.
//!
//! **exec and fork.** The handlers are reset by `exec` and the pipe is close-on-exec, so a
//! new program starts with the default dispositions. A forked child keeps the handlers but
//! not the thread that waits on the receiver: a child that wants signals should `exec`.
//! Deliveries to the child never show in the parent (its pending flags are the child's copy).
//!
//! # Safety
//!
//! The handler runs at any instruction of any thread, so it does only async-signal-safe
//! work: atomic stores and loads, and a `write` through rustix's `linux_raw` backend, which
//! returns its error as a value and never touches `errno` (the interrupted code's `errno`
//! stays intact). It allocates nothing, takes no lock and cannot panic. The pipe's write end
//! is published before any handler is installed and never closed, so the handler never
//! writes to a descriptor number that has been reused.
//!
//! # Examples
//!
//! ```
//! use hiver_sys::signal::{Receiver, SIGUSR2};
//! use rustix::process::{getpid, kill_process, Signal};
//!
//! # fn main() -> std::io::Result<()> {
//! let receiver = Receiver::get()?;
//! receiver.add(SIGUSR2)?;
//! kill_process(getpid(), Signal::USR2)?;
//! let mut seen = Vec::new();
//! while !seen.contains(&SIGUSR2) {
//!     receiver.wait(|signal| seen.push(signal))?;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # References
//!
//! signal(7), rt_sigaction(2), sigreturn(2), pipe(7), kqueue(2) (`EVFILT_SIGNAL`); musl
//! `src/signal/sigaction.c` and `src/signal/x86_64/restore.s`.

use std::io;
use std::sync::{Mutex, OnceLock, PoisonError};

use rustix::process::Signal;

#[cfg(not(target_os = "linux"))]
mod kqueue;
#[cfg(not(target_os = "linux"))]
use kqueue as imp;
#[cfg(target_os = "linux")]
mod self_pipe;
#[cfg(target_os = "linux")]
use self_pipe as imp;
#[cfg(target_os = "linux")]
mod sigaction;

/// Hangup (`SIGHUP`): the controlling terminal closed; by convention, reload configuration.
///
/// ```
/// # use hiver_sys::signal::SIGHUP;
/// assert_eq!(SIGHUP, 1);
/// ```
pub const SIGHUP: i32 = Signal::HUP.as_raw();
/// Interrupt (`SIGINT`): Ctrl-C at the terminal.
///
/// ```
/// # use hiver_sys::signal::SIGINT;
/// assert_eq!(SIGINT, 2);
/// ```
pub const SIGINT: i32 = Signal::INT.as_raw();
/// Quit (`SIGQUIT`): Ctrl-\ at the terminal.
///
/// ```
/// # use hiver_sys::signal::SIGQUIT;
/// assert_eq!(SIGQUIT, 3);
/// ```
pub const SIGQUIT: i32 = Signal::QUIT.as_raw();
/// User-defined signal 1 (`SIGUSR1`).
///
/// ```
/// # use hiver_sys::signal::SIGUSR1;
/// assert_ne!(SIGUSR1, hiver_sys::signal::SIGUSR2);
/// ```
pub const SIGUSR1: i32 = Signal::USR1.as_raw();
/// User-defined signal 2 (`SIGUSR2`).
///
/// ```
/// # use hiver_sys::signal::SIGUSR2;
/// assert!(SIGUSR2 > 0);
/// ```
pub const SIGUSR2: i32 = Signal::USR2.as_raw();
/// A child process stopped or exited (`SIGCHLD`).
///
/// ```
/// # use hiver_sys::signal::SIGCHLD;
/// assert!(SIGCHLD > 0);
/// ```
pub const SIGCHLD: i32 = Signal::CHILD.as_raw();
/// A write to a pipe or socket with no reader (`SIGPIPE`).
///
/// ```
/// # use hiver_sys::signal::SIGPIPE;
/// assert_eq!(SIGPIPE, 13);
/// ```
pub const SIGPIPE: i32 = Signal::PIPE.as_raw();
/// A timer set with `alarm` expired (`SIGALRM`).
///
/// ```
/// # use hiver_sys::signal::SIGALRM;
/// assert_eq!(SIGALRM, 14);
/// ```
pub const SIGALRM: i32 = Signal::ALARM.as_raw();
/// Termination request (`SIGTERM`): what `kill` sends by default.
///
/// ```
/// # use hiver_sys::signal::SIGTERM;
/// assert_eq!(SIGTERM, 15);
/// ```
pub const SIGTERM: i32 = Signal::TERM.as_raw();
/// The terminal window changed size (`SIGWINCH`).
///
/// ```
/// # use hiver_sys::signal::SIGWINCH;
/// assert_eq!(SIGWINCH, 28);
/// ```
pub const SIGWINCH: i32 = Signal::WINCH.as_raw();

/// The highest signal number that may be caught: `_NSIG - 1` on Linux (the real-time
/// signals included); on macOS and the BSDs the classic 31, every one of them named.
///
/// ```
/// use hiver_sys::signal::{MAX_SIGNAL, SIGTERM};
/// assert!((1..=MAX_SIGNAL).contains(&SIGTERM));
/// ```
pub const MAX_SIGNAL: i32 = if cfg!(target_os = "linux") { 64 } else { 31 };

/// Signals that cannot be caught, or must not be: the kernel refuses the first two, the
/// others are synchronous faults whose handler would return to the faulting instruction.
const REFUSED: [(Signal, &str); 7] = [
    (Signal::KILL, "SIGKILL cannot be caught"),
    (Signal::STOP, "SIGSTOP cannot be caught"),
    (Signal::SEGV, "SIGSEGV is a synchronous fault"),
    (Signal::BUS, "SIGBUS is a synchronous fault"),
    (Signal::ILL, "SIGILL is a synchronous fault"),
    (Signal::FPE, "SIGFPE is a synchronous fault"),
    (Signal::TRAP, "SIGTRAP is a synchronous fault (breakpoints)"),
];

/// Signals the C library keeps for its threads on Linux (glibc: 32 and 33; musl: 32 to 34):
/// catching them would break thread cancellation and `setuid` in threaded programs.
const RESERVED: &[i32] = if cfg!(target_env = "musl") {
    &[32, 33, 34]
} else {
    &[32, 33]
};

/// The process's receiver of caught signals: one per process, because a signal's handler is.
///
/// Any thread may [`add`](Receiver::add) signals; one thread should [`wait`](Receiver::wait)
/// (two waiters split the deliveries between them, each reported once).
///
/// ```
/// use hiver_sys::signal::{Receiver, SIGWINCH};
///
/// # fn main() -> std::io::Result<()> {
/// Receiver::get()?.add(SIGWINCH)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Receiver {
    inner: imp::Receiver,
}

impl Receiver {
    /// The process's receiver, created on the first call (a pipe on Linux, a kqueue
    /// elsewhere). It lives as long as the process. No signal is caught until
    /// [`add`](Receiver::add).
    ///
    /// ```
    /// use hiver_sys::signal::Receiver;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let a = Receiver::get()?;
    /// let b = Receiver::get()?;
    /// assert!(std::ptr::eq(a, b));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// The error of creating the pipe or the kqueue (`EMFILE`, `ENFILE`); the next call tries
    /// again.
    pub fn get() -> io::Result<&'static Receiver> {
        static RECEIVER: OnceLock<Receiver> = OnceLock::new();
        static CREATING: Mutex<()> = Mutex::new(());
        if let Some(receiver) = RECEIVER.get() {
            return Ok(receiver);
        }
        // One creation at a time: on Linux the pipe is process-wide state of the handler.
        let _creating = CREATING.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(receiver) = RECEIVER.get() {
            return Ok(receiver);
        }
        let receiver = Receiver {
            inner: imp::Receiver::new()?,
        };
        Ok(RECEIVER.get_or_init(|| receiver))
    }

    /// Starts catching `signal`; catching it again does nothing new. From now on its
    /// deliveries are reported by [`wait`](Receiver::wait) and its previous disposition is
    /// gone (module docs).
    ///
    /// ```
    /// use hiver_sys::signal::{Receiver, SIGHUP};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let receiver = Receiver::get()?;
    /// receiver.add(SIGHUP)?;
    /// assert_eq!(
    ///     receiver.add(9).unwrap_err().kind(),
    ///     std::io::ErrorKind::InvalidInput,
    ///     "SIGKILL cannot be caught"
    /// );
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a number outside `1..=MAX_SIGNAL`, for `SIGKILL`, `SIGSTOP`, the
    /// synchronous fault signals and the C library's reserved signals; `Unsupported` on a
    /// Linux architecture other than x86_64 and aarch64; otherwise the kernel's error.
    #[doc(alias = "sigaction")]
    #[doc(alias = "rt_sigaction")]
    pub fn add(&self, signal: i32) -> io::Result<()> {
        check(signal)?;
        self.inner.add(signal)
    }

    /// Blocks until at least one caught signal has arrived since the last wait, then calls
    /// `arrived` once for each signal that did (in no particular order). `EINTR` is retried.
    ///
    /// A delivery may be reported by the wait after the one it woke: a wait can return
    /// having called `arrived` for nothing. Loop on it.
    ///
    /// ```no_run
    /// use hiver_sys::signal::{Receiver, SIGTERM};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let receiver = Receiver::get()?;
    /// receiver.add(SIGTERM)?;
    /// let mut terminate = false;
    /// while !terminate {
    ///     receiver.wait(|signal| terminate |= signal == SIGTERM)?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// The error of reading the pipe or waiting on the kqueue, other than `EINTR`.
    pub fn wait(&self, arrived: impl FnMut(i32)) -> io::Result<()> {
        self.inner.wait(arrived)
    }
}

/// `Ok` if `signal` may be caught (see [`Receiver::add`]).
fn check(signal: i32) -> io::Result<()> {
    if !(1..=MAX_SIGNAL).contains(&signal) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal number {signal} is out of range (1 to {MAX_SIGNAL})"),
        ));
    }
    if let Some((_, why)) = REFUSED.iter().find(|(s, _)| s.as_raw() == signal) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {signal} is refused: {why}"),
        ));
    }
    if RESERVED.contains(&signal) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {signal} is refused: the C library reserves it for its threads"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{check, MAX_SIGNAL, SIGINT, SIGTERM, SIGUSR1};
    use rustix::process::Signal;
    use std::io::ErrorKind;

    #[test]
    fn refuses_uncatchable_faults_and_out_of_range() {
        for signal in [
            0,
            -1,
            MAX_SIGNAL + 1,
            i32::MAX,
            Signal::KILL.as_raw(),
            Signal::STOP.as_raw(),
            Signal::SEGV.as_raw(),
            Signal::BUS.as_raw(),
            Signal::ILL.as_raw(),
            Signal::FPE.as_raw(),
            Signal::TRAP.as_raw(),
        ] {
            let err = check(signal).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{signal}: {err}");
        }
        for signal in [SIGINT, SIGTERM, SIGUSR1, MAX_SIGNAL] {
            check(signal).unwrap();
        }
    }
}
