//! The runtime: worker threads (one driver, local queue and inbox each), `block_on` on the
//! calling thread, `spawn`/`spawn_local`/`spawn_on`, and an orderly shutdown on drop.

mod blocking;
mod builder;
pub(crate) mod context;
mod handle;
mod metrics;
mod shutdown;
mod spawn;
mod stall;
pub(crate) mod worker;

use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::pin::pin;
use std::rc::Rc;
use std::sync::mpsc;
use std::task::{Context, Poll, Wake, Waker};

pub use blocking::spawn_blocking;
pub use builder::{Builder, RuntimeConfig};
pub use handle::Handle;
pub use metrics::{RuntimeMetrics, WorkerMetrics};
pub use shutdown::{shutdown_signal, ShutdownSignal};
pub use spawn::{spawn, spawn_local, spawn_on};

use crate::driver::{Capabilities, Driver, DriverType};
use crate::loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use crate::task::JoinHandle;
use std::sync::Arc;
use worker::{Core, Shared};

/// What every worker and the calling thread share.
pub(crate) struct Inner {
    /// The placement targets: the worker threads (never the `block_on` caller).
    pub(crate) workers: Vec<Arc<Shared>>,
    pub(crate) config: RuntimeConfig,
    pub(crate) driver: DriverType,
    pub(crate) capabilities: Capabilities,
    pub(crate) blocking: Arc<blocking::Pool>,
    pub(crate) clock: crate::time::clock::Clock,
    pub(crate) shutdown: Arc<shutdown::ShutdownState>,
    next_id: AtomicU64,
}

impl Inner {
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }
}

/// A hiver runtime: worker threads, each with its own I/O driver, run queue and inbox.
///
/// `block_on` drives a future on the calling thread, which gets its own driver and queue
/// for `spawn_local` tasks; `spawn`ed tasks run on the workers and keep running after
/// `block_on` returns. Dropping the runtime stops the workers, drops every pending task on
/// the thread that owns it, joins the threads, and waits for the blocking-pool jobs in
/// progress to end (as tokio's drop does; [`shutdown_timeout`](Runtime::shutdown_timeout)
/// bounds every wait).
///
/// The runtime is not `Send`: the calling thread's `spawn_local` tasks live in it.
///
/// # Blocking a worker
///
/// A task that blocks its thread (a blocking call, a long computation) holds up every other
/// task, timer and I/O of its worker. With a `tracing` subscriber recording DEBUG events of
/// target `hiver_runtime::stall` when the runtime is built, a watchdog thread reports a
/// worker that has spent more than 100 ms in one poll ("worker stalled", with `worker`
/// and `stalled_ms`), and again when the poll returns ("worker stall ended"). A task that
/// loops with `yield_now().await` does not stall its worker.
///
/// # `fork` and descriptors
///
/// A child process made by `fork` must not use a runtime it inherited: its worker threads
/// do not exist in the child, and its io_uring rings are not even mapped there (the ring
/// mappings are `MADV_DONTFORK`, so the child cannot disturb the parent's rings). The child
/// may build a fresh `Runtime` (or `exec`); the parent's runtime carries on unaffected.
/// Every descriptor the runtime opens is close-on-exec.
///
/// A descriptor the runtime owns (a socket's) must not be closed behind its back, as with
/// any `OwnedFd`. If it is, operations started afterwards fail with `EBADF` (no undefined
/// behaviour, no hang) as long as the number is not reused; one already in flight is not
/// woken by the close (io_uring holds its own reference to the socket until the operation
/// completes; epoll silently forgets the registration; on io_uring a listener's multishot
/// accept is such an operation, so the socket goes on listening); and dropping the owner
/// closes the number again, which by then may name another file (if nothing does, std's
/// `OwnedFd` check aborts debug builds on the epoll driver).
///
/// ```
/// use hiver_runtime::Runtime;
/// let mut runtime = Runtime::new()?;
/// runtime.block_on(async {
///     println!("Hello from Hiver runtime!");
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Runtime {
    handle: Arc<Inner>,
    threads: Vec<std::thread::JoinHandle<()>>,
    caller: Option<Rc<Core>>,
    caller_shared: Arc<Shared>,
    _watchdog: Option<stall::Watchdog>,
    _not_send: PhantomData<*const ()>,
}

impl Runtime {
    /// A runtime with the default settings: one worker per available core, the best
    /// driver this platform offers.
    ///
    /// ```
    /// let mut rt = hiver_runtime::Runtime::new()?;
    /// assert!(rt.worker_threads() >= 1);
    /// assert_eq!(rt.block_on(async { 1 + 1 })?, 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Builder::build`].
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// A builder with every option of the guide.
    ///
    /// ```
    /// let rt = hiver_runtime::Runtime::builder().worker_threads(2).build()?;
    /// assert_eq!(rt.worker_threads(), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn start(config: RuntimeConfig) -> io::Result<Runtime> {
        let n = config.workers();
        let workers: Vec<Arc<Shared>> = (0..n).map(|i| Arc::new(Shared::new(i))).collect();
        let (tx, rx) = mpsc::channel::<(usize, io::Result<Capabilities>)>();
        let mut threads = Vec::with_capacity(n);
        let mut go = Vec::with_capacity(n);
        for (i, shared) in workers.iter().enumerate() {
            let (go_tx, go_rx) = mpsc::channel::<Arc<Inner>>();
            let (shared, tx, cfg) = (shared.clone(), tx.clone(), config.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("{}-{i}", config.thread_name))
                .spawn(move || worker_main(shared, cfg, tx, go_rx));
            match spawned {
                Ok(t) => {
                    threads.push(t);
                    go.push(go_tx);
                }
                Err(e) => {
                    drop(go);
                    join_all(threads);
                    return Err(io::Error::new(
                        e.kind(),
                        format!("failed to start worker thread {i}: {e}"),
                    ));
                }
            }
        }
        drop(tx);
        let mut caps = None;
        let mut failure = None;
        for _ in 0..n {
            match rx.recv() {
                Ok((_, Ok(c))) => caps = caps.or(Some(c)),
                Ok((i, Err(e))) => {
                    failure = failure.or(Some(io::Error::new(e.kind(), format!("worker {i}: {e}"))))
                }
                Err(_) => {
                    failure = failure.or(Some(io::Error::other(
                        "a worker thread exited during start-up",
                    )))
                }
            }
        }
        if let Some(e) = failure {
            // Dropping the go senders tells the workers that started to exit.
            drop(go);
            join_all(threads);
            return Err(e);
        }
        let capabilities =
            caps.unwrap_or_else(|| Capabilities::readiness(config.driver_type, None));
        let driver = capabilities.driver;
        let blocking = Arc::new(blocking::Pool::new(
            config.max_blocking_threads,
            config.blocking_keep_alive,
            &config.thread_name,
        ));
        let handle = Arc::new(Inner {
            workers,
            config,
            driver,
            capabilities,
            blocking,
            clock: crate::time::clock::Clock::new(),
            shutdown: Arc::new(shutdown::ShutdownState::new()),
            next_id: AtomicU64::new(1),
        });
        for g in go {
            // A worker that is gone already reported its failure above.
            let _ = g.send(handle.clone());
        }
        tracing::debug!(
            driver = %driver,
            workers = n,
            setup_flags = format_args!("{:#x}", handle.capabilities.setup_flags),
            features = format_args!("{:#x}", handle.capabilities.features),
            sq_entries = handle.capabilities.sq_entries,
            fallback = handle.capabilities.fallback.as_deref().unwrap_or("none"),
            "hiver runtime built"
        );
        let watchdog = stall::Watchdog::start(handle.workers.clone(), &handle.config.thread_name);
        Ok(Runtime {
            _watchdog: watchdog,
            caller_shared: Arc::new(Shared::new(usize::MAX)),
            handle,
            threads,
            caller: None,
            _not_send: PhantomData,
        })
    }

    /// The driver the workers run (after `Auto` resolved it).
    ///
    /// ```
    /// use hiver_runtime::{DriverType, Runtime};
    /// let rt = Runtime::builder().worker_threads(1).driver_type(DriverType::Auto).build()?;
    /// assert_ne!(rt.driver_type(), DriverType::Auto);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn driver_type(&self) -> DriverType {
        self.handle.driver
    }

    /// What the kernel offered and the runtime chose: driver, io_uring setup flags and
    /// features, ring sizes, and why `Auto` fell back, if it did.
    ///
    /// ```
    /// use hiver_runtime::{DriverType, Runtime};
    /// let rt = Runtime::builder().worker_threads(1).build()?;
    /// let caps = rt.capabilities();
    /// assert_eq!(caps.driver, rt.driver_type());
    /// if caps.driver == DriverType::IOUring {
    ///     assert!(caps.sq_entries.is_power_of_two());
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn capabilities(&self) -> Capabilities {
        self.handle.capabilities.clone()
    }

    /// Number of worker threads.
    ///
    /// ```
    /// let rt = hiver_runtime::Runtime::builder().worker_threads(3).build()?;
    /// assert_eq!(rt.worker_threads(), 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn worker_threads(&self) -> usize {
        self.handle.workers.len()
    }

    /// The workers' counters, and the blocking pool's threads.
    ///
    /// ```
    /// let rt = hiver_runtime::Runtime::builder().worker_threads(2).build()?;
    /// let m = rt.metrics();
    /// assert_eq!(m.workers().len(), rt.worker_threads());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics {
            blocking_threads: self.handle.blocking.threads(),
            workers: self
                .handle
                .workers
                .iter()
                .map(|w| w.counters.snapshot())
                .collect(),
        }
    }

    /// A [`Handle`] to this runtime's workers, which other threads may hold and spawn
    /// through.
    ///
    /// ```
    /// let rt = hiver_runtime::Runtime::builder().worker_threads(2).build()?;
    /// let handle = rt.handle();
    /// assert_eq!(handle.worker_threads(), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn handle(&self) -> Handle {
        Handle::new(self.handle.clone())
    }

    /// Spawns a task on the workers from outside the runtime's threads.
    ///
    /// ```
    /// let mut rt = hiver_runtime::Runtime::builder().worker_threads(1).build().unwrap();
    /// let h = rt.spawn(async { 7 });
    /// assert_eq!(rt.block_on(h).unwrap().unwrap(), 7);
    /// ```
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn::spawn_with(&self.handle, None, future)
    }

    /// A signal that resolves when [`shutdown_timeout`](Self::shutdown_timeout) begins (see
    /// [`ShutdownSignal`]); tasks inside the runtime can also call
    /// [`shutdown_signal()`](crate::shutdown_signal).
    ///
    /// ```
    /// let rt = hiver_runtime::Runtime::new()?;
    /// let signal = rt.shutdown_signal();
    /// assert!(!signal.is_triggered());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown_signal(&self) -> ShutdownSignal {
        ShutdownSignal::new(self.handle.shutdown.clone())
    }

    /// Shuts the runtime down gracefully: refuses new tasks from now on (a `spawn` returns
    /// a handle that reports cancellation), triggers every [`ShutdownSignal`], lets the
    /// running tasks (and this thread's `spawn_local` tasks, driven here meanwhile) finish
    /// until `timeout` has passed, then drops the runtime, which cancels whatever is left
    /// (their destructors run) and joins the workers. Blocking-pool jobs in progress are
    /// waited for until the same deadline (a plain drop waits for them however long they
    /// take). Returns `true` if every task finished in time.
    ///
    /// Called from inside a runtime (where this thread cannot wait), it skips the wait.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hiver_runtime::{shutdown_signal, spawn, Runtime};
    /// let mut rt = Runtime::builder().worker_threads(2).build()?;
    /// rt.block_on(async {
    ///     // A connection's task: serves until asked to stop, then finishes its work.
    ///     spawn(async {
    ///         shutdown_signal().await;
    ///         hiver_runtime::sleep(Duration::from_millis(10)).await; // the last request
    ///     });
    /// })?;
    /// assert!(rt.shutdown_timeout(Duration::from_secs(10)));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown_timeout(mut self, timeout: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let state = self.handle.shutdown.clone();
        state.begin();
        tracing::debug!(?timeout, "hiver runtime draining");
        let workers: Vec<Arc<Shared>> = self.handle.workers.clone();
        let caller = self.caller_shared.clone();
        let live = move || {
            workers
                .iter()
                .chain(std::iter::once(&caller))
                .map(|w| w.load.load(Ordering::Acquire))
                .sum::<usize>()
        };
        let drained = self
            .block_on(async {
                crate::time::timeout(timeout, state.drained(live))
                    .await
                    .is_ok()
            })
            .unwrap_or(false);
        if !drained {
            tracing::debug!("hiver runtime: tasks left at the shutdown deadline are cancelled");
        }
        // Blocking jobs get what is left of the deadline; the drop below then does not wait
        // for them again.
        self.handle.blocking.close();
        self.handle.blocking.wait(Some(deadline));
        drop(self);
        drained
    }

    fn caller_core(&mut self) -> io::Result<Rc<Core>> {
        if let Some(core) = &self.caller {
            return Ok(core.clone());
        }
        let driver = Driver::new(self.handle.driver, &self.handle.config.driver_io)?;
        let _ = self.caller_shared.unparker.set(driver.unparker());
        let core = Core::new(self.caller_shared.clone(), self.handle.clone(), driver);
        self.caller = Some(core.clone());
        Ok(core)
    }

    /// Runs `future` to completion on the calling thread, running its `spawn_local` tasks
    /// alongside; `spawn`ed tasks run on the workers.
    ///
    /// ```
    /// use hiver_runtime::{spawn_local, Runtime};
    /// let mut rt = Runtime::builder().worker_threads(1).build()?;
    /// let n = rt.block_on(async {
    ///     let local = std::rc::Rc::new(20); // not Send: runs on this thread
    ///     spawn_local(async move { *local + 1 }).await.unwrap()
    /// })?;
    /// assert_eq!(n, 21);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// An error (never a panic) when called from inside a runtime (a nested `block_on`,
    /// or from a worker thread), or when the calling thread's driver cannot start.
    pub fn block_on<F: Future>(&mut self, future: F) -> io::Result<F::Output> {
        if context::is_entered() {
            return Err(io::Error::other(
                "block_on called from inside a hiver runtime (nested block_on is not allowed; use spawn and .await)",
            ));
        }
        let core = self.caller_core()?;
        let _guard = context::enter(&core)
            .ok_or_else(|| io::Error::other("block_on: runtime context already set"))?;
        let root = Arc::new(RootWaker {
            woken: AtomicBool::new(true),
            shared: self.caller_shared.clone(),
        });
        let waker = Waker::from(root.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        loop {
            core.shared.park.reset();
            core.fire_timers();
            if root.woken.swap(false, Ordering::AcqRel) {
                if let Poll::Ready(out) =
                    crate::task::coop::budgeted(|| future.as_mut().poll(&mut cx))
                {
                    // Hand the kernel what the last polls queued (closes of sockets
                    // dropped on the way out among it): nothing runs this driver until
                    // the next block_on.
                    core.flush_driver();
                    return Ok(out);
                }
            }
            let ran = core.run_ready();
            if ran || root.woken.load(Ordering::Acquire) || core.has_ready() {
                core.turn_driver();
                continue;
            }
            // A paused clock with nothing else to do here jumps to the next timer.
            if self.handle.clock.is_paused() {
                if let Some(next) = core.next_timer() {
                    self.handle.clock.advance_to(next);
                    continue;
                }
            }
            core.park();
        }
    }
}

struct RootWaker {
    woken: AtomicBool,
    shared: Arc<Shared>,
}

impl Wake for RootWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.shared.notify();
    }
}

fn worker_main(
    shared: Arc<Shared>,
    cfg: RuntimeConfig,
    tx: mpsc::Sender<(usize, io::Result<Capabilities>)>,
    go: mpsc::Receiver<Arc<Inner>>,
) {
    let i = shared.index;
    if let Some(first) = cfg.driver_io.cpu_affinity {
        pin_to_core(first, i);
    }
    let driver = match Driver::new(cfg.driver_type, &cfg.driver_io) {
        Ok(d) => d,
        Err(e) => {
            let _ = tx.send((i, Err(e)));
            return;
        }
    };
    let _ = shared.unparker.set(driver.unparker());
    let _ = tx.send((i, Ok(driver.capabilities())));
    drop(tx);
    // No handle: start-up failed on another worker.
    let Ok(handle) = go.recv() else { return };
    drop(go);
    tracing::debug!(worker = i, driver = %driver.kind(), "worker started");
    let core = Core::new(shared, handle, driver);
    if let Some(_guard) = context::enter(&core) {
        core.run();
        core.shutdown();
    }
    tracing::debug!(worker = i, "worker stopped");
}

fn join_all(threads: Vec<std::thread::JoinHandle<()>>) {
    for t in threads {
        if t.join().is_err() {
            tracing::error!("a worker thread panicked");
        }
    }
}

#[cfg(target_os = "linux")]
fn pin_to_core(first: usize, index: usize) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let core = (first + index) % cores;
    let mut set = rustix::thread::CpuSet::new();
    set.set(core);
    if let Err(e) = rustix::thread::sched_setaffinity(None, &set) {
        tracing::warn!(worker = index, core, error = %e, "could not pin worker to its core");
    }
}

#[cfg(not(target_os = "linux"))]
fn pin_to_core(_first: usize, index: usize) {
    tracing::warn!(
        worker = index,
        "cpu_affinity is not supported on this platform"
    );
}

impl Drop for Runtime {
    fn drop(&mut self) {
        tracing::debug!("hiver runtime shutting down");
        self.handle.blocking.close();
        for w in &self.handle.workers {
            w.stop();
        }
        join_all(std::mem::take(&mut self.threads));
        if let Some(core) = self.caller.take() {
            if let Some(_guard) = context::enter(&core) {
                core.shutdown();
            }
        }
        // Then the blocking jobs in progress (as tokio's drop does; `shutdown_timeout`
        // bounds this wait): when drop returns, none holds anything of the runtime's.
        self.handle.blocking.wait(None);
        tracing::debug!("hiver runtime shut down");
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.handle.workers.len())
            .field("driver", &self.handle.driver)
            .finish_non_exhaustive()
    }
}
