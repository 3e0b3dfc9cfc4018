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

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::worker::Shared;
use crate::loom::sync::atomic::{AtomicU64, Ordering};

/// How long one poll may run before the worker is reported stalled.
pub(crate) const THRESHOLD: Duration = Duration::from_millis(100);

/// The `tracing` target of the stall events.
const TARGET: &str = "hiver_runtime::stall";

/// Which poll a worker is inside: 0 between polls, else the poll's number (its `polls`
/// count, which starts at 1). Written by the worker only; read by the watchdog.
#[derive(Default)]
pub(crate) struct Heartbeat(AtomicU64);

impl Heartbeat {
    /// A poll numbered `poll` (non-zero) begins.
    #[inline]
    pub(crate) fn begin(&self, poll: u64) {
        // Relaxed: a diagnostic hint; the watchdog only compares numbers over time.
        self.0.store(poll, Ordering::Relaxed);
    }

    /// The poll returned.
    #[inline]
    pub(crate) fn end(&self) {
        self.0.store(0, Ordering::Relaxed);
    }

    fn current(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
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
