//! Async channels: [`bounded`] (backpressure) and [`unbounded`] multi-producer channels,
//! each on its own lock-free queue.
//!
//! - `bounded(n)`: a fixed array of `n` slots with per-slot sequence numbers (Vyukov's
//!   bounded queue, `bounded.rs`). A send into a full channel waits (backpressure).
//! - `unbounded()`: a linked list of fixed-size blocks (`unbounded.rs`). A send never waits.
//!
//! Both queues are multi-producer *and* multi-consumer with a CAS on each end, because
//! [`Receiver::recv`] takes `&self` and two tasks may call it at once. The closed state
//! lives in the queue's tail index, so a send and a close are ordered by one atomic word:
//! a value is either in the queue before it closed, and will be received, or handed back.
//!
//! Waiting (`waiters.rs`): the first waiting receiver, and the first sender waiting for
//! space, register their waker in a lock-free slot; only a second concurrent waiter on the
//! same side goes to a list behind a mutex. A send or receive that needs not wait takes no
//! lock: it changes the queue, issues one SeqCst fence, and looks for waiters with plain
//! loads. Every waiter re-checks the queue after registering, so no wake-up is lost.
//!
//! The channel closes when the receiver is dropped or calls [`Receiver::close`], or when
//! the last sender is dropped. Values still buffered when the channel's memory goes (the
//! last handle dropped) are dropped then, each once; a dropped receiver drops them at once.
//!
//! `unsafe` is confined to the two queues and the waker slot (`bounded.rs`, `unbounded.rs`,
//! `waker.rs`), each stating its invariants; the other files forbid it.

mod bounded;
mod error;
mod queue;
mod receiver;
mod sender;
mod unbounded;

#[cfg(all(test, not(loom)))]
mod tests;

pub use error::{RecvError, SendError, TryRecvError, TrySendError};
pub use receiver::{Receiver, RecvFuture};
pub use sender::{SendFuture, Sender};

use crate::loom::sync::atomic::{fence, AtomicUsize, Ordering};
use crate::loom::sync::Arc;
use crate::sync::wait_set::WaitSet;
use queue::{PopError, PushError, Queue};

/// Creates a bounded channel holding at most `capacity` values: a send into a full channel
/// waits until the receiver takes one (backpressure).
///
/// ```
/// use hiver_runtime::{bounded, spawn, Runtime};
///
/// let mut rt = Runtime::new()?;
/// let sum = rt.block_on(async {
///     let (tx, rx) = bounded::<i32>(10);
///     spawn(async move {
///         for i in 0..20 {
///             tx.send(i).await.unwrap();
///         }
///     });
///     let mut sum = 0;
///     while let Ok(value) = rx.recv().await {
///         sum += value;
///     }
///     sum
/// })?;
/// assert_eq!(sum, 190);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Panics
///
/// If `capacity` is 0: hiver has no rendezvous channel (`bounded(1)` is the tightest
/// backpressure), and the message says so. Also if `capacity` is absurdly large (over
/// `usize::MAX / 4`); the slots are allocated up front.
pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "hiver_runtime::bounded: capacity must be at least 1 (capacity 0 would be a \
         rendezvous channel, which hiver does not provide; bounded(1) is the tightest \
         backpressure)"
    );
    channel(Queue::Bounded(bounded::ArrayQueue::new(capacity)))
}

/// Creates an unbounded channel: a send never waits, and memory grows with the backlog.
///
/// ```
/// let (shutdown_tx, shutdown_rx) = hiver_runtime::unbounded::<()>();
/// shutdown_tx.try_send(()).unwrap();
/// assert_eq!(shutdown_rx.try_recv(), Ok(()));
/// assert_eq!(shutdown_tx.capacity(), None);
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    channel(Queue::Unbounded(unbounded::ListQueue::new()))
}

fn channel<T>(queue: Queue<T>) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan {
        queue,
        senders: AtomicUsize::new(1),
        recv_waiters: Padded(WaitSet::new()),
        send_waiters: Padded(WaitSet::new()),
    });
    (Sender::new(chan.clone()), Receiver::new(chan))
}

/// What the handles of one channel share.
pub(crate) struct Chan<T> {
    queue: Queue<T>,
    /// Live `Sender`s; the last one dropped closes the channel.
    senders: AtomicUsize,
    /// Receivers waiting for a value (or for the close).
    recv_waiters: Padded<WaitSet>,
    /// Senders waiting for space (or for the close); bounded channels only.
    send_waiters: Padded<WaitSet>,
}

impl<T> Chan<T> {
    /// Pushes without waiting, then wakes a waiting receiver.
    fn try_send(&self, value: T) -> Result<(), PushError<T>> {
        self.queue.push(value)?;
        // SeqCst: the notifier's fence of the handshake (waiters.rs).
        fence(Ordering::SeqCst);
        self.recv_waiters.notify_one();
        Ok(())
    }

    /// Pops without waiting, then wakes a sender waiting for the slot it freed. The flag
    /// is `true` if this pop turned another receiver's pop away (unbounded channels): the
    /// caller then calls `wake_receiver`, after leaving the waiters itself if it is done,
    /// so that the wake-up goes to a receiver that still needs one.
    fn try_recv(&self) -> (Result<T, PopError>, bool) {
        let (result, turned_away) = self.queue.pop();
        if result.is_ok() && self.queue.is_bounded() {
            // SeqCst: the notifier's fence of the handshake (waiters.rs).
            fence(Ordering::SeqCst);
            self.send_waiters.notify_one();
        }
        (result, turned_away)
    }

    /// Wakes one waiting sender (passing on a wake-up its taker did not need).
    fn wake_sender(&self) {
        // SeqCst: the notifier's fence of the handshake (waiters.rs).
        fence(Ordering::SeqCst);
        self.send_waiters.notify_one();
    }

    /// Whether a send could go in now (a snapshot).
    fn has_room(&self) -> bool {
        self.queue
            .capacity()
            .is_some_and(|cap| self.queue.len() < cap)
    }

    /// Wakes one waiting receiver (on behalf of a pop that was turned away, or passing on
    /// a wake-up its taker did not need).
    fn wake_receiver(&self) {
        // SeqCst: the notifier's fence of the handshake (waiters.rs).
        fence(Ordering::SeqCst);
        self.recv_waiters.notify_one();
    }

    /// Closes the channel and wakes every waiter; `true` if this call closed it.
    fn close(&self) -> bool {
        if !self.queue.close() {
            return false;
        }
        // SeqCst: the notifier's fence of the handshake (waiters.rs).
        fence(Ordering::SeqCst);
        self.send_waiters.notify_all();
        self.recv_waiters.notify_all();
        true
    }
}

/// Keeps a hot atomic on its own cache line pair (128 bytes: adjacent-line prefetch).
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}
