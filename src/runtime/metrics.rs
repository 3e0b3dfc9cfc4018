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
    /// Times the io_uring completion queue overflowed: each flush of the kernel's backlog
    /// (`IORING_SQ_CQ_OVERFLOW` seen; with `FEAT_NODROP` the kernel keeps the completions
    /// that did not fit and none is lost), plus any completion the kernel dropped (a kernel
    /// without `NODROP`).
    pub cq_overflows: u64,
}

impl Counters {
    /// Adds one to a counter only the owning worker writes: a plain load and store, not a
    /// locked read-modify-write (readers on other threads see some recent value). Returns
    /// the new value.
    #[inline]
    pub(crate) fn bump_owned(counter: &AtomicU64) -> u64 {
        let n = counter.load(Ordering::Relaxed) + 1;
        counter.store(n, Ordering::Relaxed);
        n
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
///
/// ```
/// let mut rt = hiver_runtime::Runtime::builder().worker_threads(2).build()?;
/// let h = rt.spawn(async { 1 });
/// rt.block_on(h)??;
/// let m: hiver_runtime::RuntimeMetrics = rt.metrics();
/// assert_eq!(m.workers().len(), 2);
/// assert!(m.total_polls() >= 1);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuntimeMetrics {
    pub(crate) workers: Vec<WorkerMetrics>,
    pub(crate) blocking_threads: usize,
}

impl RuntimeMetrics {
    /// One entry per worker thread, by index.
    ///
    /// ```
    /// let mut rt = hiver_runtime::Runtime::builder().worker_threads(2).build()?;
    /// let h = rt.spawn(async {});
    /// rt.block_on(h)??;
    /// let m = rt.metrics();
    /// assert_eq!(m.workers().len(), 2);
    /// assert_eq!(m.workers().iter().map(|w| w.spawned).sum::<u64>(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn workers(&self) -> &[WorkerMetrics] {
        &self.workers
    }

    /// Threads of the blocking pool (`spawn_blocking`) alive when the snapshot was taken.
    ///
    /// ```
    /// let mut rt = hiver_runtime::Runtime::builder().worker_threads(1).build()?;
    /// assert_eq!(rt.metrics().blocking_threads(), 0);
    /// rt.block_on(async { hiver_runtime::spawn_blocking(|| ()).await })??;
    /// assert_eq!(rt.metrics().blocking_threads(), 1); // idle, kept alive for reuse
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn blocking_threads(&self) -> usize {
        self.blocking_threads
    }

    /// Polls summed over the workers.
    ///
    /// ```
    /// let mut rt = hiver_runtime::Runtime::builder().worker_threads(2).build()?;
    /// let h = rt.spawn(async { hiver_runtime::yield_now().await });
    /// rt.block_on(h)??;
    /// let m = rt.metrics();
    /// assert!(m.total_polls() >= 2); // the task yielded once
    /// assert_eq!(m.total_polls(), m.workers().iter().map(|w| w.polls).sum::<u64>());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn total_polls(&self) -> u64 {
        self.workers.iter().map(|w| w.polls).sum()
    }

    /// Test support, not a stable API: io_uring operation completions with `-EFAULT`
    /// (the kernel met an unmapped or protected address the operation named), counted over
    /// every runtime of the process since it started, whether or not this snapshot's. The
    /// driver only names memory it keeps until the final CQE, so this stays 0; a test
    /// allocator that protects freed memory makes any late kernel write show up here.
    #[doc(hidden)]
    pub fn io_efault_completions() -> u64 {
        #[cfg(target_os = "linux")]
        {
            crate::driver::uring::EFAULT_COMPLETIONS.load(std::sync::atomic::Ordering::Relaxed)
        }
        #[cfg(not(target_os = "linux"))]
        {
            0
        }
    }
}

/// How a row of the table folds its workers' values into the last column.
#[derive(Clone, Copy)]
enum Fold {
    Sum,
    Max,
}

/// A row of the table: its name, the value it shows, how the total folds.
type Row = (&'static str, fn(&WorkerMetrics) -> u64, Fold);

/// The rows of the table, in the order of [`WorkerMetrics`]' fields.
const ROWS: &[Row] = &[
    ("spawned", |w| w.spawned, Fold::Sum),
    ("polls", |w| w.polls, Fold::Sum),
    ("parks", |w| w.parks, Fold::Sum),
    ("unparks", |w| w.unparks, Fold::Sum),
    ("remote schedules", |w| w.remote_schedules, Fold::Sum),
    ("local schedules", |w| w.local_schedules, Fold::Sum),
    ("local overflows", |w| w.local_overflows, Fold::Sum),
    ("kernel entries", |w| w.kernel_entries, Fold::Sum),
    ("timers", |w| w.timers, Fold::Sum),
    ("io submitted", |w| w.io_submitted, Fold::Sum),
    ("io completed", |w| w.io_completed, Fold::Sum),
    ("io in flight", |w| w.io_in_flight, Fold::Sum),
    ("io cancels", |w| w.io_cancels, Fold::Sum),
    ("io cancels done", |w| w.io_cancels_done, Fold::Sum),
    ("io cancels late", |w| w.io_cancels_late, Fold::Sum),
    ("io max batch", |w| w.io_max_batch, Fold::Max),
    ("buffers starved", |w| w.buf_starved, Fold::Sum),
    ("cq overflows", |w| w.cq_overflows, Fold::Sum),
];

/// A table of the counters, one column per worker and a total (the deepest batch's
/// column is a maximum, not a sum), then the blocking pool's threads.
///
/// ```
/// let rt = hiver_runtime::Runtime::builder().worker_threads(2).build()?;
/// let table = rt.metrics().to_string();
/// assert!(table.starts_with("counter"));
/// assert!(table.contains("worker 1"));
/// assert!(table.lines().any(|l| l.starts_with("polls")));
/// println!("{table}");
/// # Ok::<(), std::io::Error>(())
/// ```
impl std::fmt::Display for RuntimeMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const NAME: usize = 18;
        let width = ROWS
            .iter()
            .flat_map(|(_, get, _)| self.workers.iter().map(get))
            .map(|v| v.to_string().len())
            .max()
            .unwrap_or(1)
            .max("worker 99".len());
        write!(f, "{:<NAME$}", "counter")?;
        for i in 0..self.workers.len() {
            write!(f, " {:>width$}", format!("worker {i}"))?;
        }
        writeln!(f, " {:>width$}", "total")?;
        for (name, get, fold) in ROWS {
            write!(f, "{name:<NAME$}")?;
            for w in &self.workers {
                write!(f, " {:>width$}", get(w))?;
            }
            let values = self.workers.iter().map(get);
            let total = match fold {
                Fold::Sum => values.sum::<u64>(),
                Fold::Max => values.max().unwrap_or(0),
            };
            writeln!(f, " {total:>width$}")?;
        }
        write!(f, "{:<NAME$} {}", "blocking threads", self.blocking_threads)
    }
}

#[cfg(test)]
mod tests {
    use super::{RuntimeMetrics, WorkerMetrics};

    #[test]
    fn the_table_has_a_column_per_worker_and_totals() {
        let m = RuntimeMetrics {
            workers: vec![
                WorkerMetrics {
                    polls: 5,
                    io_max_batch: 7,
                    ..Default::default()
                },
                WorkerMetrics {
                    polls: 1234567,
                    io_max_batch: 3,
                    ..Default::default()
                },
            ],
            blocking_threads: 4,
        };
        let text = m.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2 + super::ROWS.len(), "{text}");
        let cols = |l: &str| l.split_whitespace().map(String::from).collect::<Vec<_>>();
        let polls = lines.iter().find(|l| l.starts_with("polls")).unwrap();
        assert_eq!(cols(polls)[1..], ["5", "1234567", "1234572"]);
        let batch = lines
            .iter()
            .find(|l| l.starts_with("io max batch"))
            .unwrap();
        assert_eq!(cols(batch)[3..], ["7", "3", "7"]);
        assert_eq!(*lines.last().unwrap(), "blocking threads   4");
        // Columns line up: every row is as long as the header.
        let header = lines[0].len();
        assert!(
            lines[1..lines.len() - 1].iter().all(|l| l.len() == header),
            "{text}"
        );
    }
}
