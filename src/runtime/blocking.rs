//! The blocking pool: threads apart from the I/O workers for closures that block or
//! compute for long ([`spawn_blocking`]). Threads start on demand up to
//! `max_blocking_threads`, jobs beyond that wait in a FIFO, and a thread idle for
//! `blocking_keep_alive` exits. The pool's queue is behind a mutex: it is not on any path
//! the word lock-free covers (a job costs a thread hand-off anyway).

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::context;
use super::spawn::spawn_with;
use crate::task::JoinHandle;

type Job = Box<dyn FnOnce() + Send>;

/// A runtime's blocking pool.
pub(crate) struct Pool {
    state: Mutex<State>,
    work: Condvar,
    /// Signalled when the last thread exits (shutdown waits on it).
    exited: Condvar,
    max: usize,
    keep_alive: Duration,
    name: String,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
    shutdown: bool,
    /// A bounded shutdown gave up on the busy threads: later shutdowns do not wait.
    detached: bool,
}

impl Pool {
    pub(crate) fn new(max: usize, keep_alive: Duration, name: &str) -> Pool {
        Pool {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            exited: Condvar::new(),
            max,
            keep_alive,
            name: format!("{name}-blocking"),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Jobs run outside the lock: a panic cannot leave the state half-changed.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Threads of the pool now.
    pub(crate) fn threads(&self) -> usize {
        self.lock().threads
    }

    fn submit(self: &Arc<Self>, job: Job) -> std::io::Result<()> {
        let mut st = self.lock();
        if st.shutdown {
            return Err(std::io::Error::other("the runtime is shutting down"));
        }
        st.queue.push_back(job);
        if st.idle > 0 {
            drop(st);
            self.work.notify_one();
            return Ok(());
        }
        if st.threads < self.max {
            st.threads += 1;
            drop(st);
            let pool = self.clone();
            let started = std::thread::Builder::new()
                .name(self.name.clone())
                .spawn(move || pool.run());
            if let Err(e) = started {
                self.lock().threads -= 1;
                tracing::error!(error = %e, "could not start a blocking-pool thread");
            }
        }
        // At the cap: the job waits for a thread to come free.
        Ok(())
    }

    fn run(&self) {
        let mut st = self.lock();
        loop {
            if let Some(job) = st.queue.pop_front() {
                drop(st);
                job();
                st = self.lock();
                continue;
            }
            if st.shutdown {
                break;
            }
            st.idle += 1;
            let (guard, timeout) = self
                .work
                .wait_timeout(st, self.keep_alive)
                .unwrap_or_else(PoisonError::into_inner);
            st = guard;
            st.idle -= 1;
            if timeout.timed_out() && st.queue.is_empty() {
                break;
            }
        }
        st.threads -= 1;
        if st.threads == 0 {
            // Under the lock: a shutdown that counted threads > 0 is waiting, and sees this.
            self.exited.notify_all();
        }
    }

    /// Stops taking jobs (those never started are dropped: their handles report
    /// cancellation) and lets idle threads exit.
    pub(crate) fn close(&self) {
        let jobs = {
            let mut st = self.lock();
            st.shutdown = true;
            std::mem::take(&mut st.queue)
        };
        drop(jobs);
        self.work.notify_all();
    }

    /// After [`close`](Self::close): waits until every thread has exited, a busy one after
    /// its job, or until `deadline`. Once it returns with no thread left, no job holds
    /// anything of the runtime's (its wakers among them).
    pub(crate) fn wait(&self, deadline: Option<std::time::Instant>) {
        let mut st = self.lock();
        while st.threads > 0 && !st.detached {
            st = match deadline {
                None => self.exited.wait(st).unwrap_or_else(PoisonError::into_inner),
                Some(d) => {
                    let left = d.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        st.detached = true;
                        tracing::debug!(
                            busy = st.threads,
                            "blocking-pool jobs still running at the shutdown deadline"
                        );
                        return;
                    }
                    self.exited
                        .wait_timeout(st, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }
}

/// Runs `f` on the runtime's blocking pool, apart from the I/O workers (which it never
/// blocks), and returns a handle to its result. A panic in `f` is reported through the
/// handle as a [`JoinError`](crate::JoinError) whose `is_panic()` is true, as a task's is.
///
/// # Panics
///
/// When called outside a runtime (as [`spawn`](crate::spawn)).
///
/// ```
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// let sum = hiver_runtime::spawn_blocking(|| (1..=100u64).sum::<u64>()).await.unwrap();
/// assert_eq!(sum, 5050);
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let Some(core) = context::current() else {
        panic!(
            "hiver_runtime::spawn_blocking called outside a hiver runtime (no Runtime::block_on or worker on this thread)"
        );
    };
    let handle = core.handle.clone();
    let (tx, rx) = crate::channel::bounded::<std::thread::Result<R>>(1);
    let job: Job = Box::new(move || {
        let out = catch_unwind(AssertUnwindSafe(f));
        // The handle may be gone: nobody wants the result then.
        let _ = tx.try_send(out);
    });
    let submitted = handle.blocking.submit(job);
    spawn_with(&handle, Some(&core), async move {
        if let Err(e) = submitted {
            panic!("spawn_blocking: {e}");
        }
        match rx.recv().await {
            Ok(Ok(v)) => v,
            // The closure panicked: re-raise it in this task, whose handle reports it.
            Ok(Err(payload)) => std::panic::resume_unwind(payload),
            Err(_) => panic!("spawn_blocking: the job was dropped at shutdown"),
        }
    })
}
