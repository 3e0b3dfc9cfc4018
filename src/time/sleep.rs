//! `sleep`, `sleep_until` and the `Sleep` future.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::clock::Instant;
use super::wheel::Key;
use crate::runtime::context;
use crate::runtime::worker::Shared;

const OUTSIDE: &str =
    "hiver_runtime timers must be polled inside a hiver runtime (a task or Runtime::block_on)";

/// Waits until `duration` has passed.
///
/// A sleep never ends early; it ends within a millisecond tick plus the scheduling delay
/// after its deadline. `Duration::ZERO` (or any deadline already passed) completes after
/// yielding once to the scheduler, without a kernel wait. Durations too long to represent
/// (`Duration::MAX`) mean "about 30 years", never an overflow.
///
/// ```
/// use hiver_runtime::{sleep, Duration, Instant, Runtime};
/// let mut rt = Runtime::new().unwrap();
/// rt.block_on(async {
///     let start = Instant::now();
///     sleep(Duration::from_millis(20)).await;
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// }).unwrap();
/// ```
///
/// # Panics
///
/// When polled outside a hiver runtime.
pub fn sleep(duration: Duration) -> Sleep {
    let mut s = Sleep::new(Instant::now() + duration);
    s.due = duration.is_zero();
    s
}

/// Waits until `deadline`.
///
/// ```
/// use hiver_runtime::{sleep_until, Duration, Instant, Runtime};
/// let mut rt = Runtime::new().unwrap();
/// rt.block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(10);
///     sleep_until(deadline).await;
///     assert!(Instant::now() >= deadline);
/// }).unwrap();
/// ```
///
/// # Panics
///
/// When polled outside a hiver runtime.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(deadline)
}

/// The future of [`sleep`] and [`sleep_until`]. Dropping it cancels its timer.
///
/// Its timer lives in the wheel of the worker that polls it; if the future moves to
/// another worker, the timer moves with it at the next poll.
///
/// ```
/// use hiver_runtime::{sleep, Duration, Instant, Runtime, Sleep};
/// let mut rt = Runtime::builder().worker_threads(1).build()?;
/// rt.block_on(async {
///     let timer: Sleep = sleep(Duration::from_millis(5));
///     let deadline = timer.deadline();
///     timer.await;
///     assert!(Instant::now() >= deadline);
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Sleep {
    deadline: Instant,
    reg: Option<Registration>,
    yielded: bool,
    /// Known due without looking at the clock (a zero duration).
    due: bool,
}

struct Registration {
    shared: Arc<Shared>,
    key: Key,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("worker", &self.shared.index)
            .finish()
    }
}

impl Sleep {
    pub(crate) fn new(deadline: Instant) -> Sleep {
        Sleep {
            deadline,
            reg: None,
            yielded: false,
            due: false,
        }
    }

    /// The deadline.
    ///
    /// ```
    /// use hiver_runtime::{sleep, Duration, Instant};
    /// let before = Instant::now();
    /// let s = sleep(Duration::from_secs(60));
    /// assert!(s.deadline() >= before + Duration::from_secs(60));
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has passed.
    ///
    /// ```
    /// use hiver_runtime::{sleep, sleep_until, Duration, Instant};
    /// assert!(!sleep(Duration::from_secs(60)).is_elapsed());
    /// assert!(sleep_until(Instant::now()).is_elapsed());
    /// ```
    pub fn is_elapsed(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Moves the deadline (earlier or later); the next poll waits for the new one.
    ///
    /// ```
    /// use hiver_runtime::{sleep, Duration, Instant, Runtime};
    /// let mut rt = Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let mut s = sleep(Duration::from_secs(3600));
    ///     s.reset(Instant::now() + Duration::from_millis(1));
    ///     s.await;
    /// }).unwrap();
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.cancel();
        self.deadline = deadline;
        self.yielded = false;
        self.due = false;
    }

    fn cancel(&mut self) {
        if let Some(reg) = self.reg.take() {
            let core = context::current();
            match core {
                Some(c) if Arc::ptr_eq(&c.shared, &reg.shared) && c.remove_timer(reg.key) => {}
                _ => reg.shared.cancel_timer(reg.key),
            }
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let Some(core) = context::current() else {
            panic!("{OUTSIDE}")
        };
        if this
            .reg
            .as_ref()
            .is_some_and(|r| !Arc::ptr_eq(&r.shared, &core.shared))
        {
            this.cancel();
        }
        if let Some(reg) = &this.reg {
            if core.timer_fired(reg.key, cx.waker()) {
                this.reg = None;
                return Poll::Ready(());
            }
            return Poll::Pending;
        }
        let key = if this.due {
            None
        } else {
            core.insert_timer(this.deadline.into_std(), cx.waker())
        };
        match key {
            Some(key) => {
                this.reg = Some(Registration {
                    shared: core.shared.clone(),
                    key,
                });
                Poll::Pending
            }
            None if this.yielded => Poll::Ready(()),
            None => {
                // Already due: yield once so that a loop of zero sleeps cannot starve
                // the other tasks of this worker.
                this.yielded = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}
