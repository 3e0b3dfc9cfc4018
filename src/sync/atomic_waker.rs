//! `AtomicWaker`: one waker slot that a single registrant fills and any thread empties,
//! without a lock. The protocol of `futures`' `AtomicWaker` (a `REGISTERING` bit and a
//! `WAKING` bit guarding the cell), plus a `FULL` bit saying a waker is stored, so that a
//! notifier can see "nobody is waiting" with one load instead of a read-modify-write.
//!
//! States: `0` (empty), `FULL`; `REGISTERING` or `WAKING` added while a registrant or a
//! taker owns the cell. A registrant takes `REGISTERING` only from `0` or `FULL`; a taker
//! owns the cell only if its `fetch_or(WAKING)` found neither bit. A take that meets a
//! registration in progress leaves it to the registrant, whose closing CAS then fails and
//! who wakes its own waker; a registration that meets a take in progress wakes its new
//! waker itself. Either way the notification reaches the waiter.
//!
//! # Safety
//!
//! The cell is accessed only by the owner of `REGISTERING` (taken by a CAS from a state
//! with neither bit) or of `WAKING` (a `fetch_or` that found neither bit): never both at
//! once. Ownership passes through AcqRel operations on `state`, so each owner's accesses
//! happen after the previous owner's.
#![allow(unsafe_code)]

use std::task::Waker;

use crate::loom::cell::UnsafeCell;
use crate::loom::spin_hint;
use crate::loom::sync::atomic::{AtomicUsize, Ordering};

const REGISTERING: usize = 0b001;
const WAKING: usize = 0b010;
const FULL: usize = 0b100;

pub(crate) struct AtomicWaker {
    state: AtomicUsize,
    waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the cell holds a `Waker` (Send + Sync) and is accessed under the state protocol.
unsafe impl Send for AtomicWaker {}
// SAFETY: as for Send.
unsafe impl Sync for AtomicWaker {}

impl AtomicWaker {
    pub(crate) fn new() -> AtomicWaker {
        AtomicWaker {
            state: AtomicUsize::new(0),
            waker: UnsafeCell::new(None),
        }
    }

    /// Stores `waker` (one registrant at a time: the caller holds the slot's claim).
    pub(crate) fn register(&self, waker: &Waker) {
        // Relaxed: a guess for the CAS.
        let mut cur = self.state.load(Ordering::Relaxed);
        loop {
            if cur & WAKING != 0 {
                // A take is emptying the cell: it may have found nothing to wake, so wake
                // the new waker ourselves (the caller re-checks its condition after this).
                // The task may be polled again at once, before the taker finishes: let it
                // run (under loom, a yield; otherwise the model spins on this path).
                waker.wake_by_ref();
                spin_hint();
                return;
            }
            debug_assert_eq!(cur & REGISTERING, 0, "one registrant at a time");
            // Acquire: the previous owner's cell accesses happen before ours.
            match self.state.compare_exchange_weak(
                cur,
                cur | REGISTERING,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        self.waker.with_mut(|cell| {
            // SAFETY: we own REGISTERING, so the cell is ours (module docs).
            let cell = unsafe { &mut *cell };
            match cell {
                Some(old) if old.will_wake(waker) => {}
                _ => *cell = Some(waker.clone()),
            }
        });
        // AcqRel: publishes the waker to the next taker; on failure (Acquire) a take came in.
        if let Err(actual) = self.state.compare_exchange(
            cur | REGISTERING,
            FULL,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            debug_assert_ne!(actual & WAKING, 0);
            // SAFETY: still ours: the take that set WAKING saw REGISTERING and left the cell.
            let w = self.waker.with_mut(|cell| unsafe { (*cell).take() });
            // AcqRel: our cell access happens before the next owner's. A swap, not a
            // store: takes may still `fetch_or` concurrently, and each read-modify-write
            // must see the latest value (loom, too, models it so only for RMWs).
            self.state.swap(0, Ordering::AcqRel);
            if let Some(w) = w {
                w.wake();
            }
        }
    }

    /// Empties the slot: the waker if one was stored, `None` if the slot was empty or a
    /// registration or another take was under way (which then delivers the wake).
    pub(crate) fn take(&self) -> Option<Waker> {
        // AcqRel: acquires the registrant's waker, and orders against other owners.
        let prev = self.state.fetch_or(WAKING, Ordering::AcqRel);
        if prev & (REGISTERING | WAKING) != 0 {
            return None;
        }
        let w = if prev & FULL != 0 {
            // SAFETY: our fetch_or found neither bit: the cell is ours (module docs).
            self.waker.with_mut(|cell| unsafe { (*cell).take() })
        } else {
            None
        };
        // Release: our cell access happens before the next owner's. While WAKING is set
        // only other takes change the word (setting WAKING again), so this clears it
        // all; an RMW rather than a store, as in `register`.
        self.state.fetch_and(0, Ordering::Release);
        w
    }

    /// Whether the slot is empty and idle. A hint: meaningful only after a SeqCst fence
    /// that pairs with the one a registrant issues after `register`.
    pub(crate) fn is_idle(&self) -> bool {
        // Relaxed: ordered by the caller's fence.
        self.state.load(Ordering::Relaxed) == 0
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    use super::AtomicWaker;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        (c.clone(), Waker::from(c))
    }

    #[test]
    fn register_take_and_idle() {
        let slot = AtomicWaker::new();
        assert!(slot.is_idle());
        assert!(slot.take().is_none());
        let (count, w) = counting();
        slot.register(&w);
        slot.register(&w);
        assert!(!slot.is_idle());
        slot.take().unwrap().wake();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(slot.is_idle());
        assert!(slot.take().is_none());
    }

    #[test]
    fn a_registered_waker_is_woken_exactly_once_across_threads() {
        let rounds = if cfg!(miri) { 20 } else { 2_000 };
        for _ in 0..rounds {
            let slot = Arc::new(AtomicWaker::new());
            let (count, w) = counting();
            let s = slot.clone();
            let taker = std::thread::spawn(move || s.take().map(Waker::wake).is_some());
            slot.register(&w);
            let woke_remote = taker.join().unwrap();
            let woke_here = slot.take().map(Waker::wake).is_some();
            assert!(!(woke_remote && woke_here), "the waker is handed out once");
            // Not handed out at all: the registration met the take and woke itself.
            assert_eq!(count.0.load(Ordering::SeqCst), 1, "exactly one wake");
        }
    }
}
