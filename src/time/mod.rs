//! Timers: a hierarchical wheel per worker (4 levels x 256 slots, 1 ms), and the guide's
//! API on it: `sleep`, `sleep_until`, `timeout`, `interval`. With the `test-util`
//! feature, a runtime's clock can be paused and advanced by hand.

pub(crate) mod clock;
mod interval;
mod sleep;
mod timeout;
pub(crate) mod wheel;

pub use clock::Instant;
pub use interval::{interval, Interval};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, Elapsed};

/// Pauses the clock of the current runtime: time stands still until [`advance`]d; a
/// `block_on` with nothing else to do jumps straight to its next timer.
///
/// ```
/// use hiver_runtime::{time, timeout, Duration, Runtime};
/// let mut rt = Runtime::new().unwrap();
/// rt.block_on(async {
///     time::pause();
///     // An hour-long timeout, decided in microseconds of real time.
///     let r = timeout(Duration::from_secs(3600), std::future::pending::<()>()).await;
///     assert!(r.is_err());
/// }).unwrap();
/// ```
///
/// # Panics
///
/// Outside a hiver runtime.
#[cfg(feature = "test-util")]
pub fn pause() {
    with_clock(|c| c.pause());
}

/// Lets the clock of the current runtime run again from where it stands.
///
/// ```
/// use hiver_runtime::{sleep, time, Duration, Instant, Runtime};
/// let mut rt = Runtime::builder().worker_threads(1).build()?;
/// rt.block_on(async {
///     time::pause();
///     let t0 = Instant::now();
///     hiver_runtime::yield_now().await;
///     assert_eq!(Instant::now(), t0); // paused: time stands still
///     time::resume();
///     sleep(Duration::from_millis(5)).await;
///     assert!(Instant::now() > t0); // running again
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Panics
///
/// Outside a hiver runtime.
#[cfg(feature = "test-util")]
pub fn resume() {
    with_clock(|c| c.resume());
}

/// Moves the paused clock of the current runtime forward by `d`, lets every worker fire
/// the timers now due, and yields once.
///
/// ```
/// use hiver_runtime::{time, Duration, Instant, Runtime};
/// let mut rt = Runtime::new().unwrap();
/// rt.block_on(async {
///     time::pause();
///     let t0 = Instant::now();
///     time::advance(Duration::from_secs(90)).await;
///     assert_eq!(t0.elapsed(), Duration::from_secs(90));
/// }).unwrap();
/// ```
///
/// # Panics
///
/// Outside a hiver runtime, or if the clock is not paused.
#[cfg(feature = "test-util")]
pub async fn advance(d: std::time::Duration) {
    let core = crate::runtime::context::current().expect("time::advance outside a hiver runtime");
    assert!(
        core.handle.clock.is_paused(),
        "time::advance needs a paused clock (time::pause)"
    );
    core.handle.clock.advance(d);
    for w in &core.handle.workers {
        w.notify();
    }
    drop(core);
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await;
}

#[cfg(feature = "test-util")]
fn with_clock(f: impl FnOnce(&clock::Clock)) {
    let core = crate::runtime::context::current()
        .expect("the clock can only be paused inside a hiver runtime");
    f(&core.handle.clock);
}
