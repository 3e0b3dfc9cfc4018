//! `timeout`: a deadline around any future.

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use super::sleep::sleep;

/// The error of a [`timeout`] whose deadline passed first.
///
/// ```
/// use hiver_runtime::{timeout, Duration, Elapsed, Runtime};
/// let mut rt = Runtime::builder().worker_threads(1).build()?;
/// let r = rt.block_on(timeout(Duration::from_millis(1), std::future::pending::<()>()))?;
/// let err: Elapsed = r.unwrap_err();
/// assert_eq!(err.to_string(), "deadline has elapsed");
/// assert_eq!(std::io::Error::from(err).kind(), std::io::ErrorKind::TimedOut);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(e: Elapsed) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, e)
    }
}

/// Runs `future` with a deadline of `duration`: its output, or [`Elapsed`] (and the future
/// dropped) if the time runs out first. The future is polled before the timer, so one that
/// is ready at once wins even with a zero duration.
///
/// ```
/// use hiver_runtime::{sleep, timeout, Duration, Runtime};
/// let mut rt = Runtime::new().unwrap();
/// rt.block_on(async {
///     assert_eq!(timeout(Duration::from_secs(1), async { 5 }).await, Ok(5));
///     let slow = timeout(Duration::from_millis(5), sleep(Duration::from_secs(60))).await;
///     assert!(slow.is_err());
/// }).unwrap();
/// ```
///
/// # Errors
///
/// [`Elapsed`] when the deadline passes first.
///
/// # Panics
///
/// When polled outside a hiver runtime (if the future is not ready at once).
pub async fn timeout<F: Future>(duration: Duration, future: F) -> Result<F::Output, Elapsed> {
    let mut future = pin!(future);
    let mut timer = None;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = future.as_mut().poll(cx) {
            return Poll::Ready(Ok(v));
        }
        let t = timer.get_or_insert_with(|| sleep(duration));
        match std::pin::Pin::new(t).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}
