//! The lifecycle of one io_uring operation, as one state machine shared by the driver (the
//! thread that owns the ring and reaps its completions) and the operation's handle (the
//! future, or the socket that adopted it, on any thread).
//!
//! ```text
//!             submit                 final CQE (driver)
//!  handle ─────────────▶ IN FLIGHT ─────────────────────▶ COMPLETE ──▶ handle takes the result
//!                          │  │                              ▲
//!          cancel() (any   │  │ handle dropped               │ final CQE: nobody wants it,
//!          thread, once) ──┘  ▼                              │ the driver releases it
//!                          DETACHED ─────────────────────────┘
//! ```
//!
//! - `complete` (driver, exactly once, on the final CQE) stores the result, then sets
//!   `COMPLETE`; if the handle had already detached, the driver owns the result and
//!   releases it (closes an accepted fd, returns a lent buffer); otherwise it wakes the
//!   handle.
//! - `poll` (handle) registers its waker, then looks for `COMPLETE`.
//! - `detach` (handle drop): if the result is there, the handle releases it; otherwise the
//!   driver will, and the caller must have the operation cancelled.
//! - `cancel` asks for an `ASYNC_CANCEL` once; it is pointless after `COMPLETE`.
//!
//! The memory the kernel reads or writes (`payload`) lives in the cell; the driver holds a
//! reference to the cell until the final CQE, so the memory outlives the kernel's use of it
//! whatever the handle does. A multishot operation keeps its cell armed with
//! [`Multishot`] and feeds its results elsewhere; it shares the same rule.
//!
//! # Safety
//!
//! `result` and `payload` are written by the driver only before it sets `COMPLETE`
//! (Release), and read or taken by the handle only after it sees `COMPLETE` (Acquire), or by
//! whichever side wins the `COMPLETE`/`DETACHED` race for the release: the `fetch_or` that
//! finds the other bit already set. The kernel's own writes into `payload` happen before
//! the CQE that the driver reads before `complete`.
#![allow(unsafe_code)]

use std::task::{Context, Poll};

use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use crate::sync::atomic_waker::AtomicWaker;

const COMPLETE: usize = 0b0001;
const DETACHED: usize = 0b0010;
const CANCEL: usize = 0b0100;

/// A completion: the CQE's `res` and `flags`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Completion {
    pub(crate) res: i32,
    pub(crate) flags: u32,
}

/// What an operation keeps alive for the kernel, and how an unwanted result is released.
pub(crate) trait Payload: Send + 'static {
    /// Releases a result nobody will take (the handle was dropped): close an accepted fd,
    /// return a lent buffer. Runs exactly once per unwanted completion.
    fn release(&mut self, done: Completion);
}

/// One operation's shared state.
pub(crate) struct OpCell<T> {
    state: AtomicUsize,
    waker: AtomicWaker,
    result: UnsafeCell<Completion>,
    payload: UnsafeCell<T>,
}

// SAFETY: the cells are accessed under the state protocol (module docs); `T: Send` moves
// between the driver and handle threads.
unsafe impl<T: Send> Send for OpCell<T> {}
// SAFETY: as for Send.
unsafe impl<T: Send> Sync for OpCell<T> {}

/// What `complete` left to do.
#[derive(Debug)]
pub(crate) enum Completed {
    /// Nobody wanted the result: it was released.
    Released,
    /// Wake this waker (if the handle registered one).
    Wake(Option<std::task::Waker>),
}

/// What `detach` left to do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Detached {
    /// The result had arrived: the handle released it.
    Released,
    /// Still in flight: the driver releases it at the final CQE; cancel it if not yet asked.
    InFlight { cancel: bool },
}

impl<T: Payload> OpCell<T> {
    pub(crate) fn new(payload: T) -> OpCell<T> {
        OpCell {
            state: AtomicUsize::new(0),
            waker: AtomicWaker::new(),
            result: UnsafeCell::new(Completion { res: 0, flags: 0 }),
            payload: UnsafeCell::new(payload),
        }
    }

    /// A pointer to the payload, for preparing the SQE before submission (the kernel's
    /// access then lasts until the final CQE, while the driver holds the cell).
    pub(crate) fn payload_ptr(&self) -> *mut T {
        self.payload.with_mut(|p| p)
    }

    /// Driver side, on the final CQE. `fill` may write the payload first (record a lent
    /// buffer). Returns the handle's waker to wake (now, or after the batch), or
    /// `Released` when the handle had detached and the result was released here.
    pub(crate) fn complete(&self, done: Completion, fill: impl FnOnce(&mut T)) -> Completed {
        // SAFETY: before COMPLETE only the driver touches result and payload (module docs).
        self.result.with_mut(|r| unsafe { *r = done });
        // SAFETY: as above.
        self.payload.with_mut(|p| fill(unsafe { &mut *p }));
        // AcqRel: publishes the result (Release); acquires a detach that came first.
        let prev = self.state.fetch_or(COMPLETE, Ordering::AcqRel);
        if prev & DETACHED != 0 {
            // SAFETY: the handle detached before our fetch_or: the result is ours alone.
            self.payload.with_mut(|p| unsafe { (*p).release(done) });
            return Completed::Released;
        }
        Completed::Wake(self.waker.take())
    }

    /// Handle side: the result, once the final CQE came. The payload is then the handle's
    /// to read through [`with_payload`](Self::with_payload).
    pub(crate) fn poll(&self, cx: &mut Context<'_>) -> Poll<Completion> {
        if let Some(done) = self.result_if_complete() {
            return Poll::Ready(done);
        }
        self.waker.register(cx.waker());
        match self.result_if_complete() {
            Some(done) => Poll::Ready(done),
            None => Poll::Pending,
        }
    }

    fn result_if_complete(&self) -> Option<Completion> {
        // Acquire: pairs with complete()'s fetch_or: the result is visible.
        if self.state.load(Ordering::Acquire) & COMPLETE == 0 {
            return None;
        }
        // SAFETY: COMPLETE is set and the driver no longer writes the result.
        Some(self.result.with(|r| unsafe { *r }))
    }

    /// Whether the final CQE came.
    pub(crate) fn is_complete(&self) -> bool {
        self.state.load(Ordering::Acquire) & COMPLETE != 0
    }

    /// Handle side, after `poll` returned `Ready`: the payload, to read or take from.
    pub(crate) fn with_payload<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        assert!(self.is_complete(), "payload taken before the final CQE");
        // SAFETY: COMPLETE is set: the kernel and the driver are done with the payload, and
        // the handle (the caller) is its only user from now on.
        self.payload.with_mut(|p| f(unsafe { &mut *p }))
    }

    /// Handle side: asks for cancellation; `true` exactly once, and only while in flight
    /// (the caller then submits `ASYNC_CANCEL` for this operation).
    pub(crate) fn cancel(&self) -> bool {
        // AcqRel: orders against complete() (seeing COMPLETE means no cancel is needed).
        let prev = self.state.fetch_or(CANCEL, Ordering::AcqRel);
        prev & (CANCEL | COMPLETE) == 0
    }

    /// Handle side, when the handle goes away without taking the result.
    pub(crate) fn detach(&self) -> Detached {
        // AcqRel: acquires the result if it came; publishes the detach to the driver.
        let prev = self.state.fetch_or(DETACHED, Ordering::AcqRel);
        if prev & COMPLETE != 0 {
            let done = self
                .result_if_complete()
                .expect("COMPLETE was seen by the fetch_or");
            // SAFETY: COMPLETE was set before our DETACHED: the driver is done, and only
            // this path releases (complete() saw no DETACHED).
            self.payload.with_mut(|p| unsafe { (*p).release(done) });
            Detached::Released
        } else {
            let cancel = prev & CANCEL == 0;
            if cancel {
                self.state.fetch_or(CANCEL, Ordering::AcqRel);
            }
            Detached::InFlight { cancel }
        }
    }
}

/// Whether a multishot operation (a listener's accept) is armed on some ring.
///
/// `try_arm` (any thread wanting results) wins once per idle period; `ended` (the driver,
/// on the final CQE, or the arming thread when submission failed) makes it armable again.
pub(crate) struct Multishot {
    state: AtomicU8,
}

const IDLE: u8 = 0;
const ARMED: u8 = 1;

impl Multishot {
    pub(crate) fn new() -> Multishot {
        Multishot {
            state: AtomicU8::new(IDLE),
        }
    }

    /// `true` if the caller must submit the operation now (nobody else has it armed).
    pub(crate) fn try_arm(&self) -> bool {
        // AcqRel: orders this arming after the previous final CQE's handling.
        self.state
            .compare_exchange(IDLE, ARMED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The operation ended (final CQE, or its submission failed).
    pub(crate) fn ended(&self) {
        // Release: results pushed before the end are visible to the next arming thread.
        self.state.store(IDLE, Ordering::Release);
    }

    /// Whether it is armed now.
    pub(crate) fn is_armed(&self) -> bool {
        self.state.load(Ordering::Acquire) == ARMED
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize as StdCount;
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    struct Counted(Arc<StdCount>);
    impl Payload for Counted {
        fn release(&mut self, _: Completion) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    struct Flag(StdCount);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    const DONE: Completion = Completion { res: 7, flags: 0 };

    #[test]
    fn completion_wakes_the_registered_handle() {
        let released = Arc::new(StdCount::new(0));
        let cell = OpCell::new(Counted(released.clone()));
        let flag = Arc::new(Flag(StdCount::new(0)));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(cell.poll(&mut cx).is_pending());
        match cell.complete(DONE, |_| {}) {
            Completed::Wake(Some(w)) => w.wake(),
            other => panic!("expected a waker, got {other:?}"),
        }
        assert_eq!(flag.0.load(Ordering::SeqCst), 1);
        assert_eq!(cell.poll(&mut cx), Poll::Ready(DONE));
        assert_eq!(
            released.load(Ordering::SeqCst),
            0,
            "a taken result is not released"
        );
    }

    #[test]
    fn detach_before_completion_leaves_the_release_to_the_driver() {
        let released = Arc::new(StdCount::new(0));
        let cell = OpCell::new(Counted(released.clone()));
        assert_eq!(cell.detach(), Detached::InFlight { cancel: true });
        assert!(!cell.cancel(), "cancel was asked for by detach");
        assert!(matches!(cell.complete(DONE, |_| {}), Completed::Released));
        assert_eq!(released.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn detach_after_completion_releases_at_once() {
        let released = Arc::new(StdCount::new(0));
        let cell = OpCell::new(Counted(released.clone()));
        assert!(matches!(cell.complete(DONE, |_| {}), Completed::Wake(None)));
        assert!(!cell.cancel(), "nothing to cancel once complete");
        assert_eq!(cell.detach(), Detached::Released);
        assert_eq!(released.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn cancel_is_asked_once() {
        let cell = OpCell::new(Counted(Arc::new(StdCount::new(0))));
        assert!(cell.cancel());
        assert!(!cell.cancel());
        assert_eq!(cell.detach(), Detached::InFlight { cancel: false });
    }

    #[test]
    fn multishot_arms_once_until_it_ends() {
        let m = Multishot::new();
        assert!(m.try_arm());
        assert!(!m.try_arm());
        assert!(m.is_armed());
        m.ended();
        assert!(m.try_arm());
    }
}
