//! Stall detection: a watchdog thread per runtime notices a worker that has spent longer
//! than [`THRESHOLD`] inside one poll of one task (a task that blocks its thread: a
//! blocking syscall, `std::thread::sleep`, a long computation, a `loop {}`). No other task,
//! timer or I/O of that worker progresses meanwhile.
//!
//! It reports the stall with a DEBUG `tracing` event of target `hiver_runtime::stall`,
//! "worker stalled" (fields `worker`, `stalled_ms`), once per stall, and "worker stall
//! ended" when that poll returns. The watchdog checks every quarter of the threshold, so a
//! stall is reported once it has lasted the threshold, at the latest about 1.25 times the
//! threshold after it began (plus the watchdog thread's own scheduling delay); `stalled_ms`
//! counts from the first check that saw the poll, a lower bound.
//!
//! The watchdog thread exists only if the events would be recorded when the runtime is
//! built (a subscriber enabled at DEBUG for that target); it then reports to that
//! subscriber. Without one, a worker pays two relaxed stores per poll and nothing else.
//!
//! Placement reads the same heartbeat: a worker seen inside one poll for
//! [`PLACEMENT_THRESHOLD`] gets no new `spawn`ed tasks while another worker is free
//! ([`Heartbeat::is_stuck`]), with or without the watchdog.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::worker::Shared;
use crate::loom::sync::atomic::{AtomicU64, Ordering};

/// How long one poll may run before the worker is reported stalled.
pub(crate) const THRESHOLD: Duration = Duration::from_millis(100);

/// The `tracing` target of the stall events.
const TARGET: &str = "hiver_runtime::stall";

/// How long one poll must have been seen running before placement sends new tasks to the
/// other workers (glommio reports stalls of 10 ms).
pub(crate) const PLACEMENT_THRESHOLD: Duration = Duration::from_millis(10);

/// Which poll a worker is inside: 0 between polls, else the poll's number (its `polls`
/// count, which starts at 1). Written by the worker only; read by the watchdog and by
/// placement, which also records here when it first saw that poll running.
#[derive(Default)]
pub(crate) struct Heartbeat {
    poll: AtomicU64,
    /// The poll a spawner first saw running, and when ([`now_ns`]); written by spawners.
    seen_poll: AtomicU64,
    seen_at: AtomicU64,
}

impl Heartbeat {
    /// A poll numbered `poll` (non-zero) begins.
    #[inline]
    pub(crate) fn begin(&self, poll: u64) {
        // Relaxed: a diagnostic hint; the watchdog only compares numbers over time.
        self.poll.store(poll, Ordering::Relaxed);
    }

    /// The poll returned.
    #[inline]
    pub(crate) fn end(&self) {
        self.poll.store(0, Ordering::Relaxed);
    }

    fn current(&self) -> u64 {
        self.poll.load(Ordering::Relaxed)
    }

    /// Whether the worker has been inside one poll for [`PLACEMENT_THRESHOLD`] or more, as
    /// far as spawners have seen: the first spawner to see a poll running starts its clock,
    /// so a stuck worker is recognised one threshold after the first spawn that looked at
    /// it (no clock is read by the worker itself, which stays at two relaxed stores per
    /// poll). Reads the clock only when the worker is inside a poll.
    pub(crate) fn is_stuck(&self) -> bool {
        let poll = self.current();
        if poll == 0 {
            return false;
        }
        let now = now_ns();
        // Acquire: pairs with the Release below, so `seen_at` is the one stored with
        // `seen_poll` (or a later one), never an older poll's time.
        if self.seen_poll.load(Ordering::Acquire) != poll {
            // First sighting of this poll. Two spawners racing here store nearly the same
            // time; either record serves.
            self.seen_at.store(now, Ordering::Relaxed);
            self.seen_poll.store(poll, Ordering::Release);
            return false;
        }
        now.saturating_sub(self.seen_at.load(Ordering::Relaxed))
            >= PLACEMENT_THRESHOLD.as_nanos() as u64
    }
}

/// Nanoseconds since the first call in this process (a monotonic clock for [`Heartbeat`]).
fn now_ns() -> u64 {
    static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// The watchdog thread of a runtime; dropping it stops and joins the thread.
pub(crate) struct Watchdog {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    /// Starts watching `workers`, if a subscriber records the stall events now.
    pub(crate) fn start(workers: Vec<Arc<Shared>>, thread_name: &str) -> Option<Watchdog> {
        if !tracing::enabled!(target: TARGET, tracing::Level::DEBUG) {
            return None;
        }
        let dispatch = tracing::dispatcher::get_default(|d| d.clone());
        let (stop, stopped) = mpsc::channel::<()>();
        let spawned = std::thread::Builder::new()
            .name(format!("{thread_name}-watchdog"))
            .spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || watch(&workers, &stopped))
            });
        match spawned {
            Ok(thread) => Some(Watchdog {
                stop: Some(stop),
                thread: Some(thread),
            }),
            Err(e) => {
                tracing::warn!(error = %e, "could not start the stall watchdog thread");
                None
            }
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        // A dropped sender ends the watchdog's wait at once.
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What the watchdog last saw of one worker.
struct Seen {
    poll: u64,
    since: Instant,
    reported: bool,
}

fn watch(workers: &[Arc<Shared>], stopped: &mpsc::Receiver<()>) {
    let now = Instant::now();
    let mut seen: Vec<Seen> = workers
        .iter()
        .map(|w| Seen {
            poll: w.heartbeat.current(),
            since: now,
            reported: false,
        })
        .collect();
    loop {
        match stopped.recv_timeout(THRESHOLD / 4) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        let now = Instant::now();
        for (w, s) in workers.iter().zip(seen.iter_mut()) {
            check(w.index, w.heartbeat.current(), now, s);
        }
    }
}

/// One look at one worker: reports a stall once it has lasted [`THRESHOLD`], and its end.
fn check(worker: usize, poll: u64, now: Instant, s: &mut Seen) {
    let stalled_ms = now.saturating_duration_since(s.since).as_millis() as u64;
    if poll != 0 && poll == s.poll {
        if !s.reported && stalled_ms >= THRESHOLD.as_millis() as u64 {
            tracing::debug!(
                target: TARGET,
                worker,
                stalled_ms,
                threshold_ms = THRESHOLD.as_millis() as u64,
                "worker stalled: a task has run without yielding for longer than the threshold; \
                 the worker's other tasks, timers and I/O wait"
            );
            s.reported = true;
        }
        return;
    }
    if s.reported {
        tracing::debug!(target: TARGET, worker, stalled_ms, "worker stall ended");
    }
    *s = Seen {
        poll,
        since: now,
        reported: false,
    };
}
