//! Graceful shutdown: the state `Runtime::shutdown_timeout` moves through, and the
//! [`ShutdownSignal`] tasks await to learn that it began.
//!
//! `shutdown_timeout` sets `closing` (new `spawn`s are refused from then on: their handles
//! report cancellation), wakes every `ShutdownSignal`, then waits for the workers' live
//! task counts to reach zero or for its deadline, whichever comes first. Each worker that
//! finishes a task while `closing` is set wakes the waiting thread through `drained`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::context;
use crate::loom::sync::atomic::{fence, AtomicBool, Ordering};
use crate::sync::atomic_waker::AtomicWaker;
use crate::sync::wait_set::{WaitSet, Waiter};

/// Shared by the runtime's handle and every [`ShutdownSignal`].
pub(crate) struct ShutdownState {
    closing: AtomicBool,
    signals: WaitSet,
    /// The thread in `shutdown_timeout`, woken when a task finishes while closing.
    drained: AtomicWaker,
}

impl ShutdownState {
    pub(crate) fn new() -> ShutdownState {
        ShutdownState {
            closing: AtomicBool::new(false),
            signals: WaitSet::new(),
            drained: AtomicWaker::new(),
        }
    }

    /// Whether a graceful shutdown began.
    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    /// Begins the shutdown: refuses new tasks and wakes every signal.
    pub(crate) fn begin(&self) {
        self.closing.store(true, Ordering::Release);
        // The notifier's half of the wait-set handshake.
        fence(Ordering::SeqCst);
        self.signals.notify_all();
    }

    /// A task finished on some worker: the waiting thread counts again.
    pub(crate) fn task_done(&self) {
        if self.is_closing() {
            if let Some(w) = self.drained.take() {
                w.wake();
            }
        }
    }

    /// Waits until `live()` is zero (polled after every task that finishes while closing).
    pub(crate) async fn drained(&self, live: impl Fn() -> usize) {
        std::future::poll_fn(|cx| {
            self.drained.register(cx.waker());
            // Register, then count: a task finishing after the count wakes us.
            fence(Ordering::SeqCst);
            if live() == 0 {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }
}

/// Resolves when the runtime begins a graceful shutdown
/// ([`Runtime::shutdown_timeout`](crate::Runtime::shutdown_timeout)): a server's tasks
/// await it to stop taking new work, finish what they have and return.
///
/// Cloning gives another signal of the same runtime; once triggered, every signal is ready
/// at once and stays ready.
///
/// ```
/// use std::time::Duration;
/// let mut rt = hiver_runtime::Runtime::builder().worker_threads(1).build()?;
/// let task = rt.spawn(async {
///     hiver_runtime::shutdown_signal().await; // returns once the shutdown begins
/// });
/// assert!(rt.shutdown_timeout(Duration::from_secs(5))); // the task finished in time
/// assert!(task.is_finished());
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct ShutdownSignal {
    state: Arc<ShutdownState>,
    waiter: Waiter,
}

impl ShutdownSignal {
    pub(crate) fn new(state: Arc<ShutdownState>) -> ShutdownSignal {
        ShutdownSignal {
            state,
            waiter: Waiter::Idle,
        }
    }

    /// Whether the shutdown began (the future would be ready).
    ///
    /// ```
    /// let rt = hiver_runtime::Runtime::new()?;
    /// assert!(!rt.shutdown_signal().is_triggered());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_triggered(&self) -> bool {
        self.state.is_closing()
    }
}

impl Future for ShutdownSignal {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.state.is_closing() {
            this.waiter.leave(&this.state.signals);
            return Poll::Ready(());
        }
        this.waiter.register(&this.state.signals, cx.waker());
        if this.state.is_closing() {
            this.waiter.leave(&this.state.signals);
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl Clone for ShutdownSignal {
    fn clone(&self) -> Self {
        ShutdownSignal::new(self.state.clone())
    }
}

impl Drop for ShutdownSignal {
    fn drop(&mut self) {
        // Every waiter is woken by `begin`: nothing to pass on.
        self.waiter.leave(&self.state.signals);
    }
}

impl std::fmt::Debug for ShutdownSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShutdownSignal")
            .field("triggered", &self.is_triggered())
            .finish()
    }
}

/// The shutdown signal of the runtime this task runs on (see [`ShutdownSignal`]).
///
/// ```
/// let mut rt = hiver_runtime::Runtime::new()?;
/// rt.block_on(async {
///     let signal = hiver_runtime::shutdown_signal();
///     assert!(!signal.is_triggered());
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Panics
///
/// Outside a runtime (no task or `block_on` on this thread), as `spawn` does.
pub fn shutdown_signal() -> ShutdownSignal {
    match context::with_core(|c| c.handle.shutdown.clone()) {
        Some(state) => ShutdownSignal::new(state),
        None => panic!(
            "hiver_runtime::shutdown_signal must be called from a hiver runtime: inside a task, or inside Runtime::block_on"
        ),
    }
}
