//! Per-worker counters, plain relaxed atomics cheap enough to leave on.

use crate::loom::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) spawned: AtomicU64,
    pub(crate) polls: AtomicU64,
    pub(crate) parks: AtomicU64,
    pub(crate) unparks: AtomicU64,
    pub(crate) remote_schedules: AtomicU64,
    pub(crate) local_schedules: AtomicU64,
    pub(crate) local_overflows: AtomicU64,
    pub(crate) kernel_entries: AtomicU64,
    pub(crate) timers: AtomicU64,
    pub(crate) io_submitted: AtomicU64,
    pub(crate) io_completed: AtomicU64,
    pub(crate) io_in_flight: AtomicU64,
    pub(crate) io_cancels: AtomicU64,
    pub(crate) io_cancels_done: AtomicU64,
    pub(crate) io_cancels_late: AtomicU64,
    pub(crate) io_max_batch: AtomicU64,
    pub(crate) buf_starved: AtomicU64,
    pub(crate) cq_overflows: AtomicU64,
}

/// A snapshot of one worker's counters.
///
/// ```
/// let rt = hiver_runtime::Runtime::builder().worker_threads(2).build().unwrap();
/// let m = rt.metrics();
/// assert_eq!(m.workers().len(), 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerMetrics {
    /// Tasks placed on this worker.
    pub spawned: u64,
    /// Task polls.
    pub polls: u64,
    /// Times the worker parked in its driver.
    pub parks: u64,
    /// Times another thread woke the parked driver.
    pub unparks: u64,
    /// Tasks queued from other threads (spawns and wake-ups through the inbox).
    pub remote_schedules: u64,
    /// Tasks queued by this worker's own thread (wake-ups from its I/O, timers and tasks).
    pub local_schedules: u64,
    /// Tasks that did not fit the local queue (`queue_size`) and went to its overflow.
    pub local_overflows: u64,
    /// Kernel entries of the driver (`io_uring_enter`, `epoll_wait`, `kevent`).
    pub kernel_entries: u64,
    /// Timers allocated in the worker's wheel (pending, or fired and not yet observed).
    pub timers: u64,
    /// io_uring operations submitted by this worker.
    pub io_submitted: u64,
    /// io_uring completions of those operations.
    pub io_completed: u64,
    /// io_uring operations in flight now (as of the worker's last turn).
    pub io_in_flight: u64,
    /// io_uring cancellations asked for (dropped futures, closed sockets).
    pub io_cancels: u64,
    /// Of those, the ones the kernel carried out (the operation ended `ECANCELED`).
    pub io_cancels_done: u64,
    /// Of those, the ones that came too late (the operation had completed or was running:
    /// its result stands, and is kept for the next call where the API promises it).
    pub io_cancels_late: u64,
    /// The most io_uring completions taken in one batch (how deep the CQ got).
    pub io_max_batch: u64,
    /// Receives that found the provided-buffer ring empty (`ENOBUFS`) and fell back to a
    /// buffer of their own.
    pub buf_starved: u64,
    /// Completions the kernel dropped because the CQ was full (with `FEAT_NODROP` it keeps
    /// them and this stays 0).
    pub cq_overflows: u64,
}

impl Counters {
    /// Adds one to a counter only the owning worker writes: a plain load and store, not a
    /// locked read-modify-write (readers on other threads see some recent value).
    #[inline]
    pub(crate) fn bump_owned(counter: &AtomicU64) {
        counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> WorkerMetrics {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        WorkerMetrics {
            spawned: g(&self.spawned),
            polls: g(&self.polls),
            parks: g(&self.parks),
            unparks: g(&self.unparks),
            remote_schedules: g(&self.remote_schedules),
            local_schedules: g(&self.local_schedules),
            local_overflows: g(&self.local_overflows),
            kernel_entries: g(&self.kernel_entries),
            timers: g(&self.timers),
            io_submitted: g(&self.io_submitted),
            io_completed: g(&self.io_completed),
            io_in_flight: g(&self.io_in_flight),
            io_cancels: g(&self.io_cancels),
            io_cancels_done: g(&self.io_cancels_done),
            io_cancels_late: g(&self.io_cancels_late),
            io_max_batch: g(&self.io_max_batch),
            buf_starved: g(&self.buf_starved),
            cq_overflows: g(&self.cq_overflows),
        }
    }
}

/// A snapshot of every worker's counters, from [`Runtime::metrics`](crate::Runtime::metrics).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuntimeMetrics {
    pub(crate) workers: Vec<WorkerMetrics>,
    pub(crate) blocking_threads: usize,
}

impl RuntimeMetrics {
    /// One entry per worker thread, by index.
    pub fn workers(&self) -> &[WorkerMetrics] {
        &self.workers
    }

    /// Threads of the blocking pool (`spawn_blocking`) alive when the snapshot was taken.
    pub fn blocking_threads(&self) -> usize {
        self.blocking_threads
    }

    /// Polls summed over the workers.
    pub fn total_polls(&self) -> u64 {
        self.workers.iter().map(|w| w.polls).sum()
    }
}
