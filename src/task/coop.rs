//! Cooperative scheduling: [`yield_now`], and the budget that makes an always-ready task
//! yield.
//!
//! Each task poll gets a budget of [`BUDGET`] operations. The runtime's I/O and channel
//! futures spend one unit each time they are polled; once it is spent they return
//! `Pending` (after waking their task) instead of completing, so a task that finds its
//! socket or channel always ready still goes back to the queue now and then, and the
//! other tasks, the timers and the I/O driver of its worker keep their latency. Outside a
//! task poll (a future polled by hand) there is no budget.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// Operations one task poll may complete before its futures make it yield.
pub(crate) const BUDGET: u32 = 128;

thread_local! {
    static LEFT: Cell<Option<u32>> = const { Cell::new(None) };
}

/// Runs `f` (one task poll) with a fresh budget.
pub(crate) fn budgeted<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(Option<u32>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = LEFT.try_with(|l| l.set(self.0));
        }
    }
    let _restore = Restore(LEFT.try_with(|l| l.replace(Some(BUDGET))).ok().flatten());
    f()
}

/// Spends one unit of the current task's budget: `Pending` (its waker woken, so the task
/// is polled again after the others) when none is left.
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    let left = LEFT.try_with(Cell::get).ok().flatten();
    match left {
        Some(0) => {
            wake_after_turn(cx.waker());
            Poll::Pending
        }
        Some(n) => {
            let _ = LEFT.try_with(|l| l.set(Some(n - 1)));
            Poll::Ready(())
        }
        None => Poll::Ready(()),
    }
}

/// [`poll_proceed`] as a future, for the start of an async operation.
pub(crate) async fn proceed() {
    std::future::poll_fn(poll_proceed).await
}

/// Yields once: the task goes to the back of its worker's queue, behind every task ready
/// now, and the worker looks at its timers and I/O before it comes back.
///
/// ```
/// # hiver_runtime::Runtime::new()?.block_on(async {
/// for _ in 0..3 {
///     // a long computation in slices, letting the worker's other tasks run between them
///     hiver_runtime::yield_now().await;
/// }
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn yield_now() {
    YieldNow { yielded: false }.await
}

struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        wake_after_turn(cx.waker());
        Poll::Pending
    }
}

/// Wakes a task that yields once its worker has turned its driver (and so looked at its
/// I/O and timers): were it woken at once, a lone yielding task would be polled again
/// straight away, up to a whole turn's budget of times. Outside a runtime: at once.
fn wake_after_turn(waker: &Waker) {
    if crate::runtime::context::with_core(|core| core.defer(waker)).is_none() {
        waker.wake_by_ref();
    }
}
