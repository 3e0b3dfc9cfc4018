//! The cap on io_uring operations in flight on one socket (`DriverConfig::max_ops_per_fd`):
//! a counting semaphore. An operation takes a [`Permit`] before it is submitted and the
//! driver drops it at the operation's final CQE, so a cancelled operation still counts
//! until the kernel is done with it. Excess operations wait; none fail.

use std::sync::Arc;
use std::task::{Context, Poll};

use crate::loom::sync::atomic::{fence, AtomicUsize, Ordering};
use crate::sync::wait_set::{WaitSet, Waiter};

/// One socket's count of operations in flight, and the operations waiting for room.
pub(crate) struct OpLimit {
    in_flight: AtomicUsize,
    waiters: WaitSet,
}

/// One operation's place under the cap; dropping it (at the final completion) frees it.
pub(crate) struct Permit(Arc<OpLimit>);

impl OpLimit {
    pub(crate) fn new() -> OpLimit {
        OpLimit {
            in_flight: AtomicUsize::new(0),
            waiters: WaitSet::new(),
        }
    }

    fn try_take(&self, max: usize) -> bool {
        self.in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max.max(1)).then_some(n + 1)
            })
            .is_ok()
    }

    /// A permit, or a registration to be woken when one may be free.
    pub(crate) fn poll_acquire(
        self: &Arc<Self>,
        max: usize,
        waiter: &mut Waiter,
        cx: &mut Context<'_>,
    ) -> Poll<Permit> {
        if self.try_take(max) {
            waiter.leave(&self.waiters);
            return Poll::Ready(Permit(self.clone()));
        }
        waiter.register(&self.waiters, cx.waker());
        if self.try_take(max) {
            waiter.leave(&self.waiters);
            return Poll::Ready(Permit(self.clone()));
        }
        Poll::Pending
    }

    /// A waiting future went away: pass on a wake-up it may have had.
    pub(crate) fn cancel(&self, waiter: &mut Waiter) {
        waiter.cancel(&self.waiters);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        // SeqCst: the waiters' handshake (wait_set.rs).
        fence(Ordering::SeqCst);
        self.0.waiters.notify_one();
    }
}

/// The current runtime's `max_ops_per_fd`.
pub(crate) fn max_ops_per_fd() -> usize {
    crate::runtime::context::io().map_or(usize::MAX, |(_, max)| max)
}

/// The permit of a stream's read or write: `None` (nothing to count) unless the cap is
/// below 2. A stream's read side and write side each keep at most one operation in flight
/// (a dropped read's receive is adopted by the next read, a dropped write's send is
/// awaited by the next write), so a stream is within any cap of 2 or more by construction.
pub(crate) fn poll_stream_permit(
    limit: &Arc<OpLimit>,
    waiter: &mut Waiter,
    cx: &mut Context<'_>,
) -> Poll<Option<Permit>> {
    let max = max_ops_per_fd();
    if max >= 2 {
        return Poll::Ready(None);
    }
    limit.poll_acquire(max, waiter, cx).map(Some)
}
