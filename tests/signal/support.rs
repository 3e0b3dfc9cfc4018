//! Helpers of the signal tests: the test lock, raising a signal, and waiting tasks that only
//! a delivery's wake-up can resume.

#![allow(dead_code)] // not every test file uses every helper

use std::future::{poll_fn, Future};
use std::io;
use std::pin::{pin, Pin};
use std::sync::{Mutex, MutexGuard};
use std::task::Poll;
use std::time::Duration;

use hiver_runtime::signal::Signal;
use hiver_runtime::{spawn, timeout, unbounded, JoinHandle};

pub(crate) use crate::drivers::{drivers, runtime};

/// The bound on anything that should happen (a watchdog against hangs, 10x and more above
/// the expected time).
pub(crate) const LONG: Duration = Duration::from_secs(10);

/// How long a stream that must stay pending is watched.
pub(crate) const QUIET: Duration = Duration::from_millis(200);

/// Every test of this binary holds this lock while it runs: signals are process-wide.
static SERIAL: Mutex<()> = Mutex::new(());

/// Takes the binary-wide test lock (a test that failed holding it does not poison it).
pub(crate) fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Sends `signal` to the calling thread: its handler has run when this returns.
pub(crate) fn raise(signal: i32) {
    // SAFETY: raise(3) has no memory-safety preconditions; the caller listens to `signal`,
    // so its handler is installed and the default action (termination) cannot happen.
    let rc = unsafe { libc::raise(signal) };
    assert_eq!(rc, 0, "raise({signal}): {}", io::Error::last_os_error());
}

/// Sends `signal` to the process (any thread may take it).
pub(crate) fn kill_self(signal: i32) {
    // SAFETY: kill(2) and getpid(2) have no memory-safety preconditions; the caller listens
    // to `signal`, as for `raise`.
    let rc = unsafe { libc::kill(libc::getpid(), signal) };
    assert_eq!(
        rc,
        0,
        "kill(self, {signal}): {}",
        io::Error::last_os_error()
    );
}

/// Polls `future` once, which must be pending (it registers its waker).
pub(crate) async fn poll_once<F: Future>(future: Pin<&mut F>) {
    let mut future = Some(future);
    poll_fn(|cx| {
        if let Some(f) = future.take() {
            assert!(f.poll(cx).is_pending(), "nothing was sent yet");
        }
        Poll::Ready(())
    })
    .await;
}

/// `future`, calling `first_polled` once its first poll returned (whatever the result).
pub(crate) async fn after_first_poll<F: Future>(
    future: F,
    first_polled: impl FnOnce(),
) -> F::Output {
    let mut future = pin!(future);
    let mut first_polled = Some(first_polled);
    poll_fn(|cx| {
        let result = future.as_mut().poll(cx);
        if let Some(f) = first_polled.take() {
            f();
        }
        result
    })
    .await
}

/// Waits for the stream's next report, giving the stream back.
pub(crate) async fn report(mut stream: Signal) -> (Signal, Option<()>) {
    let got = stream.recv().await;
    (stream, got)
}

/// Spawns `future` on a worker and returns once its first poll is over: if that poll was
/// pending, only a wake-up can resume the task (it has no timer of its own).
pub(crate) async fn waiting<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (polled, first_poll) = unbounded();
    let task = spawn(after_first_poll(future, move || {
        let _ = polled.try_send(());
    }));
    let first = timeout(LONG, first_poll.recv()).await;
    assert!(
        matches!(first, Ok(Ok(()))),
        "the task was not polled: {first:?}"
    );
    task
}

/// The output of a task from [`waiting`], bounded by [`LONG`].
pub(crate) async fn finish<T: Send + 'static>(task: JoinHandle<T>, what: &str) -> T {
    timeout(LONG, task.wait())
        .await
        .unwrap_or_else(|_| panic!("{what}: not woken within {LONG:?}"))
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// Makes `stream` wait on a worker, calls `send`, and checks that the delivery wakes it
/// with a report; gives the stream back.
pub(crate) async fn deliver(stream: Signal, send: impl FnOnce(), what: &str) -> Signal {
    let task = waiting(report(stream)).await;
    send();
    let (stream, got) = finish(task, what).await;
    assert_eq!(got, Some(()), "{what}");
    stream
}

/// Checks that `stream` has a report ready (a delivery already dispatched).
pub(crate) async fn ready(stream: &mut Signal, what: &str) {
    let got = timeout(LONG, stream.recv()).await;
    assert_eq!(got, Ok(Some(())), "{what}");
}

/// Checks that `stream` reports nothing for [`QUIET`].
pub(crate) async fn quiet(stream: &mut Signal, what: &str) {
    let got = timeout(QUIET, stream.recv()).await;
    assert!(got.is_err(), "{what}: reported {got:?}, expected nothing");
}
