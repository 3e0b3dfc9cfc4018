//! The park/unpark handshake between a worker and the threads that wake it.
//!
//! One atomic byte, only read-modify-written, so every transition is totally ordered:
//! - the worker `reset`s it to `RUNNING` at the top of each turn, then drains its inbox;
//! - when idle it may `try_park` (`RUNNING` -> `PARKED`); that fails if a notification came
//!   in since the reset, and the worker goes round again;
//! - a remote waker pushes to the inbox, then `notify`s (swap to `NOTIFIED`); only if the
//!   worker was `PARKED` does it wake the driver, so a burst of wakes costs one syscall.
//!
//! No wake-up is lost: a push whose `notify` comes after the worker's `reset` makes the
//! `try_park` fail; one whose `notify` comes before it is seen by the drain that follows the
//! reset (the Release of `notify` pairs with the Acquire of `reset`).

use crate::loom::sync::atomic::{AtomicU8, Ordering::AcqRel, Ordering::Acquire};

const RUNNING: u8 = 0;
const PARKED: u8 = 1;
const NOTIFIED: u8 = 2;

pub(crate) struct ParkState(AtomicU8);

impl ParkState {
    pub(crate) fn new() -> ParkState {
        ParkState(AtomicU8::new(RUNNING))
    }

    /// Worker, top of a turn: back to `RUNNING`; acquires the pushes notified so far.
    pub(crate) fn reset(&self) {
        self.0.swap(RUNNING, AcqRel);
    }

    /// Worker, idle: `true` if it may park now (no notification since `reset`).
    pub(crate) fn try_park(&self) -> bool {
        self.0
            .compare_exchange(RUNNING, PARKED, AcqRel, Acquire)
            .is_ok()
    }

    /// Waker, after pushing: `true` if the worker is parked and its driver must be woken.
    pub(crate) fn notify(&self) -> bool {
        self.0.swap(NOTIFIED, AcqRel) == PARKED
    }
}
