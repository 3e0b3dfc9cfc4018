//! The channel errors. Each implements `Debug`, `Display` and `std::error::Error` for any
//! `T` (the value handed back is not printed, so `T` needs no `Debug`).
#![forbid(unsafe_code)]

use std::fmt;

/// The error of [`Sender::send`](crate::Sender::send): the channel is closed (the receiver
/// was dropped or closed it). The value that was not sent is handed back.
///
/// ```
/// let (tx, rx) = hiver_runtime::bounded::<u32>(1);
/// drop(rx);
/// let mut rt = hiver_runtime::Runtime::new()?;
/// let err = rt.block_on(tx.send(7))?.unwrap_err();
/// assert_eq!(err.to_string(), "sending on a closed channel");
/// assert_eq!(err.into_inner(), 7);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// assert_eq!(hiver_runtime::SendError("x").into_inner(), "x");
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a closed channel")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// The error of [`Sender::try_send`](crate::Sender::try_send), with the value handed back.
///
/// ```
/// use hiver_runtime::TrySendError;
/// let (tx, rx) = hiver_runtime::bounded::<u32>(1);
/// tx.try_send(1).unwrap();
/// assert!(matches!(tx.try_send(2), Err(TrySendError::Full(2))));
/// drop(rx);
/// let err = tx.try_send(3).unwrap_err();
/// assert!(err.is_closed());
/// assert_eq!(err.to_string(), "sending on a closed channel");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The channel is bounded and full: the value would have to wait.
    Full(T),
    /// The channel is closed: the receiver was dropped or closed it.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// assert_eq!(hiver_runtime::TrySendError::Full(5).into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) | TrySendError::Closed(v) => v,
        }
    }

    /// Whether the channel was full.
    ///
    /// ```
    /// assert!(hiver_runtime::TrySendError::Full(()).is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }

    /// Whether the channel was closed.
    ///
    /// ```
    /// assert!(hiver_runtime::TrySendError::Closed(()).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, TrySendError::Closed(_))
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrySendError::Full(_) => "Full(..)",
            TrySendError::Closed(_) => "Closed(..)",
        })
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrySendError::Full(_) => "sending on a full channel",
            TrySendError::Closed(_) => "sending on a closed channel",
        })
    }
}

impl<T> std::error::Error for TrySendError<T> {}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(e: SendError<T>) -> Self {
        TrySendError::Closed(e.0)
    }
}

/// The error of [`Receiver::recv`](crate::Receiver::recv): the channel is empty and no
/// value can come any more (every sender is gone, or the receiver closed it).
///
/// ```
/// let (tx, rx) = hiver_runtime::unbounded::<u32>();
/// drop(tx);
/// let mut rt = hiver_runtime::Runtime::new()?;
/// let err = rt.block_on(rx.recv())?.unwrap_err();
/// assert_eq!(err.to_string(), "receiving on a closed and empty channel");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("receiving on a closed and empty channel")
    }
}

impl std::error::Error for RecvError {}

/// The error of [`Receiver::try_recv`](crate::Receiver::try_recv).
///
/// ```
/// use hiver_runtime::TryRecvError;
/// let (tx, rx) = hiver_runtime::unbounded::<u32>();
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
/// assert_eq!(TryRecvError::Closed.to_string(), "receiving on a closed and empty channel");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing to receive now; senders remain, so a value may still come.
    Empty,
    /// Nothing to receive, ever: the channel is closed and empty.
    Closed,
}

impl TryRecvError {
    /// Whether the channel was only empty (still open).
    ///
    /// ```
    /// assert!(hiver_runtime::TryRecvError::Empty.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        matches!(self, TryRecvError::Empty)
    }

    /// Whether the channel was closed and empty.
    ///
    /// ```
    /// assert!(hiver_runtime::TryRecvError::Closed.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, TryRecvError::Closed)
    }
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryRecvError::Empty => "receiving on an empty channel",
            TryRecvError::Closed => "receiving on a closed and empty channel",
        })
    }
}

impl std::error::Error for TryRecvError {}

impl From<RecvError> for TryRecvError {
    fn from(_: RecvError) -> Self {
        TryRecvError::Closed
    }
}
