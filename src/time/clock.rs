//! Time as the runtime sees it: the real clock, or a paused one that tests advance by hand
//! (`test-util`). Ticks are milliseconds since the runtime started.

use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::time::Duration;

use crate::loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use crate::runtime::context;

/// About 30 years: what a deadline too far to represent is clamped to.
const FAR: Duration = Duration::from_secs(86_400 * 365 * 30);

pub(crate) struct Clock {
    base: std::time::Instant,
    paused: AtomicBool,
    /// Nanoseconds since `base` at which a paused clock stands.
    frozen: AtomicU64,
}

impl Clock {
    pub(crate) fn new() -> Clock {
        Clock {
            base: std::time::Instant::now(),
            paused: AtomicBool::new(false),
            frozen: AtomicU64::new(0),
        }
    }

    pub(crate) fn now(&self) -> std::time::Instant {
        if self.paused.load(Ordering::Acquire) {
            self.base + Duration::from_nanos(self.frozen.load(Ordering::Acquire))
        } else {
            std::time::Instant::now()
        }
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Acquire)
    }

    /// The current tick (whole milliseconds passed: never ahead of the clock).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn now_ticks(&self) -> u64 {
        self.ticks_at(self.now())
    }

    /// The tick of instant `t` (whole milliseconds passed).
    pub(crate) fn ticks_at(&self, t: std::time::Instant) -> u64 {
        t.saturating_duration_since(self.base)
            .as_millis()
            .try_into()
            .unwrap_or(u64::MAX)
    }

    /// The tick at which `deadline` has passed (rounded up: a timer never fires early).
    pub(crate) fn deadline_ticks(&self, deadline: std::time::Instant) -> u64 {
        let d = deadline.saturating_duration_since(self.base);
        let ms = d.as_millis() + u128::from(d.subsec_nanos() % 1_000_000 != 0);
        ms.try_into().unwrap_or(u64::MAX)
    }

    /// The instant of tick `t`.
    pub(crate) fn tick_instant(&self, t: u64) -> std::time::Instant {
        self.base
            .checked_add(Duration::from_millis(t))
            .unwrap_or_else(|| self.base + FAR)
    }

    #[cfg_attr(not(feature = "test-util"), allow(dead_code))]
    pub(crate) fn pause(&self) {
        if !self.paused.load(Ordering::Acquire) {
            // Freeze on a whole millisecond (rounded up, so time never goes back), so that
            // whole-millisecond sleeps from a paused clock end exactly on their deadline.
            let at = std::time::Instant::now().saturating_duration_since(self.base);
            let ms = at.as_millis() + 1;
            let ns = ms.saturating_mul(1_000_000);
            self.frozen
                .store(u64::try_from(ns).unwrap_or(u64::MAX), Ordering::Release);
            self.paused.store(true, Ordering::Release);
        }
    }

    #[cfg_attr(not(feature = "test-util"), allow(dead_code))]
    pub(crate) fn resume(&self) {
        self.paused.store(false, Ordering::Release);
    }

    #[cfg_attr(not(feature = "test-util"), allow(dead_code))]
    pub(crate) fn advance(&self, d: Duration) {
        let add = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let cur = self.frozen.load(Ordering::Acquire);
        self.frozen
            .store(cur.saturating_add(add), Ordering::Release);
    }

    /// Moves a paused clock forward to `t` (never back).
    pub(crate) fn advance_to(&self, t: std::time::Instant) {
        let target =
            u64::try_from(t.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX);
        self.frozen.fetch_max(target, Ordering::AcqRel);
    }
}

/// A point in time, as the runtime measures it: the real monotonic clock, or the paused
/// clock of a runtime under test (feature `test-util`), so that deadlines computed by a
/// task agree with its timers.
///
/// ```
/// use hiver_runtime::{Duration, Instant};
/// let a = Instant::now();
/// let b = a + Duration::from_millis(5);
/// assert!(b > a);
/// assert_eq!(b - a, Duration::from_millis(5));
/// let std_instant: std::time::Instant = b.into_std();
/// assert_eq!(Instant::from_std(std_instant), b);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(std::time::Instant);

impl Instant {
    /// Now: the runtime's clock inside a runtime (paused under test), else the real one.
    ///
    /// ```
    /// use hiver_runtime::Instant;
    /// let a = Instant::now();
    /// let b = Instant::now();
    /// assert!(b >= a); // monotonic
    /// ```
    pub fn now() -> Instant {
        Instant(context::current().map_or_else(std::time::Instant::now, |c| c.handle.clock.now()))
    }

    /// Wraps a standard instant.
    ///
    /// ```
    /// let std_now = std::time::Instant::now();
    /// let i = hiver_runtime::Instant::from_std(std_now);
    /// assert_eq!(i.into_std(), std_now);
    /// ```
    pub fn from_std(i: std::time::Instant) -> Instant {
        Instant(i)
    }

    /// The standard instant.
    ///
    /// ```
    /// use hiver_runtime::{Duration, Instant};
    /// let deadline = Instant::now() + Duration::from_secs(1);
    /// let std_deadline: std::time::Instant = deadline.into_std();
    /// assert!(std_deadline > std::time::Instant::now());
    /// ```
    pub fn into_std(self) -> std::time::Instant {
        self.0
    }

    /// Time passed since this instant (zero if it is in the future).
    ///
    /// ```
    /// use hiver_runtime::{Duration, Instant};
    /// let start = Instant::now();
    /// std::thread::sleep(Duration::from_millis(5));
    /// assert!(start.elapsed() >= Duration::from_millis(5));
    /// assert_eq!((Instant::now() + Duration::from_secs(60)).elapsed(), Duration::ZERO);
    /// ```
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }

    /// `self - earlier`, or zero if `earlier` is later.
    ///
    /// ```
    /// use hiver_runtime::{Duration, Instant};
    /// let a = Instant::now();
    /// let b = a + Duration::from_millis(5);
    /// assert_eq!(b.saturating_duration_since(a), Duration::from_millis(5));
    /// assert_eq!(a.saturating_duration_since(b), Duration::ZERO);
    /// ```
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }

    /// `self - earlier`, or `None` if `earlier` is later.
    ///
    /// ```
    /// use hiver_runtime::{Duration, Instant};
    /// let a = Instant::now();
    /// let b = a + Duration::from_millis(5);
    /// assert_eq!(b.checked_duration_since(a), Some(Duration::from_millis(5)));
    /// assert_eq!(a.checked_duration_since(b), None);
    /// ```
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.0.checked_duration_since(earlier.0)
    }

    /// `self + d`, or `None` on overflow.
    ///
    /// ```
    /// use hiver_runtime::{Duration, Instant};
    /// let a = Instant::now();
    /// assert_eq!(a.checked_add(Duration::from_secs(1)), Some(a + Duration::from_secs(1)));
    /// assert_eq!(a.checked_add(Duration::MAX), None);
    /// ```
    pub fn checked_add(&self, d: Duration) -> Option<Instant> {
        self.0.checked_add(d).map(Instant)
    }

    /// `self - d`, or `None` on overflow.
    ///
    /// ```
    /// use hiver_runtime::{Duration, Instant};
    /// let b = Instant::now() + Duration::from_millis(5);
    /// assert_eq!(b.checked_sub(Duration::from_millis(5)), Some(b - Duration::from_millis(5)));
    /// assert_eq!(b.checked_sub(Duration::MAX), None);
    /// ```
    pub fn checked_sub(&self, d: Duration) -> Option<Instant> {
        self.0.checked_sub(d).map(Instant)
    }

    pub(crate) fn saturating_add(self, d: Duration) -> Instant {
        self.checked_add(d)
            .or_else(|| self.checked_add(FAR))
            .unwrap_or(self)
    }
}

impl From<std::time::Instant> for Instant {
    fn from(i: std::time::Instant) -> Instant {
        Instant(i)
    }
}

impl From<Instant> for std::time::Instant {
    fn from(i: Instant) -> std::time::Instant {
        i.0
    }
}

/// Adds a duration; a result too far to represent is clamped to about 30 years after
/// `self` instead of panicking (so `Instant::now() + Duration::MAX` is "never").
impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        self.saturating_add(d)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

/// Subtracts a duration, saturating at the earliest representable instant near `self`.
impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        self.checked_sub(d).unwrap_or(self)
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, d: Duration) {
        *self = *self - d;
    }
}

/// The duration between two instants, zero if `earlier` is later.
impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn ticks_round_deadlines_up_and_now_down() {
        let c = Clock::new();
        let base = c.base;
        assert_eq!(c.deadline_ticks(base + Duration::from_micros(1)), 1);
        assert_eq!(c.deadline_ticks(base + Duration::from_millis(3)), 3);
        assert_eq!(c.deadline_ticks(base), 0);
        c.pause();
        c.advance(Duration::from_micros(2500));
        let before = c.now_ticks();
        c.advance(Duration::from_millis(10));
        assert_eq!(c.now_ticks(), before + 10);
    }

    #[test]
    fn far_additions_clamp() {
        let now = Instant::now();
        let never = now + Duration::MAX;
        assert!(never > now + Duration::from_secs(86_400 * 365 * 20));
        assert_eq!(now - Duration::MAX, now);
        assert_eq!(now - never, Duration::ZERO);
    }
}
