//! Helpers shared by the channel tests.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::Duration;

pub(crate) use super::drivers::{drivers, runtime};

/// Runs `f` on its own thread and fails if it has not finished within 60 s: a lost
/// wake-up becomes a failure instead of a hang. Panics in `f` come through.
pub(crate) fn watchdog<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let body = std::thread::Builder::new()
        .name(format!("test-{what}"))
        .spawn(move || {
            let r = f();
            let _ = done_tx.send(());
            r
        })
        .unwrap();
    match done_rx.recv_timeout(Duration::from_secs(60)) {
        Ok(()) | Err(RecvTimeoutError::Disconnected) => {
            body.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
        }
        Err(RecvTimeoutError::Timeout) => panic!("{what}: no progress in 60 s (lost wake-up?)"),
    }
}

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Drives `fut` on a plain thread (not a runtime thread), parking while it is pending.
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

/// Polls `fut` once: its output, or `None` if it is pending (the caller may drop it).
pub(crate) async fn poll_once<F: Future>(mut fut: Pin<&mut F>) -> Option<F::Output> {
    std::future::poll_fn(|cx| match fut.as_mut().poll(cx) {
        Poll::Ready(v) => Poll::Ready(Some(v)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

/// A future that yields once.
pub(crate) async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

/// A value that counts its drops and can panic in `Drop`.
pub(crate) struct Counted {
    pub(crate) id: u64,
    drops: Arc<AtomicUsize>,
    panics: bool,
}

impl Counted {
    pub(crate) fn new(id: u64, drops: &Arc<AtomicUsize>) -> Counted {
        Counted {
            id,
            drops: drops.clone(),
            panics: false,
        }
    }

    pub(crate) fn panicking(id: u64, drops: &Arc<AtomicUsize>) -> Counted {
        Counted {
            id,
            drops: drops.clone(),
            panics: true,
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if self.panics {
            panic!("Counted {} panics in drop on purpose", self.id);
        }
    }
}

pub(crate) fn count(drops: &AtomicUsize) -> usize {
    drops.load(Ordering::SeqCst)
}
