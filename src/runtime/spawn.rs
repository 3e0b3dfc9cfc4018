//! `spawn`, `spawn_local`, `spawn_on`: create a task and hand it to a worker.

use std::future::Future;
use std::io;
use std::rc::Rc;
use std::sync::Arc;

use super::context;
use super::worker::{Core, Shared};
use super::Inner;
use crate::loom::sync::atomic::Ordering;
use crate::sched::placement;
use crate::task::{self, JoinHandle};

const OUTSIDE: &str =
    "must be called from a hiver runtime: inside a task, or inside Runtime::block_on";

/// Spawns a `Send` task on the runtime's workers (the least loaded of two picked at random,
/// the current worker on a tie; a worker seen inside one poll for 10 ms or more, a task
/// blocking its thread, is passed over while another is free). It starts at once and keeps
/// running if its handle is dropped; it never moves to another worker once started.
///
/// ```
/// use hiver_runtime::{spawn, Runtime};
/// let mut rt = Runtime::new().unwrap();
/// rt.block_on(async {
///     let handle = spawn(async { 42 });
///     assert_eq!(handle.wait().await.unwrap(), 42);
/// }).unwrap();
/// ```
///
/// # Panics
///
/// Outside a runtime (no task or `block_on` on this thread), as tokio's does.
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let Some(core) = context::current() else {
        panic!("hiver_runtime::spawn {OUTSIDE}");
    };
    let handle = core.handle.clone();
    spawn_with(&handle, Some(&core), future)
}

/// Spawns a `!Send` task on the current thread's worker (or on the `block_on` thread,
/// where it runs while `block_on` does, and is dropped with the runtime).
///
/// ```
/// use std::rc::Rc;
/// let mut rt = hiver_runtime::Runtime::new().unwrap();
/// let n = rt.block_on(async {
///     let shared = Rc::new(5);
///     let s = shared.clone();
///     hiver_runtime::spawn_local(async move { *s + 1 }).await.unwrap()
/// }).unwrap();
/// assert_eq!(n, 6);
/// ```
///
/// # Panics
///
/// Outside a runtime.
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let Some(core) = context::current() else {
        panic!("hiver_runtime::spawn_local {OUTSIDE}");
    };
    let shared = core.shared.clone();
    place(&shared, Some(&core), &core.handle, future)
}

/// Spawns a `Send` task on worker `worker` (0-based).
///
/// ```
/// let mut rt = hiver_runtime::Runtime::builder().worker_threads(2).build().unwrap();
/// rt.block_on(async {
///     let h = hiver_runtime::spawn_on(1, async { std::thread::current().name().map(String::from) }).unwrap();
///     assert_eq!(h.await.unwrap().as_deref(), Some("hiver-worker-1"));
/// }).unwrap();
/// ```
///
/// # Errors
///
/// `InvalidInput` when the runtime has no such worker.
///
/// # Panics
///
/// Outside a runtime.
pub fn spawn_on<F>(worker: usize, future: F) -> io::Result<JoinHandle<F::Output>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let Some(core) = context::current() else {
        panic!("hiver_runtime::spawn_on {OUTSIDE}");
    };
    let handle = core.handle.clone();
    spawn_on_with(&handle, Some(&core), worker, future)
}

/// `spawn_on` for `handle`'s runtime, from `core`'s thread (`None`: a foreign thread).
pub(crate) fn spawn_on_with<F>(
    handle: &Arc<Inner>,
    core: Option<&Rc<Core>>,
    worker: usize,
    future: F,
) -> io::Result<JoinHandle<F::Output>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let Some(shared) = handle.workers.get(worker) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "spawn_on: no worker {worker} (the runtime has {})",
                handle.workers.len()
            ),
        ));
    };
    Ok(place(shared, core, handle, future))
}

pub(crate) fn spawn_with<F>(
    handle: &Arc<Inner>,
    core: Option<&Rc<Core>>,
    future: F,
) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let workers = &handle.workers;
    let current = core.map(|c| c.shared.index).filter(|&i| i < workers.len());
    // Relaxed: a heuristic; a stale count only makes a slightly worse choice.
    let load = |i: usize| workers[i].load.load(Ordering::Relaxed);
    let mut w = placement::pick_by(workers.len(), load, current);
    // A worker stuck inside one poll (a task that blocks its thread) would not start the
    // task until that poll returns: the least loaded of the others takes it instead. The
    // spawning worker is never stuck (it is running this code).
    if Some(w) != current && workers[w].heartbeat.is_stuck() {
        if let Some(other) = (0..workers.len())
            .filter(|&i| i != w && (Some(i) == current || !workers[i].heartbeat.is_stuck()))
            .min_by_key(|&i| load(i))
        {
            w = other;
        }
    }
    place(&workers[w], core, handle, future)
}

fn place<F>(
    shared: &Arc<Shared>,
    core: Option<&Rc<Core>>,
    handle: &Inner,
    future: F,
) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    let id = handle.next_id();
    #[cfg(feature = "task-spans")]
    let future = tracing::Instrument::instrument(
        future,
        tracing::trace_span!("task", id, worker = shared.index),
    );
    let (notified, join) = task::allocate(future, shared.clone(), id);
    if handle.shutdown.is_closing() {
        // A graceful shutdown refuses new tasks: dropping the never-run task cancels it,
        // and its handle reports that.
        tracing::trace!(task = id, "spawn refused: the runtime is shutting down");
        drop(notified);
        return join;
    }
    shared.load.fetch_add(1, Ordering::Relaxed);
    shared.counters.spawned.fetch_add(1, Ordering::Relaxed);
    tracing::trace!(task = id, worker = shared.index, "spawn");
    match core {
        Some(c) if Arc::ptr_eq(&c.shared, shared) => c.push_local(notified),
        _ => shared.push_remote(notified),
    }
    join
}
