//! Unix signals as async streams: [`ctrl_c`] for the common case, [`signal`] for a stream of
//! any signal.
//!
//! ```
//! use hiver_runtime::signal::{self, SignalKind};
//! use hiver_runtime::{select_two, Runtime};
//! use rustix::process::{getpid, kill_process, Signal};
//!
//! fn main() -> std::io::Result<()> {
//!     let mut runtime = Runtime::new()?;
//!     runtime.block_on(async {
//!         let mut terminate = signal::signal(SignalKind::terminate())?;
//!         // `kill <pid>` from a shell; here the process sends itself SIGTERM.
//!         kill_process(getpid(), Signal::TERM)?;
//!         // Serve until Ctrl-C or SIGTERM, whichever comes first.
//!         let _ = select_two(signal::ctrl_c(), terminate.recv()).await;
//!         println!("shutting down");
//!         Ok(())
//!     })?
//! }
//! ```
//!
//! # What a delivery wakes
//!
//! - Every [`Signal`] that exists when a delivery is dispatched sees it, whichever task,
//!   worker, runtime or driver polls it; a stream created after a delivery does not see it
//!   (one created while a delivery is being dispatched may).
//! - Deliveries that arrive between two [`Signal::recv`]s coalesce into one: a stream says
//!   "the signal came at least once since you last asked", never how many times.
//! - Listening replaces the signal's default action for the rest of the process's life, as
//!   in tokio: after the first [`signal`] for `SIGINT`, Ctrl-C no longer ends the process,
//!   even once every stream is dropped. A program that still wants to stop on Ctrl-C does so
//!   when [`ctrl_c`] returns.
//! - `SIGKILL`, `SIGSTOP`, the synchronous fault signals (`SIGSEGV`, `SIGBUS`, `SIGILL`,
//!   `SIGFPE`, `SIGTRAP`) and the C library's reserved real-time signals are refused with
//!   `InvalidInput`.
//! - `exec` restores the default actions; a forked child keeps the handlers but its streams
//!   are never woken (the dispatching thread stays in the parent).
//!
//! # How it works
//!
//! Signals belong to the process, runtimes do not: so one process-wide dispatcher, the
//! `hiver-signal` thread, started by the first [`signal`], waits on [`hiver_sys::signal`]'s
//! receiver (on Linux a raw `rt_sigaction` handler writing to a self-pipe, no libc; on macOS
//! and the BSDs an `EVFILT_SIGNAL` kqueue). For each signal that arrived it bumps that
//! signal's generation counter and wakes the tasks waiting on it; a stream reports a
//! delivery when the generation moved past the one it last saw. Wakers are `Send`, so this
//! works from any worker of any runtime, with several runtimes and drivers at once, and
//! outside runtimes too. Reading the pipe in each driver instead would need one reader per
//! process chosen among io_uring, epoll and kqueue runtimes that come and go; one mostly
//! sleeping thread is simpler, and signals are rare.

mod kind;
mod registry;

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll};

pub use kind::SignalKind;
use registry::{registry, Registry, Slot};

use crate::sync::wait_set::Waiter;

/// Waits for the next `SIGINT` (Ctrl-C at the terminal).
///
/// The handler is installed when the returned future is first polled: a `SIGINT` that
/// arrives before that is not seen, and from then on `SIGINT` no longer ends the process
/// (module docs).
///
/// ```
/// use std::future::{poll_fn, Future};
/// use std::pin::pin;
/// use std::task::Poll;
///
/// use hiver_runtime::{signal, Runtime};
/// use rustix::process::{getpid, kill_process, Signal};
///
/// fn main() -> std::io::Result<()> {
///     let mut runtime = Runtime::new()?;
///     runtime.block_on(async {
///         let mut ctrl_c = pin!(signal::ctrl_c());
///         // It listens from its first poll on: poll it once before sending SIGINT.
///         let first = poll_fn(|cx| Poll::Ready(ctrl_c.as_mut().poll(cx))).await;
///         assert!(first.is_pending());
///         kill_process(getpid(), Signal::INT)?; // what Ctrl-C at the terminal does
///         ctrl_c.await?;
///         println!("Ctrl-C received, shutting down");
///         Ok(())
///     })?
/// }
/// ```
///
/// # Errors
///
/// As [`signal`]; and an error if the dispatching thread stopped (it logs why).
pub async fn ctrl_c() -> io::Result<()> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    interrupt
        .recv()
        .await
        .ok_or_else(|| io::Error::other("the signal thread stopped before SIGINT arrived"))
}

/// A stream of the deliveries of `kind`, from now on.
///
/// The first call for a signal installs its handler, for the rest of the process's life
/// (module docs).
///
/// ```
/// use hiver_runtime::signal::{signal, SignalKind};
/// use hiver_runtime::Runtime;
/// use rustix::process::{getpid, kill_process, Signal as Raw};
///
/// fn main() -> std::io::Result<()> {
///     let mut runtime = Runtime::new()?;
///     runtime.block_on(async {
///         let mut hangup = signal(SignalKind::hangup())?;
///         // `kill -HUP <pid>` from a shell; here the process sends it itself.
///         kill_process(getpid(), Raw::HUP)?;
///         if hangup.recv().await.is_some() {
///             println!("SIGHUP: reloading the configuration");
///         }
///         Ok(())
///     })?
/// }
/// ```
///
/// # Errors
///
/// `InvalidInput` for a signal that may not be listened to (out of range, `SIGKILL`,
/// `SIGSTOP`, a synchronous fault signal, a reserved real-time signal); `Unsupported` on a
/// Linux architecture other than x86_64 and aarch64; the error of creating the pipe or
/// kqueue, of installing the handler, or of starting the dispatching thread.
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    let registry = registry();
    let slot = registry.listen(kind.as_raw_value())?;
    Ok(Signal {
        kind,
        registry,
        slot,
        seen: slot.generation(),
        waiter: Waiter::default(),
    })
}

/// The deliveries of one signal, from the moment it was created (see [`signal`]).
///
/// `Signal` is `Send` and `Sync`: create it anywhere, poll it from any task.
///
/// ```
/// use hiver_runtime::signal::{signal, SignalKind};
/// use hiver_runtime::{timeout, Duration, Runtime};
/// use rustix::process::{getpid, kill_process, Signal as Raw};
///
/// # fn main() -> std::io::Result<()> {
/// let mut runtime = Runtime::new()?;
/// runtime.block_on(async {
///     let mut user1 = signal(SignalKind::user_defined1())?;
///     kill_process(getpid(), Raw::USR1)?; // sent by another process in real life
///     let got = timeout(Duration::from_secs(10), user1.recv()).await?;
///     assert_eq!(got, Some(()));
///     Ok(())
/// })?
/// # }
/// ```
pub struct Signal {
    kind: SignalKind,
    registry: &'static Registry,
    slot: &'static Slot,
    /// The generation last reported.
    seen: u64,
    waiter: Waiter,
}

impl Signal {
    /// Waits for the next delivery: `Some(())` once the signal arrived since the stream was
    /// created or last returned (several deliveries coalesce into one), `None` if the
    /// dispatching thread stopped (never in normal operation).
    ///
    /// Cancel-safe: dropping the future loses no delivery.
    ///
    /// ```
    /// use hiver_runtime::signal::{signal, SignalKind};
    /// use rustix::process::{getpid, kill_process, Signal as Raw};
    ///
    /// # hiver_runtime::Runtime::new()?.block_on(async {
    /// let mut user2 = signal(SignalKind::user_defined2())?;
    /// kill_process(getpid(), Raw::USR2)?; // another process's `kill -USR2`, in real life
    /// assert_eq!(user2.recv().await, Some(()));
    /// # Ok::<_, std::io::Error>(()) })??;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn recv(&mut self) -> Option<()> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next delivery, as [`recv`](Signal::recv) does: `Pending` registers
    /// `cx`'s waker, which a delivery wakes.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use hiver_runtime::signal::{signal, SignalKind};
    /// use hiver_runtime::Runtime;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut runtime = Runtime::new()?;
    /// runtime.block_on(async {
    ///     let mut child = signal(SignalKind::child())?;
    ///     // Nothing arrived yet.
    ///     poll_fn(|cx| {
    ///         assert!(child.poll_recv(cx).is_pending());
    ///         std::task::Poll::Ready(())
    ///     })
    ///     .await;
    ///     Ok(())
    /// })?
    /// # }
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        let ready = self.check().or_else(|| {
            self.waiter.register(self.slot.waiters(), cx.waker());
            // Re-checked after the registration's fence (registry module docs).
            self.check()
        });
        match ready {
            Some(ready) => {
                self.waiter.leave(self.slot.waiters());
                Poll::Ready(ready)
            }
            None => Poll::Pending,
        }
    }

    /// `Some` when `poll_recv` is ready: a new generation, or the end of the stream.
    fn check(&mut self) -> Option<Option<()>> {
        let generation = self.slot.generation();
        if generation != self.seen {
            self.seen = generation;
            return Some(Some(()));
        }
        self.registry.stopped().then_some(None)
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        // Deliveries wake every waiter: nothing to pass on.
        self.waiter.leave(self.slot.waiters());
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}
