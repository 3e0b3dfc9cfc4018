//! Helpers: a per-driver runtime bounded in time and checked for descriptor leaks, and the
//! "poll, let the driver turn, poll, drop" step every test repeats.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::Poll;
use std::time::Duration;

use hiver_runtime::{DriverType, RuntimeMetrics};

pub(crate) use crate::drivers::drivers;
use crate::fds::{assert_no_fd_leak, open_fds};

static SERIAL: Mutex<()> = Mutex::new(());

/// One test at a time: they count descriptors, and share the machine's 2 cores.
pub(crate) fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// The bound on a test's async part (a hang is a failure).
const DEADLINE: Duration = Duration::from_secs(60);

/// `pattern(len, seed)[i]`: differs at every offset of a 251-byte cycle.
pub(crate) fn pattern_at(i: usize, seed: u8) -> u8 {
    (i % 251) as u8 ^ seed
}

pub(crate) fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| pattern_at(i, seed)).collect()
}

/// Runs `body` as a task on a 1-worker runtime of `driver` (a task that yields lets the
/// driver submit and reap), bounded by the deadline; checks no descriptor leaked. Returns
/// the runtime's counters.
pub(crate) fn run<F>(driver: DriverType, what: &str, body: F) -> RuntimeMetrics
where
    F: Future<Output = io::Result<()>> + Send + 'static,
{
    let before = open_fds();
    let mut rt = crate::drivers::runtime(driver, 1);
    rt.block_on(async move {
        let task = hiver_runtime::spawn(body);
        match hiver_runtime::timeout(DEADLINE, task).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Ok(Err(e)) => panic!("test task: {e}"),
            Err(_) => panic!("not done within {DEADLINE:?} (a hang)"),
        }
    })
    .unwrap_or_else(|e| panic!("{driver}: {what}: block_on: {e}"))
    .unwrap_or_else(|e| panic!("{driver}: {what}: {e}"));
    let metrics = rt.metrics();
    drop(rt);
    assert_no_fd_leak(before, format_args!("{driver}: {what}"));
    crate::assert_no_efault(&format!("{driver}: {what}"));
    metrics
}

/// Polls `fut` once, lets the driver turn (an io_uring operation is then in the kernel),
/// polls it again; `None` if it is still pending: the caller then drops it in flight.
pub(crate) async fn attempt<F: Future>(fut: Pin<&mut F>) -> Option<F::Output> {
    attempt_turning(fut, true).await
}

/// [`attempt`]; without `turn`, `None` right after the first poll (an io_uring operation
/// then is in the table, its SQE queued, not yet submitted).
pub(crate) async fn attempt_turning<F: Future>(
    mut fut: Pin<&mut F>,
    turn: bool,
) -> Option<F::Output> {
    if let Poll::Ready(v) = poll_once(fut.as_mut()).await {
        return Some(v);
    }
    if !turn {
        return None;
    }
    hiver_runtime::yield_now().await;
    match poll_once(fut).await {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

async fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
    let mut fut = Some(fut);
    poll_fn(|cx| Poll::Ready(fut.take().expect("polled once").poll(cx))).await
}

/// How many cancellations the io_uring workers asked the kernel for (0 on epoll).
pub(crate) fn cancels(m: &RuntimeMetrics) -> u64 {
    m.workers().iter().map(|w| w.io_cancels).sum()
}

/// A pacer: the peer thread takes one tick per step, so that data arrives while the test
/// keeps dropping operations; dropping the `Ticks` lets the peer run free.
pub(crate) fn pacer() -> (Ticks, Tocks) {
    let (tx, rx) = std::sync::mpsc::channel();
    (Ticks(Some(tx)), Tocks(rx))
}

pub(crate) struct Ticks(Option<std::sync::mpsc::Sender<()>>);

impl Ticks {
    pub(crate) fn tick(&self) {
        if let Some(tx) = &self.0 {
            let _ = tx.send(());
        }
    }

    /// From now on the peer does not wait.
    pub(crate) fn release(&mut self) {
        self.0 = None;
    }
}

pub(crate) struct Tocks(std::sync::mpsc::Receiver<()>);

impl Tocks {
    /// Waits for the next tick (returns at once once released).
    pub(crate) fn wait(&self) {
        let _ = self.0.recv();
    }

    /// Waits until the test releases the peer.
    pub(crate) fn wait_release(&self) {
        while self.0.recv().is_ok() {}
    }
}
