//! [`HyperExecutor`] and [`HyperTimer`]: hyper 1.x's `rt::Executor` and `rt::Timer` on
//! hiver (feature `hyper`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::rt::{Executor, Sleep, Timer};

/// hyper's `rt::Executor` on hiver: each future hyper hands it (an HTTP/2 stream, a
/// client connection's background task) is [`spawn`](crate::spawn)ed on the current
/// runtime. Give it to `hyper::server::conn::http2::Builder::new` or to
/// `hyper::client::conn::http2::Builder::new`.
///
/// # Panics
///
/// `execute` outside a runtime (as `spawn` does); hyper calls it from the connection's
/// task, which runs on one.
///
/// ```
/// use hiver_runtime::compat::{HyperExecutor, HyperTimer};
/// let mut http2 = hyper::server::conn::http2::Builder::new(HyperExecutor);
/// http2.timer(HyperTimer);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct HyperExecutor;

impl<F> Executor<F> for HyperExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        // Detached: hyper watches its futures through its own channels.
        crate::spawn(fut);
    }
}

/// hyper's `rt::Timer` on hiver's timer wheel (header-read timeouts, keep-alive pings,
/// ...): its sleeps are hiver [`Sleep`](crate::Sleep)s, boxed as hyper wants, and reset in
/// place. It reads hiver's clock, so a paused test clock (`test-util`) drives hyper's
/// timeouts too.
///
/// ```
/// use hiver_runtime::compat::HyperTimer;
/// use std::time::Duration;
/// let mut http1 = hyper::server::conn::http1::Builder::new();
/// http1.timer(HyperTimer).header_read_timeout(Duration::from_secs(5));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct HyperTimer;

impl Timer for HyperTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        Box::pin(HyperSleep(crate::sleep(duration)))
    }

    fn sleep_until(&self, deadline: std::time::Instant) -> Pin<Box<dyn Sleep>> {
        Box::pin(HyperSleep(crate::sleep_until(deadline.into())))
    }

    fn now(&self) -> std::time::Instant {
        crate::Instant::now().into_std()
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn Sleep>>, new_deadline: std::time::Instant) {
        match sleep.as_mut().downcast_mut_pin::<HyperSleep>() {
            Some(ours) => ours.get_mut().0.reset(new_deadline.into()),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// A hiver `Sleep` as hyper's `rt::Sleep`.
struct HyperSleep(crate::Sleep);

impl Future for HyperSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.get_mut().0).poll(cx)
    }
}

impl Sleep for HyperSleep {}
