//! Linux readiness shim: an epoll instance, edge-triggered registrations and an eventfd waker.
//!
//! `kqueue.rs` gives macOS and the BSDs the same names with the same contract, as mio's
//! `Selector` does on every OS. The contract:
//!
//! - Registrations are edge-triggered. An event is reported when a source becomes ready, not
//!   while it stays ready: after an event the caller reads (or writes) until `EAGAIN` before it
//!   waits for that source again, or it may wait forever. New data is a new edge.
//! - [`Poller::wait`] clears the event list first, blocks for at most the timeout (`None`
//!   waits forever, `Some(Duration::ZERO)` only polls), retries `EINTR` with the time that is
//!   left, and returns how many events it stored.
//! - A [`Waker`] event carries the waker's token and is readable. Wakes coalesce: many wakes
//!   before a wait give one event.
//! - Delete a source before closing it: epoll tracks the open file, so a source whose file
//!   descriptor was duplicated stays registered after one of the numbers is closed (epoll(7)).
//!
//! # Safety
//!
//! Every call is a safe rustix function. The one `unsafe` item is the `Send`/`Sync` impl of
//! [`Events`]: rustix's `epoll::Event` holds a union whose pointer variant is not `Send`.
//! The invariant it relies on: this module registers every source with
//! `EventData::new_u64`, so the data of every event is a plain integer token, read back
//! with `EventData::u64` and never dereferenced as a pointer.
//!
//! # Examples
//!
//! ```
//! use std::io::Write;
//! use std::os::unix::net::UnixStream;
//! use std::time::Duration;
//!
//! use hiver_sys::epoll::{Events, Interest, Poller, Token};
//!
//! # fn main() -> std::io::Result<()> {
//! let poller = Poller::new()?;
//! let (a, mut b) = UnixStream::pair()?;
//! a.set_nonblocking(true)?;
//! poller.add(&a, Token(1), Interest::READABLE)?;
//!
//! b.write_all(b"ping")?;
//! let mut events = Events::with_capacity(64);
//! let n = poller.wait(&mut events, Some(Duration::from_secs(5)))?;
//! assert_eq!(n, 1);
//! let event = events.iter().next().unwrap();
//! assert_eq!(event.token(), Token(1));
//! assert!(event.is_readable());
//! # Ok(())
//! # }
//! ```
//!
//! # References
//!
//! epoll(7), epoll_ctl(2), epoll_wait(2), eventfd(2); tokio-rs/mio
//! `src/sys/unix/selector/epoll.rs` and `src/sys/unix/waker/eventfd.rs`.
#![allow(unsafe_code)]

use std::fmt;
use std::io;
use std::ops::BitOr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use rustix::buffer::spare_capacity;
use rustix::event::epoll::{self, CreateFlags, EventData, EventFlags};
use rustix::event::{eventfd, EventfdFlags, Timespec};
use rustix::io::Errno;

/// The longest single kernel wait. A longer timeout is waited in slices of this length, so
/// the millisecond count always fits `epoll_pwait`'s `int` and `epoll_pwait2` (which a
/// seccomp filter may refuse) is never needed.
const MAX_WAIT_SLICE: Duration = Duration::from_millis(1 << 30);

/// A caller-chosen number that identifies a registration in the events it produces.
///
/// # Examples
///
/// ```
/// use hiver_sys::epoll::Token;
///
/// assert_eq!(Token(7).0, 7);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token(pub u64);

/// The readiness a registration asks for: readable, writable, or both. Never empty.
///
/// # Examples
///
/// ```
/// use hiver_sys::epoll::Interest;
///
/// let both = Interest::READABLE | Interest::WRITABLE;
/// assert!(both.is_readable() && both.is_writable());
/// assert!(!Interest::READABLE.is_writable());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Interest(u8);

impl Interest {
    /// Interest in the source becoming readable (and in the peer closing its write side).
    pub const READABLE: Interest = Interest(0b01);
    /// Interest in the source becoming writable.
    pub const WRITABLE: Interest = Interest(0b10);

    /// Whether this interest includes [`Interest::READABLE`].
    #[must_use]
    pub const fn is_readable(self) -> bool {
        self.0 & Self::READABLE.0 != 0
    }

    /// Whether this interest includes [`Interest::WRITABLE`].
    #[must_use]
    pub const fn is_writable(self) -> bool {
        self.0 & Self::WRITABLE.0 != 0
    }

    /// The epoll flags of an edge-triggered registration with this interest.
    fn epoll_flags(self) -> EventFlags {
        let mut flags = EventFlags::ET | EventFlags::RDHUP;
        if self.is_readable() {
            flags |= EventFlags::IN;
        }
        if self.is_writable() {
            flags |= EventFlags::OUT;
        }
        flags
    }
}

impl BitOr for Interest {
    type Output = Interest;

    fn bitor(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }
}

/// An epoll instance: the set of registered sources and the queue of their events.
///
/// `Poller` is `Send` and `Sync`: registrations may change from any thread while another
/// thread waits.
#[derive(Debug)]
pub struct Poller {
    epoll: OwnedFd,
}

impl Poller {
    /// Creates an epoll instance with `EPOLL_CLOEXEC`.
    ///
    /// # Errors
    ///
    /// The error of `epoll_create1`: `EMFILE`/`ENFILE` when out of file descriptors,
    /// `ENOMEM` when the kernel is out of memory.
    ///
    /// # Examples
    ///
    /// ```
    /// let poller = hiver_sys::epoll::Poller::new()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[doc(alias = "epoll_create1")]
    pub fn new() -> io::Result<Poller> {
        let epoll = epoll::create(CreateFlags::CLOEXEC)?;
        Ok(Poller { epoll })
    }

    /// Registers `fd`, edge-triggered (`EPOLLET`), with `EPOLLRDHUP` and the flags of
    /// `interest`; its events will carry `token`.
    ///
    /// # Errors
    ///
    /// The error of `epoll_ctl(EPOLL_CTL_ADD)`: `EEXIST` if `fd` is already registered,
    /// `EPERM` if it does not support epoll (a regular file), `ENOSPC` past
    /// `max_user_watches`.
    ///
    /// # Examples
    ///
    /// ```
    /// use hiver_sys::epoll::{Interest, Poller, Token};
    ///
    /// let poller = Poller::new()?;
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// poller.add(&a, Token(1), Interest::READABLE | Interest::WRITABLE)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[doc(alias = "epoll_ctl")]
    pub fn add(&self, fd: impl AsFd, token: Token, interest: Interest) -> io::Result<()> {
        let data = EventData::new_u64(token.0);
        epoll::add(&self.epoll, fd, data, interest.epoll_flags())?;
        Ok(())
    }

    /// Replaces the token and interest of a registered `fd`. This re-arms the edge: if the
    /// source is ready for the new interest now, the next wait reports it.
    ///
    /// # Errors
    ///
    /// The error of `epoll_ctl(EPOLL_CTL_MOD)`: `ENOENT` if `fd` is not registered.
    ///
    /// # Examples
    ///
    /// ```
    /// use hiver_sys::epoll::{Interest, Poller, Token};
    ///
    /// let poller = Poller::new()?;
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// poller.add(&a, Token(1), Interest::READABLE)?;
    /// poller.modify(&a, Token(2), Interest::WRITABLE)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[doc(alias = "epoll_ctl")]
    pub fn modify(&self, fd: impl AsFd, token: Token, interest: Interest) -> io::Result<()> {
        let data = EventData::new_u64(token.0);
        epoll::modify(&self.epoll, fd, data, interest.epoll_flags())?;
        Ok(())
    }

    /// Removes `fd` from the poller; it produces no more events. Call it before closing a
    /// source.
    ///
    /// # Errors
    ///
    /// The error of `epoll_ctl(EPOLL_CTL_DEL)`: `ENOENT` (kind `NotFound`) if `fd` is not
    /// registered.
    ///
    /// # Examples
    ///
    /// ```
    /// use hiver_sys::epoll::{Interest, Poller, Token};
    ///
    /// let poller = Poller::new()?;
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// poller.add(&a, Token(1), Interest::READABLE)?;
    /// poller.delete(&a)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[doc(alias = "epoll_ctl")]
    pub fn delete(&self, fd: impl AsFd) -> io::Result<()> {
        epoll::delete(&self.epoll, fd)?;
        Ok(())
    }

    /// Clears `events`, then waits until at least one event is ready or `timeout` has passed,
    /// and returns the number of events stored (at most the capacity of `events`).
    ///
    /// `None` waits forever; `Some(Duration::ZERO)` returns at once. The kernel rounds a
    /// timeout up to whole milliseconds. An `EINTR` is retried with the time left.
    ///
    /// # Errors
    ///
    /// The error of `epoll_pwait`, other than `EINTR`: `EBADF`/`EINVAL` only if the instance
    /// is broken, which this type does not allow.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use hiver_sys::epoll::{Events, Poller};
    ///
    /// let poller = Poller::new()?;
    /// let mut events = Events::with_capacity(16);
    /// assert_eq!(poller.wait(&mut events, Some(Duration::ZERO))?, 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[doc(alias = "epoll_wait")]
    #[doc(alias = "epoll_pwait")]
    pub fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        events.list.clear();
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut remaining = timeout;
        loop {
            let slice = remaining.map(|r| r.min(MAX_WAIT_SLICE));
            match self.wait_once(events, slice) {
                // A slice of a longer timeout ended: wait for the rest.
                Ok(0) if slice != remaining => {}
                Ok(n) => return Ok(n),
                Err(Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
            remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        }
    }

    /// One `epoll_pwait`, appending to `events` (which rustix never clears).
    fn wait_once(&self, events: &mut Events, timeout: Option<Duration>) -> Result<usize, Errno> {
        let timeout = timeout.map(timespec);
        epoll::wait(
            &self.epoll,
            spare_capacity(&mut events.list),
            timeout.as_ref(),
        )
    }
}

impl AsFd for Poller {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.epoll.as_fd()
    }
}

/// Converts a (clamped) duration to a `Timespec`, saturating instead of failing.
fn timespec(d: Duration) -> Timespec {
    Timespec {
        tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(d.subsec_nanos()),
    }
}

/// The list [`Poller::wait`] fills.
///
/// # Examples
///
/// ```
/// let events = hiver_sys::epoll::Events::with_capacity(256);
/// assert!(events.is_empty());
/// ```
pub struct Events {
    list: Vec<epoll::Event>,
}

impl Events {
    /// Creates a list that holds up to `capacity` events per wait (at least one).
    #[must_use]
    pub fn with_capacity(capacity: usize) -> Events {
        Events {
            list: Vec::with_capacity(capacity.max(1)),
        }
    }

    /// The number of events the last wait stored.
    #[must_use]
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether the last wait stored no event.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The events of the last wait, in the kernel's order.
    pub fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.list.iter().map(|raw| Event::from_raw(*raw))
    }
}

// SAFETY: the buffer holds only `u64` tokens (module invariant: every registration uses
// `EventData::new_u64`) and flags; no pointer in it is ever dereferenced, so moving it to
// another thread moves plain integers.
unsafe impl Send for Events {}
// SAFETY: shared access only copies the flags and the `u64` data out (`Events::iter`); by
// the module invariant no pointer is ever dereferenced.
unsafe impl Sync for Events {}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// One readiness event: the token of its registration and what the source is ready for.
///
/// # Examples
///
/// ```
/// # use std::time::Duration;
/// # use hiver_sys::epoll::{Events, Interest, Poller, Token};
/// # let poller = Poller::new()?;
/// # let (a, _b) = std::os::unix::net::UnixStream::pair()?;
/// poller.add(&a, Token(3), Interest::WRITABLE)?;
/// let mut events = Events::with_capacity(8);
/// poller.wait(&mut events, Some(Duration::from_secs(5)))?;
/// for event in events.iter() {
///     assert_eq!(event.token(), Token(3));
///     assert!(event.is_writable() && !event.is_error());
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    token: Token,
    flags: EventFlags,
}

impl Event {
    /// Decodes a kernel event. `epoll::Event` is `repr(packed)` on x86_64: its fields are
    /// copied out by value, never borrowed.
    fn from_raw(raw: epoll::Event) -> Event {
        let flags = raw.flags;
        let data = raw.data;
        Event {
            token: Token(data.u64()),
            flags,
        }
    }

    /// The token the source was registered with.
    #[must_use]
    pub fn token(&self) -> Token {
        self.token
    }

    /// The source has data to read (`EPOLLIN` or `EPOLLPRI`), or a waker fired.
    #[must_use]
    pub fn is_readable(&self) -> bool {
        self.flags.intersects(EventFlags::IN | EventFlags::PRI)
    }

    /// The source accepts writes (`EPOLLOUT`).
    #[must_use]
    pub fn is_writable(&self) -> bool {
        self.flags.contains(EventFlags::OUT)
    }

    /// The peer closed its write side, or both sides are closed (`EPOLLHUP`, or
    /// `EPOLLIN` with `EPOLLRDHUP`).
    #[must_use]
    pub fn is_read_closed(&self) -> bool {
        self.flags.contains(EventFlags::HUP)
            || self.flags.contains(EventFlags::IN | EventFlags::RDHUP)
    }

    /// Writing can no longer succeed: `EPOLLHUP`, or `EPOLLERR` alone or with `EPOLLOUT`.
    #[must_use]
    pub fn is_write_closed(&self) -> bool {
        self.flags.contains(EventFlags::HUP)
            || self.flags.contains(EventFlags::OUT | EventFlags::ERR)
            || self.flags == EventFlags::ERR
    }

    /// The source has a pending error (`EPOLLERR`); for a socket, `SO_ERROR` says which.
    #[must_use]
    pub fn is_error(&self) -> bool {
        self.flags.contains(EventFlags::ERR)
    }
}

/// Wakes a [`Poller`] from any thread: its events carry the waker's token and are readable.
///
/// An eventfd (`EFD_NONBLOCK | EFD_CLOEXEC`) registered `EPOLLIN | EPOLLET`. Each wake adds
/// 1 to the counter, which is a new edge even if nobody read the counter; when the counter is
/// full the wake reads it back to 0 and writes again (mio's eventfd waker). Dropping the
/// waker closes the eventfd, which removes it from the poller.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use hiver_sys::epoll::{Events, Poller, Token, Waker};
///
/// let poller = Poller::new()?;
/// let waker = Waker::new(&poller, Token(u64::MAX))?;
/// let mut events = Events::with_capacity(8);
/// let n = std::thread::scope(|s| {
///     s.spawn(|| waker.wake());
///     poller.wait(&mut events, None)
/// })?;
/// assert_eq!(n, 1);
/// assert_eq!(events.iter().next().unwrap().token(), Token(u64::MAX));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Waker {
    eventfd: OwnedFd,
}

impl Waker {
    /// Creates an eventfd and registers it with `poller` under `token`.
    ///
    /// # Errors
    ///
    /// The error of `eventfd2` (`EMFILE`, `ENFILE`, `ENOMEM`) or of `epoll_ctl`.
    pub fn new(poller: &Poller, token: Token) -> io::Result<Waker> {
        let eventfd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        let data = EventData::new_u64(token.0);
        epoll::add(
            &poller.epoll,
            &eventfd,
            data,
            EventFlags::IN | EventFlags::ET,
        )?;
        Ok(Waker { eventfd })
    }

    /// Makes the poller's current or next wait return with this waker's event.
    ///
    /// # Errors
    ///
    /// An error of `write`/`read` on the eventfd other than a full counter, which is handled.
    pub fn wake(&self) -> io::Result<()> {
        match self.add_one() {
            Err(Errno::AGAIN) => {
                // The counter is full: empty it and add again.
                self.reset()?;
                self.add_one()?;
                Ok(())
            }
            other => other.map_err(Into::into),
        }
    }

    /// Adds 1 to the eventfd counter.
    fn add_one(&self) -> Result<(), Errno> {
        rustix::io::write(&self.eventfd, &1_u64.to_ne_bytes())?;
        Ok(())
    }

    /// Reads the counter back to 0; already 0 (`EAGAIN`) is fine.
    fn reset(&self) -> io::Result<()> {
        let mut buf = [0_u8; 8];
        match rustix::io::read(&self.eventfd, &mut buf) {
            Ok(_) | Err(Errno::AGAIN) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

impl AsFd for Waker {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.eventfd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(flags: EventFlags) -> Event {
        Event::from_raw(epoll::Event {
            flags,
            data: EventData::new_u64(42),
        })
    }

    #[test]
    fn interest_bits_combine() {
        let both = Interest::READABLE | Interest::WRITABLE;
        assert!(both.is_readable() && both.is_writable());
        assert!(Interest::READABLE.is_readable() && !Interest::READABLE.is_writable());
        assert!(Interest::WRITABLE.is_writable() && !Interest::WRITABLE.is_readable());
        assert_eq!(Interest::READABLE | Interest::READABLE, Interest::READABLE);
    }

    #[test]
    fn interest_maps_to_edge_triggered_flags() {
        let base = EventFlags::ET | EventFlags::RDHUP;
        assert_eq!(Interest::READABLE.epoll_flags(), base | EventFlags::IN);
        assert_eq!(Interest::WRITABLE.epoll_flags(), base | EventFlags::OUT);
        let both = (Interest::READABLE | Interest::WRITABLE).epoll_flags();
        assert_eq!(both, base | EventFlags::IN | EventFlags::OUT);
    }

    #[test]
    fn decodes_token_and_readiness() {
        let e = event(EventFlags::IN);
        assert_eq!(e.token(), Token(42));
        assert!(e.is_readable() && !e.is_writable() && !e.is_read_closed() && !e.is_error());
        let e = event(EventFlags::OUT);
        assert!(e.is_writable() && !e.is_readable() && !e.is_write_closed());
        assert!(event(EventFlags::PRI).is_readable());
    }

    #[test]
    fn decodes_closes_and_errors() {
        assert!(event(EventFlags::IN | EventFlags::RDHUP).is_read_closed());
        assert!(!event(EventFlags::RDHUP).is_read_closed());
        let hup = event(EventFlags::HUP);
        assert!(hup.is_read_closed() && hup.is_write_closed() && !hup.is_error());
        let err = event(EventFlags::ERR);
        assert!(err.is_error() && err.is_write_closed() && !err.is_read_closed());
        assert!(event(EventFlags::OUT | EventFlags::ERR).is_write_closed());
        assert!(!event(EventFlags::IN | EventFlags::ERR).is_write_closed());
    }

    #[test]
    fn timespec_splits_and_saturates() {
        let t = timespec(Duration::new(3, 5));
        assert_eq!((t.tv_sec, t.tv_nsec), (3, 5));
        assert_eq!(timespec(Duration::MAX).tv_sec, i64::MAX);
    }
}
