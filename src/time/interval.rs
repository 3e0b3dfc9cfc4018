//! `interval`: a periodic timer.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::clock::Instant;
use super::sleep::{sleep_until, Sleep};

/// Ticks every `period`, starting now.
///
/// The first tick completes at once. Missed ticks are skipped: if the task was busy past
/// one or more ticks, the next `tick()` completes at once and the one after waits for the
/// next multiple of `period` from the start (no burst of catch-up ticks). Ticks never
/// come early.
///
/// ```
/// use hiver_runtime::{interval, Duration, Instant, Runtime};
/// let mut rt = Runtime::new().unwrap();
/// rt.block_on(async {
///     let start = Instant::now();
///     let mut every = interval(Duration::from_millis(10));
///     for _ in 0..3 {
///         every.tick().await;
///     }
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// }).unwrap();
/// ```
///
/// # Panics
///
/// If `period` is zero.
pub fn interval(period: Duration) -> Interval {
    assert!(!period.is_zero(), "interval: the period must be non-zero");
    let start = Instant::now();
    Interval {
        start,
        period,
        next: start,
        sleep: sleep_until(start),
    }
}

/// The timer of [`interval`].
///
/// ```
/// use hiver_runtime::{interval, Duration, Interval, Runtime};
/// let mut rt = Runtime::builder().worker_threads(1).build()?;
/// rt.block_on(async {
///     let mut every: Interval = interval(Duration::from_millis(20));
///     let first = every.tick().await; // at once
///     let second = every.tick().await;
///     assert_eq!(second - first, Duration::from_millis(20));
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Interval {
    start: Instant,
    period: Duration,
    next: Instant,
    sleep: Sleep,
}

impl Interval {
    /// Completes at the next tick and returns its scheduled time.
    ///
    /// ```
    /// use hiver_runtime::{interval, Duration, Instant, Runtime};
    /// let mut rt = Runtime::builder().worker_threads(1).build()?;
    /// rt.block_on(async {
    ///     let before = Instant::now();
    ///     let mut every = interval(Duration::from_secs(3600));
    ///     let first = every.tick().await; // the first tick completes at once
    ///     assert!(first >= before && first.elapsed() < Duration::from_secs(3600));
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    ///
    /// ```
    /// use hiver_runtime::{interval, Duration, Runtime};
    /// use std::task::{Context, Waker};
    /// let mut rt = Runtime::builder().worker_threads(1).build()?;
    /// rt.block_on(async {
    ///     let mut every = interval(Duration::from_secs(3600));
    ///     let mut cx = Context::from_waker(Waker::noop());
    ///     assert!(every.poll_tick(&mut cx).is_ready()); // the first tick is due at once
    ///     assert!(every.poll_tick(&mut cx).is_pending()); // the next one is an hour away
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if self.next > Instant::now() && Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let this_tick = self.next;
        let now = Instant::now();
        let mut next = this_tick + self.period;
        if next <= now {
            // Skip the missed ticks: the next multiple of the period after now.
            let behind = now.saturating_duration_since(self.start).as_nanos()
                / self.period.as_nanos().max(1);
            let steps = u32::try_from(behind + 1).unwrap_or(u32::MAX);
            next = self.start + self.period.saturating_mul(steps);
        }
        self.next = next;
        self.sleep.reset(next);
        Poll::Ready(this_tick)
    }

    /// The period.
    ///
    /// ```
    /// use hiver_runtime::{interval, Duration};
    /// let every = interval(Duration::from_millis(250));
    /// assert_eq!(every.period(), Duration::from_millis(250));
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }
}
