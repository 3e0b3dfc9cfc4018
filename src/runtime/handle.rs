//! `Handle`: a `Send + Sync` reference to a runtime's workers, for spawning from threads the
//! runtime does not own (a std thread, a callback of a C library, another runtime).

use std::future::Future;
use std::io;
use std::rc::Rc;
use std::sync::Arc;

use super::context;
use super::spawn::{spawn_on_with, spawn_with};
use super::worker::Core;
use super::Inner;
use crate::task::JoinHandle;

/// A handle to a runtime's workers that any thread may hold and use: it is `Send`, `Sync`
/// and cheap to clone, where [`Runtime`](crate::Runtime) itself stays on the thread that
/// built it.
///
/// A spawn through a handle goes to a worker's inbox (one driver wake if that worker is
/// parked), like a spawn from one worker onto another. Once the runtime has begun to shut
/// down ([`shutdown_timeout`](crate::Runtime::shutdown_timeout)) or has been dropped, a
/// spawn is refused without a panic: the future is dropped on the calling thread and the
/// returned [`JoinHandle`] reports a cancellation ([`JoinError::is_cancelled`]).
///
/// ```
/// use hiver_runtime::Runtime;
/// let mut rt = Runtime::builder().worker_threads(2).build()?;
/// let handle = rt.handle();
/// // A thread the runtime knows nothing of hands it work.
/// let job = std::thread::spawn(move || handle.spawn(async { 6 * 7 }))
///     .join()
///     .unwrap();
/// assert_eq!(rt.block_on(job)?.unwrap(), 42);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// [`JoinError::is_cancelled`]: crate::JoinError::is_cancelled
#[derive(Clone)]
pub struct Handle {
    inner: Arc<Inner>,
}

impl Handle {
    pub(super) fn new(inner: Arc<Inner>) -> Handle {
        Handle { inner }
    }

    /// The handle of the runtime running on this thread (inside a task or `block_on`).
    ///
    /// ```
    /// let mut rt = hiver_runtime::Runtime::new()?;
    /// let handle = rt.block_on(async { hiver_runtime::Handle::current() })?;
    /// assert_eq!(handle.worker_threads(), rt.worker_threads());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Panics
    ///
    /// Outside a runtime; [`try_current`](Self::try_current) returns `None` there instead.
    pub fn current() -> Handle {
        Handle::try_current().unwrap_or_else(|| {
            panic!(
                "hiver_runtime::Handle::current must be called from a hiver runtime: inside a task, or inside Runtime::block_on"
            )
        })
    }

    /// The handle of the runtime running on this thread, or `None` outside one.
    ///
    /// ```
    /// assert!(hiver_runtime::Handle::try_current().is_none());
    /// ```
    pub fn try_current() -> Option<Handle> {
        context::with_core(|core| Handle::new(core.handle.clone()))
    }

    /// Spawns a `Send` task on the runtime's workers, placed as [`spawn`](crate::spawn)
    /// places one. Refused (a handle reporting cancellation) once shutdown has begun.
    ///
    /// ```
    /// let mut rt = hiver_runtime::Runtime::builder().worker_threads(1).build()?;
    /// let handle = rt.handle();
    /// let job = handle.spawn(async { "done" });
    /// assert_eq!(rt.block_on(job)?.unwrap(), "done");
    ///
    /// // After the runtime is gone, a spawn is cancelled, never a panic.
    /// drop(rt);
    /// let late = handle.spawn(async { "never runs" });
    /// let mut other = hiver_runtime::Runtime::builder().worker_threads(1).build()?;
    /// assert!(other.block_on(late)?.unwrap_err().is_cancelled());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let core = self.local_core();
        spawn_with(&self.inner, core.as_ref(), future)
    }

    /// Spawns a `Send` task on worker `worker` (0-based), as [`spawn_on`](crate::spawn_on).
    ///
    /// ```
    /// let mut rt = hiver_runtime::Runtime::builder().worker_threads(2).build()?;
    /// let handle = rt.handle();
    /// let name = std::thread::spawn(move || {
    ///     handle.spawn_on(1, async { std::thread::current().name().map(String::from) })
    /// })
    /// .join()
    /// .unwrap()?;
    /// assert_eq!(rt.block_on(name)?.unwrap().as_deref(), Some("hiver-worker-1"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `InvalidInput` when the runtime has no such worker.
    pub fn spawn_on<F>(&self, worker: usize, future: F) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let core = self.local_core();
        spawn_on_with(&self.inner, core.as_ref(), worker, future)
    }

    /// Number of worker threads of the runtime.
    ///
    /// ```
    /// let rt = hiver_runtime::Runtime::builder().worker_threads(3).build()?;
    /// assert_eq!(rt.handle().worker_threads(), 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn worker_threads(&self) -> usize {
        self.inner.workers.len()
    }

    /// This thread's worker, if it is one of this runtime's (a local push, no wake).
    fn local_core(&self) -> Option<Rc<Core>> {
        context::current().filter(|core| Arc::ptr_eq(&core.handle, &self.inner))
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.inner.workers.len())
            .field("driver", &self.inner.driver)
            .finish_non_exhaustive()
    }
}
