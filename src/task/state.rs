//! The task state word: lifecycle bits and a reference count in one `AtomicUsize`, and every
//! transition as a function (each a CAS loop or a single RMW), so that loom can check them.
//!
//! Bits (each transition below says which it reads and writes):
//! - `SCHEDULED`: a `Notified` reference is queued or about to be; at most one exists.
//! - `RUNNING`: the owner worker is polling the future. Excludes `SCHEDULED` being acted on:
//!   a wake while running only sets `SCHEDULED`, and the poller requeues the task.
//! - `COMPLETE`: the stage holds the output (or it was consumed); the future is gone.
//! - `CANCELLED`: abort was requested; the next run drops the future instead of polling.
//! - `JOIN_INTEREST`: a `JoinHandle` exists and wants the output.
//! - `JOIN_WAKER`: the handle's waker is stored and owned by the task side until
//!   `COMPLETE` (then the completer reads it) or until the handle takes it back.
//! - `UNOWNED`: the owner worker has not received the task yet; the reference allocated for
//!   its owned list is unclaimed. Cleared exactly once: by the owner on first receipt, or by
//!   whoever drops the first `Notified` undelivered (then the task is cancelled there).
//! - the rest: the reference count, in units of `REF_ONE`.

use crate::loom::sync::atomic::{AtomicUsize, Ordering::AcqRel, Ordering::Acquire};

pub(crate) const SCHEDULED: usize = 1 << 0;
pub(crate) const RUNNING: usize = 1 << 1;
pub(crate) const COMPLETE: usize = 1 << 2;
pub(crate) const CANCELLED: usize = 1 << 3;
pub(crate) const JOIN_INTEREST: usize = 1 << 4;
pub(crate) const JOIN_WAKER: usize = 1 << 5;
pub(crate) const UNOWNED: usize = 1 << 6;
pub(crate) const REF_ONE: usize = 1 << 7;
const REF_MASK: usize = !(REF_ONE - 1);

/// A snapshot of the state word.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(pub(crate) usize);

impl Snapshot {
    pub(crate) fn has(self, bits: usize) -> bool {
        self.0 & bits != 0
    }

    pub(crate) fn refs(self) -> usize {
        (self.0 & REF_MASK) / REF_ONE
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "State({:#08b}, refs={})",
            self.0 & (REF_ONE - 1),
            self.refs()
        )
    }
}

/// What a run should do, decided by [`State::start_run`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StartRun {
    /// Poll the future.
    Poll,
    /// Drop the future: the task was aborted.
    Cancel,
    /// Nothing to do (already complete); just drop the `Notified` reference.
    Done,
}

/// What to do after a poll returned `Pending`, decided by [`State::end_run_pending`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum EndRun {
    /// Idle: the `Notified` reference is released.
    Idle,
    /// Woken while running: requeue the same `Notified` reference.
    Requeue,
    /// Aborted while running: drop the future now.
    Cancel,
}

/// What a wake-by-reference should do, decided by [`State::wake`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Nothing: already scheduled, running (the poller requeues), or complete.
    Nothing,
    /// Submit a new `Notified` reference (one reference was added for it).
    Submit,
}

/// The state word.
pub(crate) struct State(AtomicUsize);

impl State {
    /// A new task: scheduled (its first `Notified` is about to be queued), a join handle,
    /// and `refs` references.
    pub(crate) fn new(refs: usize) -> State {
        State(AtomicUsize::new(
            SCHEDULED | JOIN_INTEREST | UNOWNED | (refs * REF_ONE),
        ))
    }

    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.0.load(Acquire))
    }

    fn update<R>(&self, mut f: impl FnMut(Snapshot) -> (Option<usize>, R)) -> R {
        let mut cur = self.0.load(Acquire);
        loop {
            let (next, r) = f(Snapshot(cur));
            let Some(next) = next else { return r };
            // AcqRel: a transition publishes what the transitioning side wrote (stage,
            // waker) and acquires what the previous one published.
            match self.0.compare_exchange_weak(cur, next, AcqRel, Acquire) {
                Ok(_) => return r,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Owner worker, before polling: `SCHEDULED` -> `RUNNING`.
    pub(crate) fn start_run(&self) -> StartRun {
        self.update(|s| {
            debug_assert!(
                s.has(SCHEDULED) && !s.has(RUNNING),
                "run of an unscheduled task: {s:?}"
            );
            if s.has(COMPLETE) {
                return (Some(s.0 & !SCHEDULED), StartRun::Done);
            }
            let next = (s.0 & !SCHEDULED) | RUNNING;
            let action = if s.has(CANCELLED) {
                StartRun::Cancel
            } else {
                StartRun::Poll
            };
            (Some(next), action)
        })
    }

    /// Owner worker, after `Pending`: leave `RUNNING`, and say whether a wake or an abort
    /// arrived meanwhile.
    pub(crate) fn end_run_pending(&self) -> EndRun {
        self.update(|s| {
            debug_assert!(s.has(RUNNING));
            if s.has(CANCELLED) {
                // Stay RUNNING: the cancel path completes the task from here.
                return (None, EndRun::Cancel);
            }
            if s.has(SCHEDULED) {
                // Keep SCHEDULED: the same Notified reference goes back to the queue.
                return (Some(s.0 & !RUNNING), EndRun::Requeue);
            }
            (Some(s.0 & !RUNNING), EndRun::Idle)
        })
    }

    /// Owner worker, after the output (or the cancellation error) was stored: `RUNNING` ->
    /// `COMPLETE`. Returns the state after the transition.
    pub(crate) fn complete(&self) -> Snapshot {
        let prev = self.0.fetch_xor(RUNNING | COMPLETE, AcqRel);
        debug_assert!(Snapshot(prev).has(RUNNING) && !Snapshot(prev).has(COMPLETE));
        Snapshot(prev ^ (RUNNING | COMPLETE))
    }

    /// Any thread, a waker firing.
    pub(crate) fn wake(&self) -> Wake {
        self.update(|s| {
            if s.has(COMPLETE | SCHEDULED) {
                (None, Wake::Nothing)
            } else if s.has(RUNNING) {
                (Some(s.0 | SCHEDULED), Wake::Nothing)
            } else {
                (Some((s.0 | SCHEDULED) + REF_ONE), Wake::Submit)
            }
        })
    }

    /// Any thread, an abort: set `CANCELLED`; if the task is idle, schedule it (one
    /// reference added) so that its owner drops the future.
    pub(crate) fn abort(&self) -> Wake {
        self.update(|s| {
            if s.has(COMPLETE | CANCELLED) {
                (None, Wake::Nothing)
            } else if s.has(RUNNING | SCHEDULED) {
                (Some(s.0 | CANCELLED), Wake::Nothing)
            } else {
                (Some((s.0 | CANCELLED | SCHEDULED) + REF_ONE), Wake::Submit)
            }
        })
    }

    /// Owner worker at shutdown: claims an idle task for cancellation (as if run). `false`
    /// when it is complete, or queued/running elsewhere in this shutdown.
    pub(crate) fn claim_for_shutdown(&self) -> bool {
        self.update(|s| {
            if s.has(COMPLETE | RUNNING) {
                (None, false)
            } else {
                (Some(s.0 | RUNNING | CANCELLED), true)
            }
        })
    }

    /// Join handle dropped: give up interest. `Err` when the task completed first: the
    /// handle must then drop the output itself.
    pub(crate) fn drop_join_interest(&self) -> Result<(), Snapshot> {
        self.update(|s| {
            debug_assert!(s.has(JOIN_INTEREST));
            if s.has(COMPLETE) {
                (None, Err(s))
            } else {
                (Some(s.0 & !(JOIN_INTEREST | JOIN_WAKER)), Ok(()))
            }
        })
    }

    /// Join handle, after writing its waker: hand it to the task side. `Err` when the task
    /// completed first (the waker stays the handle's; read the output).
    pub(crate) fn set_join_waker(&self) -> Result<(), Snapshot> {
        self.update(|s| {
            debug_assert!(s.has(JOIN_INTEREST) && !s.has(JOIN_WAKER));
            if s.has(COMPLETE) {
                (None, Err(s))
            } else {
                (Some(s.0 | JOIN_WAKER), Ok(()))
            }
        })
    }

    /// Join handle, to replace its waker: take it back. `Err` when the task completed first.
    pub(crate) fn unset_join_waker(&self) -> Result<(), Snapshot> {
        self.update(|s| {
            debug_assert!(s.has(JOIN_INTEREST) && s.has(JOIN_WAKER));
            if s.has(COMPLETE) {
                (None, Err(s))
            } else {
                (Some(s.0 & !JOIN_WAKER), Ok(()))
            }
        })
    }

    /// Clears `UNOWNED`; `true` if this call cleared it (the caller takes the owned-list
    /// reference).
    pub(crate) fn claim_owned(&self) -> bool {
        self.0.fetch_and(!UNOWNED, AcqRel) & UNOWNED != 0
    }

    /// Adds a reference.
    pub(crate) fn ref_inc(&self) {
        // Relaxed is enough to add a reference: the caller already holds one, so the
        // allocation cannot go away meanwhile (std's Arc::clone reasoning).
        let prev = self
            .0
            .fetch_add(REF_ONE, crate::loom::sync::atomic::Ordering::Relaxed);
        assert!(prev <= isize::MAX as usize, "task reference count overflow");
    }

    /// Drops a reference; `true` when it was the last (the caller deallocates).
    pub(crate) fn ref_dec(&self) -> bool {
        // AcqRel: every use of the task by other reference holders happens before the
        // last holder frees it (std's Arc::drop: Release, then Acquire on the last).
        let prev = self.0.fetch_sub(REF_ONE, AcqRel);
        debug_assert!(Snapshot(prev).refs() >= 1);
        Snapshot(prev).refs() == 1
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn run_cycle() {
        let s = State::new(2);
        assert_eq!(s.start_run(), StartRun::Poll);
        assert_eq!(s.wake(), Wake::Nothing, "wake while running only marks");
        assert_eq!(s.end_run_pending(), EndRun::Requeue);
        assert_eq!(s.start_run(), StartRun::Poll);
        assert_eq!(s.end_run_pending(), EndRun::Idle);
        assert_eq!(s.wake(), Wake::Submit);
        assert_eq!(s.load().refs(), 3);
        assert_eq!(s.wake(), Wake::Nothing, "already scheduled");
        assert_eq!(s.start_run(), StartRun::Poll);
        let after = s.complete();
        assert!(after.has(COMPLETE) && !after.has(RUNNING));
        assert_eq!(s.wake(), Wake::Nothing);
    }

    #[test]
    fn abort_paths() {
        let s = State::new(1);
        assert_eq!(s.abort(), Wake::Nothing, "scheduled: the run will cancel");
        assert_eq!(s.start_run(), StartRun::Cancel);
        let s = State::new(1);
        s.start_run();
        s.end_run_pending();
        assert_eq!(s.abort(), Wake::Submit);
        assert_eq!(s.start_run(), StartRun::Cancel);
        let s = State::new(1);
        s.start_run();
        s.abort();
        assert_eq!(s.end_run_pending(), EndRun::Cancel);
    }

    #[test]
    fn join_interest_races_completion() {
        let s = State::new(1);
        s.start_run();
        s.complete();
        assert!(
            s.drop_join_interest().is_err(),
            "complete first: the handle drops the output"
        );
        let s = State::new(1);
        assert!(s.drop_join_interest().is_ok());
        assert!(!s.load().has(JOIN_INTEREST));
        let s = State::new(1);
        assert!(s.set_join_waker().is_ok());
        assert!(s.unset_join_waker().is_ok());
        s.start_run();
        s.complete();
        assert!(s.set_join_waker().is_err());
    }

    #[test]
    fn owned_claim_happens_once() {
        let s = State::new(3);
        assert!(s.claim_owned());
        assert!(!s.claim_owned());
    }

    #[test]
    fn refs() {
        let s = State::new(2);
        s.ref_inc();
        assert!(!s.ref_dec());
        assert!(!s.ref_dec());
        assert!(s.ref_dec());
    }
}
