//! `JoinHandle` and `JoinError`.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::raw::RawJoin;

/// An owned permission to wait for a spawned task's output.
///
/// `JoinHandle` is itself a future of `Result<T, JoinError>`, and [`wait`](Self::wait)
/// returns the same. Dropping it detaches the task, which keeps running; its output is
/// then dropped on its worker.
///
/// ```
/// use hiver_runtime::{spawn, Runtime};
/// let mut rt = Runtime::new().unwrap();
/// let out = rt.block_on(async { spawn(async { 40 + 2 }).wait().await.unwrap() }).unwrap();
/// assert_eq!(out, 42);
/// ```
pub struct JoinHandle<T> {
    raw: RawJoin<T>,
}

// SAFETY: the handle only moves the output out (T: Send) and touches the task through its
// atomic state; the future itself never moves with the handle.
#[allow(unsafe_code)]
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` only exposes `abort` and `is_finished`, both atomic operations.
#[allow(unsafe_code)]
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    pub(crate) fn new(raw: RawJoin<T>) -> JoinHandle<T> {
        JoinHandle { raw }
    }

    /// Waits for the task: its output, or why there is none (panic, abort, shutdown).
    ///
    /// ```
    /// # let mut rt = hiver_runtime::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let r = hiver_runtime::spawn(async { "done" }).wait().await;
    /// assert_eq!(r.unwrap(), "done");
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`JoinError`] when the task panicked or was cancelled.
    pub async fn wait(self) -> Result<T, JoinError> {
        self.await
    }

    /// Cancels the task: its future is dropped on its worker at the next opportunity, and
    /// the handle then yields a [`JoinError`] for which `is_cancelled()` is true. Does
    /// nothing if the task already finished.
    ///
    /// ```
    /// # let mut rt = hiver_runtime::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let h = hiver_runtime::spawn(std::future::pending::<()>());
    /// h.abort();
    /// assert!(h.await.unwrap_err().is_cancelled());
    /// # }).unwrap();
    /// ```
    pub fn abort(&self) {
        self.raw.abort();
    }

    /// Whether the task has finished (completed, panicked or been cancelled).
    ///
    /// ```
    /// # hiver_runtime::Runtime::builder().worker_threads(1).build()?.block_on(async {
    /// let idle = hiver_runtime::spawn(std::future::pending::<()>());
    /// assert!(!idle.is_finished());
    /// let h = hiver_runtime::spawn(async { 1 });
    /// while !h.is_finished() {
    ///     hiver_runtime::yield_now().await;
    /// }
    /// assert_eq!(h.await.unwrap(), 1);
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_finished(&self) -> bool {
        self.raw.header().state.load().has(super::state::COMPLETE)
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.raw.poll_output(cx.waker())
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("task", &self.raw.header().id)
            .finish()
    }
}

enum Repr {
    Cancelled,
    Panic(Box<dyn Any + Send + 'static>),
}

/// Why a task produced no output: it panicked, or it was cancelled (aborted, or dropped
/// at runtime shutdown).
///
/// ```
/// # hiver_runtime::Runtime::builder().worker_threads(1).build()?.block_on(async {
/// let err = hiver_runtime::spawn(async { panic!("boom") }).await.unwrap_err();
/// assert!(err.is_panic());
/// assert_eq!(err.to_string(), "task panicked with message \"boom\"");
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct JoinError {
    repr: Repr,
}

impl JoinError {
    pub(crate) fn cancelled() -> JoinError {
        JoinError {
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            repr: Repr::Panic(payload),
        }
    }

    /// Whether the task was cancelled.
    ///
    /// ```
    /// # hiver_runtime::Runtime::builder().worker_threads(1).build()?.block_on(async {
    /// let h = hiver_runtime::spawn(std::future::pending::<()>());
    /// h.abort();
    /// assert!(h.await.unwrap_err().is_cancelled());
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// Whether the task panicked.
    ///
    /// ```
    /// # hiver_runtime::Runtime::builder().worker_threads(1).build()?.block_on(async {
    /// let err = hiver_runtime::spawn(async { panic!("boom") }).await.unwrap_err();
    /// assert!(err.is_panic() && !err.is_cancelled());
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic payload, to resume the panic with `std::panic::resume_unwind`.
    ///
    /// ```
    /// # hiver_runtime::Runtime::builder().worker_threads(1).build()?.block_on(async {
    /// let err = hiver_runtime::spawn(async { std::panic::panic_any(42u32) }).await.unwrap_err();
    /// let payload = err.into_panic();
    /// assert_eq!(payload.downcast_ref::<u32>(), Some(&42));
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Panics
    ///
    /// If the task was cancelled rather than panicking.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("JoinError::into_panic on a cancelled task")
    }

    /// The panic payload, or the error back when the task was cancelled.
    ///
    /// ```
    /// # hiver_runtime::Runtime::builder().worker_threads(1).build()?.block_on(async {
    /// let h = hiver_runtime::spawn(std::future::pending::<()>());
    /// h.abort();
    /// let err = h.await.unwrap_err().try_into_panic().unwrap_err(); // cancelled: no payload
    /// assert!(err.is_cancelled());
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `self` when the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(p) => Ok(p),
            Repr::Cancelled => Err(self),
        }
    }

    fn message(&self) -> Option<&str> {
        match &self.repr {
            Repr::Panic(p) => p
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| p.downcast_ref::<String>().map(String::as_str)),
            Repr::Cancelled => None,
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.repr, self.message()) {
            (Repr::Cancelled, _) => f.write_str("task was cancelled"),
            (Repr::Panic(_), Some(m)) => write!(f, "task panicked with message {m:?}"),
            (Repr::Panic(_), None) => f.write_str("task panicked"),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.repr, self.message()) {
            (Repr::Cancelled, _) => f.write_str("JoinError::Cancelled"),
            (Repr::Panic(_), Some(m)) => write!(f, "JoinError::Panic({m:?})"),
            (Repr::Panic(_), None) => f.write_str("JoinError::Panic(..)"),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(e: JoinError) -> std::io::Error {
        std::io::Error::other(e.to_string())
    }
}
