//! The sending half of a channel and its `send` future.
#![forbid(unsafe_code)]

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::error::{SendError, TrySendError};
use super::queue::PushError;
use super::Chan;
use crate::loom::sync::atomic::Ordering;
use crate::loom::sync::Arc;
use crate::sync::wait_set::Waiter;

/// The sending half of a channel made by [`bounded`](crate::bounded) or
/// [`unbounded`](crate::unbounded). Clone it to send from several tasks; it is `Send` and
/// `Sync` (for `T: Send`), so it may be used from any worker or thread. The channel closes
/// when the last sender is dropped: the receiver then gets what is buffered, then
/// [`RecvError`](crate::RecvError).
///
/// ```
/// use hiver_runtime::{bounded, spawn, Runtime};
///
/// let mut rt = Runtime::new()?;
/// rt.block_on(async {
///     let (tx, rx) = bounded::<&str>(4);
///     let tx2 = tx.clone();
///     spawn(async move { tx2.send("from a task").await.unwrap() });
///     tx.send("from block_on").await.unwrap();
///     drop(tx);
///     let mut got = vec![rx.recv().await.unwrap(), rx.recv().await.unwrap()];
///     got.sort();
///     assert_eq!(got, ["from a task", "from block_on"]);
///     assert!(rx.recv().await.is_err(), "every sender is gone");
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    pub(super) fn new(chan: Arc<Chan<T>>) -> Sender<T> {
        Sender { chan }
    }

    /// Sends `value`. On a bounded channel that is full, waits until there is room
    /// (backpressure); never waits on an unbounded one.
    ///
    /// Cancel safety: dropping the future before it completes drops the value with it; the
    /// value was never enqueued and no slot is held.
    ///
    /// ```
    /// let mut rt = hiver_runtime::Runtime::new()?;
    /// rt.block_on(async {
    ///     let (tx, rx) = hiver_runtime::bounded(1);
    ///     tx.send(1).await.unwrap();
    ///     assert_eq!(rx.recv().await, Ok(1));
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value when the channel is closed (the receiver was dropped
    /// or called `close`), including while this send was waiting.
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture {
            chan: &self.chan,
            value: Some(value),
            waiter: Waiter::Idle,
        }
    }

    /// Sends `value` if that needs no waiting.
    ///
    /// ```
    /// use hiver_runtime::TrySendError;
    /// let (tx, _rx) = hiver_runtime::bounded(1);
    /// assert_eq!(tx.try_send('a'), Ok(()));
    /// assert_eq!(tx.try_send('b'), Err(TrySendError::Full('b')));
    /// ```
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] when a bounded channel is full, [`TrySendError::Closed`]
    /// when the channel is closed; both hand the value back.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.chan.try_send(value).map_err(|e| match e {
            PushError::Full(v) => TrySendError::Full(v),
            PushError::Closed(v) => TrySendError::Closed(v),
        })
    }

    /// Whether the channel is closed: sends now fail.
    ///
    /// ```
    /// let (tx, rx) = hiver_runtime::unbounded::<()>();
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.queue.is_closed()
    }

    /// How many values are buffered now (a snapshot).
    ///
    /// ```
    /// let (tx, _rx) = hiver_runtime::bounded(8);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.queue.len()
    }

    /// Whether nothing is buffered now (a snapshot).
    ///
    /// ```
    /// let (tx, _rx) = hiver_runtime::unbounded::<u8>();
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity of a bounded channel; `None` for an unbounded one.
    ///
    /// ```
    /// assert_eq!(hiver_runtime::bounded::<u8>(100).0.capacity(), Some(100));
    /// assert_eq!(hiver_runtime::unbounded::<u8>().0.capacity(), None);
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.chan.queue.capacity()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        // Relaxed: as `Arc::clone`: a clone comes from a live sender, so the count cannot
        // reach zero meanwhile.
        self.chan.senders.fetch_add(1, Ordering::Relaxed);
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // AcqRel: the last sender's close comes after every other sender's last use.
        if self.chan.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.chan.close();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The future of [`Sender::send`].
///
/// ```
/// let (tx, rx) = hiver_runtime::unbounded();
/// let fut: hiver_runtime::SendFuture<'_, u8> = tx.send(3);
/// let mut rt = hiver_runtime::Runtime::new()?;
/// rt.block_on(fut)?.unwrap();
/// assert_eq!(rx.try_recv(), Ok(3));
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct SendFuture<'a, T> {
    chan: &'a Chan<T>,
    /// The value until it is sent (or handed back).
    value: Option<T>,
    waiter: Waiter,
}

impl<T> SendFuture<'_, T> {
    /// One try: `None` if the channel is full (the value is kept).
    fn attempt(&mut self, value: T) -> Option<Result<(), SendError<T>>> {
        let sent = match self.chan.try_send(value) {
            Ok(()) => true,
            Err(PushError::Closed(v)) => {
                // The close woke every waiter: nothing to pass on.
                self.waiter.leave(&self.chan.send_waiters);
                return Some(Err(SendError(v)));
            }
            Err(PushError::Full(v)) => {
                self.value = Some(v);
                return None;
            }
        };
        // A wake-up we took may not have been for the slot we got (see `RecvFuture`):
        // while room remains, pass it on to another waiting sender.
        if self.waiter.leave(&self.chan.send_waiters) && self.chan.has_room() {
            self.chan.wake_sender();
        }
        debug_assert!(sent);
        Some(Ok(()))
    }
}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if crate::task::coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let this = self.get_mut();
        let value = this
            .value
            .take()
            .expect("SendFuture polled after completion");
        if let Some(done) = this.attempt(value) {
            return Poll::Ready(done);
        }
        this.waiter.register(&this.chan.send_waiters, cx.waker());
        let value = this.value.take().expect("kept by attempt");
        match this.attempt(value) {
            Some(done) => Poll::Ready(done),
            None => Poll::Pending,
        }
    }
}

// The value is never pinned: it only moves in and out whole.
impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        self.waiter.cancel(&self.chan.send_waiters);
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture")
            .field("done", &self.value.is_none())
            .field("waiter", &self.waiter)
            .finish()
    }
}
