//! The receiving half of a channel and its `recv` future.
#![forbid(unsafe_code)]

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::error::{RecvError, TryRecvError};
use super::queue::PopError;
use super::Chan;
use crate::loom::sync::Arc;
use crate::sync::wait_set::Waiter;

/// The receiving half of a channel made by [`bounded`](crate::bounded) or
/// [`unbounded`](crate::unbounded).
///
/// It is `Send` and `Sync` (for `T: Send`): [`recv`](Self::recv) takes `&self`, so
/// several tasks may share the receiver (in an `Arc`) and receive at once; each value goes
/// to exactly one of them. Dropping the receiver closes the channel: senders waiting for
/// space wake up and every send fails with its value handed back, and the values still
/// buffered are dropped.
///
/// ```
/// use hiver_runtime::{unbounded, spawn, Runtime};
///
/// let mut rt = Runtime::new()?;
/// rt.block_on(async {
///     let (tx, rx) = unbounded::<u32>();
///     spawn(async move {
///         for i in 0..3 {
///             tx.send(i).await.unwrap();
///         }
///     });
///     let mut got = Vec::new();
///     while let Ok(v) = rx.recv().await {
///         got.push(v);
///     }
///     assert_eq!(got, [0, 1, 2]);
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Receiver<T> {
    pub(super) fn new(chan: Arc<Chan<T>>) -> Receiver<T> {
        Receiver { chan }
    }

    /// Receives the next value, waiting for one if the channel is empty.
    ///
    /// Cancel safety: dropping the future before it completes loses no value (a value is
    /// taken only in the poll that returns it), so `recv` may be used in a `select`.
    ///
    /// ```
    /// let mut rt = hiver_runtime::Runtime::new()?;
    /// rt.block_on(async {
    ///     let (tx, rx) = hiver_runtime::bounded(2);
    ///     tx.send("hi").await.unwrap();
    ///     assert_eq!(rx.recv().await, Ok("hi"));
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the channel is empty and closed: every sender was dropped, or
    /// [`close`](Self::close) was called. Buffered values are all received first.
    pub fn recv(&self) -> RecvFuture<'_, T> {
        RecvFuture {
            chan: &self.chan,
            waiter: Waiter::Idle,
        }
    }

    /// Receives a value if one is buffered.
    ///
    /// ```
    /// use hiver_runtime::TryRecvError;
    /// let (tx, rx) = hiver_runtime::bounded(2);
    /// tx.try_send(9).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(9));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// ```
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when nothing is buffered but senders remain,
    /// [`TryRecvError::Closed`] when the channel is empty and closed.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let (result, turned_away) = self.chan.try_recv();
        if turned_away {
            self.chan.wake_receiver();
        }
        result.map_err(|e| match e {
            PopError::Empty => TryRecvError::Empty,
            PopError::Closed => TryRecvError::Closed,
        })
    }

    /// Closes the channel: later sends fail (waiting senders wake up and fail too), and the
    /// values already buffered can still be received.
    ///
    /// ```
    /// let (tx, rx) = hiver_runtime::unbounded();
    /// tx.try_send(1).unwrap();
    /// rx.close();
    /// assert!(tx.try_send(2).unwrap_err().is_closed());
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert!(rx.try_recv().unwrap_err().is_closed());
    /// ```
    pub fn close(&self) {
        self.chan.close();
    }

    /// Whether the channel is closed (no value can be sent any more); buffered values may
    /// remain.
    ///
    /// ```
    /// let (tx, rx) = hiver_runtime::bounded::<u8>(1);
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.queue.is_closed()
    }

    /// How many values are buffered now (a snapshot).
    ///
    /// ```
    /// let (tx, rx) = hiver_runtime::unbounded();
    /// tx.try_send(()).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.queue.len()
    }

    /// Whether nothing is buffered now (a snapshot).
    ///
    /// ```
    /// let (_tx, rx) = hiver_runtime::bounded::<u8>(1);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity of a bounded channel; `None` for an unbounded one.
    ///
    /// ```
    /// assert_eq!(hiver_runtime::bounded::<u8>(3).1.capacity(), Some(3));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.chan.queue.capacity()
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.close();
        // Drop what is buffered now rather than when the last sender goes. Nobody waits
        // for the slots this frees: the channel is closed. If a value's drop panics, the
        // rest go with the queue (each once).
        while let (Ok(v), _) = self.chan.queue.pop() {
            drop(v);
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The future of [`Receiver::recv`].
///
/// ```
/// let (tx, rx) = hiver_runtime::unbounded();
/// tx.try_send(1).unwrap();
/// let fut: hiver_runtime::RecvFuture<'_, i32> = rx.recv();
/// let mut rt = hiver_runtime::Runtime::new()?;
/// assert_eq!(rt.block_on(fut)?, Ok(1));
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<'a, T> {
    chan: &'a Chan<T>,
    waiter: Waiter,
}

impl<T> RecvFuture<'_, T> {
    /// One try: `None` if the channel is empty and open.
    fn attempt(&mut self) -> Option<Result<T, RecvError>> {
        let (result, turned_away) = self.chan.try_recv();
        let outcome = match result {
            Ok(v) => Ok(v),
            Err(PopError::Closed) => {
                // The close woke every waiter: nothing to pass on.
                self.waiter.leave(&self.chan.recv_waiters);
                return Some(Err(RecvError));
            }
            Err(PopError::Empty) => {
                if turned_away {
                    // Still waiting ourselves: waking us too is harmless (we try again).
                    self.chan.wake_receiver();
                }
                return None;
            }
        };
        // Leave first, so that a wake-up passed on below cannot land on our own finished
        // registration. A wake-up we took may not have been for the value we got (our
        // try after registering, or a spurious poll, found one by itself): while values
        // remain, pass it on, as event-listener does for a notified listener dropped.
        let notified = self.waiter.leave(&self.chan.recv_waiters);
        if turned_away || (notified && self.chan.queue.len() > 0) {
            self.chan.wake_receiver();
        }
        Some(outcome)
    }
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if crate::task::coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let this = self.get_mut();
        if let Some(done) = this.attempt() {
            return Poll::Ready(done);
        }
        this.waiter.register(&this.chan.recv_waiters, cx.waker());
        match this.attempt() {
            Some(done) => Poll::Ready(done),
            None => Poll::Pending,
        }
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        self.waiter.cancel(&self.chan.recv_waiters);
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture")
            .field("waiter", &self.waiter)
            .finish()
    }
}
