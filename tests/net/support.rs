//! Helpers of the network tests: per-driver runtimes, fd counting, patterned data.

#![allow(dead_code)] // not every test file uses every helper

use std::future::{poll_fn, Future};
use std::io;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::{DriverType, RuntimeMetrics};

pub(crate) use crate::drivers::{drivers, runtime};
pub(crate) use crate::fds::{assert_no_fd_leak, open_fds};

/// `len` bytes of a pattern that differs at every offset of a 251-byte cycle.
pub(crate) fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
}

/// The byte of [`pattern`]`(_, seed)` at `offset`.
pub(crate) fn pattern_at(offset: usize, seed: u8) -> u8 {
    (offset % 251) as u8 ^ seed
}

/// Every test of this binary holds this lock while it runs: the tests count the process's
/// descriptors and one lowers `RLIMIT_NOFILE`, both process-wide.
static SERIAL: Mutex<()> = Mutex::new(());

/// Takes the binary-wide test lock (a test that failed holding it does not poison it).
pub(crate) fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// The bound on every test's async part: a hang becomes a failure, never a stuck binary.
pub(crate) const DEADLINE: Duration = Duration::from_secs(60);

/// `fut`, failing the test if it takes longer than [`DEADLINE`] (a hang).
pub(crate) async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    match hiver_runtime::timeout(DEADLINE, fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: not done within {DEADLINE:?} (a hang)"),
    }
}

/// A connected pair made in the current task: (client, server side).
pub(crate) async fn pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let client = TcpStream::connect(listener.local_addr()?).await?;
    let (server, _) = listener.accept().await?;
    Ok((client, server))
}

/// Our stream connected to a blocking std peer: the peer can act at an exact point of the
/// test (write, close, reset) without a task of its own.
pub(crate) async fn pair_with_std() -> io::Result<(TcpStream, std::net::TcpStream)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let ours = TcpStream::connect(listener.local_addr()?).await?;
    // The handshake is done: the connection is in the backlog, so this returns at once.
    let (peer, _) = listener.accept()?;
    assert_eq!(peer.peer_addr()?, ours.local_addr()?);
    Ok((ours, peer))
}

/// Lets the runtime turn once (its driver submits and reaps) before going on.
pub(crate) async fn yield_now() {
    hiver_runtime::yield_now().await
}

/// Polls `fut` exactly once, with the task's waker.
pub(crate) async fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
    let mut fut = Some(fut);
    poll_fn(|cx| Poll::Ready(fut.take().expect("polled once").poll(cx))).await
}

/// Set when the waker a future was polled with is used: the operation it started made
/// progress (a completion, a readiness event), without polling the future again.
pub(crate) struct Woken(Arc<WakeFlag>);

struct WakeFlag {
    woken: AtomicBool,
    task: Mutex<Option<Waker>>,
}

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(w) = task {
            w.wake();
        }
    }
}

impl Woken {
    /// Whether the future's waker was used.
    pub(crate) fn is_set(&self) -> bool {
        self.0.woken.load(Ordering::SeqCst)
    }

    /// Waits until the future's waker is used.
    pub(crate) async fn wait(&self) {
        poll_fn(|cx| {
            if self.is_set() {
                return Poll::Ready(());
            }
            *self.0.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone());
            if self.is_set() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }
}

/// Polls `fut` once with a waker that records its use (and wakes this task).
pub(crate) async fn poll_once_flagged<F: Future>(fut: Pin<&mut F>) -> (Poll<F::Output>, Woken) {
    let flag = Arc::new(WakeFlag {
        woken: AtomicBool::new(false),
        task: Mutex::new(None),
    });
    let mut fut = Some(fut);
    let r = poll_fn(|cx| {
        *flag.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone());
        let waker = Waker::from(flag.clone());
        let polled = fut
            .take()
            .expect("polled once")
            .poll(&mut Context::from_waker(&waker));
        Poll::Ready(polled)
    })
    .await;
    (r, Woken(flag))
}

/// Both futures, run concurrently in this task.
pub(crate) async fn join2<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut ra, mut rb) = (None, None);
    poll_fn(|cx| {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() {
            Poll::Ready((ra.take().expect("set"), rb.take().expect("set")))
        } else {
            Poll::Pending
        }
    })
    .await
}

#[cfg(target_os = "linux")]
#[path = "../common/nofile.rs"]
mod nofile;
#[cfg(target_os = "linux")]
#[allow(unused_imports)] // not every binary that includes this file uses them
pub(crate) use nofile::{nofile, raise_nofile, set_nofile_soft, NofileGuard};

/// Runs `body` on a fresh runtime of `driver` with `workers` workers, bounded by
/// [`DEADLINE`], and checks that no descriptor leaked: counted before the runtime is made
/// and after it (and everything `body` made) is dropped. `body` must leave no socket or
/// task behind. Panics with `body`'s error.
pub(crate) fn run<T>(
    driver: DriverType,
    workers: usize,
    what: &str,
    body: impl Future<Output = io::Result<T>>,
) -> T {
    run_metrics(driver, workers, what, body).0
}

/// [`run`], returning the workers' counters as well (taken before the runtime's drop).
pub(crate) fn run_metrics<T>(
    driver: DriverType,
    workers: usize,
    what: &str,
    body: impl Future<Output = io::Result<T>>,
) -> (T, RuntimeMetrics) {
    let before = open_fds();
    let mut rt = runtime(driver, workers);
    let out = rt
        .block_on(async {
            let out = within(what, body).await;
            out
        })
        .unwrap_or_else(|e| panic!("{driver}: {what}: block_on: {e}"))
        .unwrap_or_else(|e| panic!("{driver}: {what}: {e}"));
    let metrics = rt.metrics();
    drop(rt);
    assert_no_fd_leak(before, format_args!("{driver}: {what}"));
    (out, metrics)
}

/// `fut` as a task on a worker (where a task that yields makes the driver submit and reap:
/// the worker loop); its panic, if any, is the caller's.
pub(crate) async fn on_worker<T: Send + 'static>(
    fut: impl Future<Output = io::Result<T>> + Send + 'static,
) -> io::Result<T> {
    match hiver_runtime::spawn(fut).await {
        Ok(v) => v,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("test task: {e}"),
    }
}
