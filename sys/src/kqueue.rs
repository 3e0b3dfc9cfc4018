//! kqueue readiness shim (macOS, FreeBSD, DragonFly, NetBSD, OpenBSD): a kqueue,
//! edge-triggered registrations and a waker.
//!
//! The names and the contract are those of `epoll.rs` on Linux (mio's `Selector` idea):
//!
//! - Registrations are edge-triggered (`EV_CLEAR`): an event is reported when a source
//!   becomes ready, not while it stays ready. After an event the caller reads (or writes)
//!   until `EAGAIN` before it waits for that source again. New data is a new edge.
//! - `Poller::wait` clears the event list first, blocks for at most the timeout (`None`
//!   waits forever, `Some(Duration::ZERO)` only polls), retries `EINTR` with the time that is
//!   left, and returns how many events it stored.
//! - A `Waker` event carries the waker's token and is readable; wakes coalesce.
//!
//! Differences from epoll that callers must not depend on either way:
//!
//! - Readable and writable are separate filters, so one source that is both can give two
//!   events with the same token in one wait.
//! - `add` of a registered source and `modify` of an unregistered one both succeed (kqueue
//!   has no `EEXIST`/`ENOENT` for `EV_ADD`); `delete` of an unregistered source succeeds.
//! - `Event::is_error` reports `EV_ERROR` only: rustix does not expose `fflags`, where an
//!   `EV_EOF` event carries a socket error. The read or `SO_ERROR` after the event reports it.
//! - Closing a file descriptor removes its registrations (kevent(2)).
//!
//! The waker is an `EVFILT_USER` event on macOS, FreeBSD and DragonFly. NetBSD and OpenBSD
//! have no `EVFILT_USER` in rustix: there it is a non-blocking pipe whose read end is
//! registered like any source.
//!
//! On these targets rustix uses its libc backend (there is no raw-syscall backend).
//!
//! # Safety
//!
//! The only `unsafe` operations are calls to rustix's `kevent` and the `Send`/`Sync` impls
//! of `Events`. `kevent`'s contract asks that file descriptors named in a change list stay
//! valid as long as the kqueue. This module passes only descriptors borrowed for the call,
//! and relies on the kernel rule that closing a descriptor removes every kevent that names it
//! (kevent(2) on macOS and all the BSDs; bytecodealliance/rustix#939): a registration never
//! outlives its descriptor, so no event can name a later descriptor that reuses the number.
//! Events carry tokens in `udata` as integers, made with `ptr::without_provenance_mut` and
//! never dereferenced.
//!
//! # References
//!
//! kqueue(2), kevent(2); tokio-rs/mio `src/sys/unix/selector/kqueue.rs` and
//! `src/sys/unix/waker/{kqueue,pipe}.rs`.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::fmt;
use std::io;
use std::mem::MaybeUninit;
use std::ops::BitOr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::ptr;
use std::time::{Duration, Instant};

use rustix::buffer::spare_capacity;
use rustix::event::kqueue::{self, EventFilter, EventFlags};
use rustix::io::{fcntl_setfd, Errno, FdFlags};

/// The longest single kernel wait; longer timeouts are waited in slices of this length
/// (some kernels refuse very large `timespec`s with `EINVAL`).
const MAX_WAIT_SLICE: Duration = Duration::from_millis(1 << 30);

/// The most changes one `kevent` call of this module submits (read and write filters).
const MAX_CHANGES: usize = 2;

/// A caller-chosen number that identifies a registration in the events it produces.
///
/// It travels in the kevent's `udata` pointer: on a 32-bit target only its low 32 bits
/// survive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token(pub u64);

impl Token {
    /// The token as the `udata` of a kevent (an integer, never dereferenced).
    pub(crate) fn udata(self) -> *mut c_void {
        ptr::without_provenance_mut(self.0 as usize)
    }
}

/// The readiness a registration asks for: readable, writable, or both. Never empty.
/// Combine with `|`: `Interest::READABLE | Interest::WRITABLE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Interest(u8);

impl Interest {
    /// Interest in the source becoming readable (and in the peer closing its write side).
    pub const READABLE: Interest = Interest(0b01);
    /// Interest in the source becoming writable.
    pub const WRITABLE: Interest = Interest(0b10);

    /// Whether this interest includes `Interest::READABLE`.
    #[must_use]
    pub const fn is_readable(self) -> bool {
        self.0 & Self::READABLE.0 != 0
    }

    /// Whether this interest includes `Interest::WRITABLE`.
    #[must_use]
    pub const fn is_writable(self) -> bool {
        self.0 & Self::WRITABLE.0 != 0
    }
}

impl BitOr for Interest {
    type Output = Interest;

    fn bitor(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }
}

/// A kqueue: the set of registered sources and the queue of their events.
///
/// `Poller` is `Send` and `Sync`: registrations may change from any thread while another
/// thread waits.
#[derive(Debug)]
pub struct Poller {
    kqueue: OwnedFd,
}

impl Poller {
    /// Creates a kqueue and marks it close-on-exec.
    ///
    /// # Errors
    ///
    /// The error of `kqueue` (`EMFILE`, `ENFILE`, `ENOMEM`) or of `fcntl(F_SETFD)`.
    #[doc(alias = "kqueue")]
    pub fn new() -> io::Result<Poller> {
        let kqueue = kqueue::kqueue()?;
        fcntl_setfd(&kqueue, FdFlags::CLOEXEC)?;
        Ok(Poller { kqueue })
    }

    /// Registers `fd`, edge-triggered (`EV_CLEAR`), with an `EVFILT_READ` and/or
    /// `EVFILT_WRITE` filter per `interest`; its events will carry `token`. Registering a
    /// source again replaces its token and interest, as `modify` does.
    ///
    /// # Errors
    ///
    /// The first error reported in the `EV_RECEIPT` entries (`EBADF`, `ENOMEM`, ...) or by
    /// `kevent` itself. `EPIPE` (a pipe whose other end is closed, mio#582) and `ENOENT`
    /// (removing the filter not asked for) are not errors.
    #[doc(alias = "kevent")]
    pub fn add(&self, fd: impl AsFd, token: Token, interest: Interest) -> io::Result<()> {
        self.modify(fd, token, interest)
    }

    /// Replaces the token and interest of `fd`: the filters of `interest` are added (which
    /// re-arms their edge), the other filter is removed.
    ///
    /// # Errors
    ///
    /// As for `add`.
    #[doc(alias = "kevent")]
    pub fn modify(&self, fd: impl AsFd, token: Token, interest: Interest) -> io::Result<()> {
        let fd = fd.as_fd().as_raw_fd();
        let on = EventFlags::ADD | EventFlags::CLEAR | EventFlags::RECEIPT;
        let off = EventFlags::DELETE | EventFlags::RECEIPT;
        let read = if interest.is_readable() { on } else { off };
        let write = if interest.is_writable() { on } else { off };
        let changes = [
            kqueue::Event::new(EventFilter::Read(fd), read, token.udata()),
            kqueue::Event::new(EventFilter::Write(fd), write, token.udata()),
        ];
        submit(self.kqueue.as_fd(), &changes, &[Errno::NOENT, Errno::PIPE])
    }

    /// Removes both filters of `fd`; it produces no more events. A source that is not
    /// registered is not an error.
    ///
    /// # Errors
    ///
    /// An error other than `ENOENT` reported by `kevent` or its receipts (`EBADF`).
    #[doc(alias = "kevent")]
    pub fn delete(&self, fd: impl AsFd) -> io::Result<()> {
        let fd = fd.as_fd().as_raw_fd();
        let flags = EventFlags::DELETE | EventFlags::RECEIPT;
        let changes = [
            kqueue::Event::new(EventFilter::Read(fd), flags, ptr::null_mut()),
            kqueue::Event::new(EventFilter::Write(fd), flags, ptr::null_mut()),
        ];
        submit(self.kqueue.as_fd(), &changes, &[Errno::NOENT])
    }

    /// Clears `events`, then waits until at least one event is ready or `timeout` has passed,
    /// and returns the number of events stored (at most the capacity of `events`).
    ///
    /// `None` waits forever; `Some(Duration::ZERO)` returns at once. An `EINTR` is retried
    /// with the time left.
    ///
    /// # Errors
    ///
    /// The error of `kevent`, other than `EINTR`.
    #[doc(alias = "kevent")]
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

    /// One `kevent` with no changes, appending to `events` (which rustix never clears).
    fn wait_once(&self, events: &mut Events, timeout: Option<Duration>) -> Result<usize, Errno> {
        // SAFETY: the change list is empty, so no file descriptor is named (module `# Safety`).
        unsafe { kqueue::kevent(&self.kqueue, &[], spare_capacity(&mut events.list), timeout) }
    }
}

impl AsFd for Poller {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.kqueue.as_fd()
    }
}

/// Applies `changes` (each flagged `EV_RECEIPT`) and checks every receipt. An errno in
/// `ignored` is not an error.
pub(crate) fn submit(
    kq: BorrowedFd<'_>,
    changes: &[kqueue::Event],
    ignored: &[Errno],
) -> io::Result<()> {
    let mut receipts = [MaybeUninit::<kqueue::Event>::uninit(); MAX_CHANGES];
    // Exactly one slot per change: a spare slot could take (and, with `EV_CLEAR`, lose) a
    // pending event.
    let receipts = &mut receipts[..changes.len()];
    // SAFETY: every descriptor named in `changes` is borrowed by the caller for this call,
    // and the kernel drops its registrations when it is closed (module `# Safety`).
    let result = unsafe { kqueue::kevent(kq, changes, receipts, Some(Duration::ZERO)) };
    match result {
        Ok((receipts, _)) => receipts.iter().try_for_each(|r| check_receipt(r, ignored)),
        // kevent(2) (FreeBSD): after EINTR the changes have been applied.
        Err(Errno::INTR) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The error an `EV_RECEIPT` entry reports, if any and not in `ignored`.
fn check_receipt(receipt: &kqueue::Event, ignored: &[Errno]) -> io::Result<()> {
    let errno = receipt.data();
    let failed = receipt.flags().contains(EventFlags::ERROR) && errno != 0;
    if !failed || ignored.iter().any(|e| i64::from(e.raw_os_error()) == errno) {
        return Ok(());
    }
    Err(i32::try_from(errno).map_or_else(
        |_| io::Error::other("kevent receipt with an out-of-range errno"),
        io::Error::from_raw_os_error,
    ))
}

/// The list `Poller::wait` fills.
pub struct Events {
    list: Vec<kqueue::Event>,
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
        self.list.iter().map(Event::from_raw)
    }
}

// SAFETY: the only non-`Send` part of a kevent is its `udata` pointer, which holds a token
// as an integer and is never dereferenced (module `# Safety`): moving the buffer to another
// thread moves plain integers.
unsafe impl Send for Events {}
// SAFETY: shared access only copies fields out (`Events::iter`); `udata` is never
// dereferenced (module `# Safety`).
unsafe impl Sync for Events {}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The kqueue filter an event came from. A waker's `EVFILT_USER` event counts as `Read`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Filter {
    Read,
    Write,
    Other,
}

/// One readiness event: the token of its registration and what the source is ready for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    token: Token,
    filter: Filter,
    flags: EventFlags,
}

impl Event {
    /// Decodes a kernel event.
    fn from_raw(raw: &kqueue::Event) -> Event {
        let filter = match raw.filter() {
            EventFilter::Read(_) => Filter::Read,
            EventFilter::Write(_) => Filter::Write,
            #[cfg(any(
                target_vendor = "apple",
                target_os = "freebsd",
                target_os = "dragonfly"
            ))]
            EventFilter::User { .. } => Filter::Read,
            _ => Filter::Other,
        };
        let token = Token(raw.udata().addr() as u64);
        Event {
            token,
            filter,
            flags: raw.flags(),
        }
    }

    /// The token the source was registered with.
    #[must_use]
    pub fn token(&self) -> Token {
        self.token
    }

    /// The source has data to read (`EVFILT_READ`), or a waker fired.
    #[must_use]
    pub fn is_readable(&self) -> bool {
        self.filter == Filter::Read
    }

    /// The source accepts writes (`EVFILT_WRITE`).
    #[must_use]
    pub fn is_writable(&self) -> bool {
        self.filter == Filter::Write
    }

    /// The peer closed its write side (`EV_EOF` on `EVFILT_READ`).
    #[must_use]
    pub fn is_read_closed(&self) -> bool {
        self.filter == Filter::Read && self.flags.contains(EventFlags::EOF)
    }

    /// Writing can no longer succeed (`EV_EOF` on `EVFILT_WRITE`).
    #[must_use]
    pub fn is_write_closed(&self) -> bool {
        self.filter == Filter::Write && self.flags.contains(EventFlags::EOF)
    }

    /// The kernel flagged the event `EV_ERROR`. A socket error carried by `EV_EOF` is not
    /// visible here (see the module docs): read `SO_ERROR`.
    #[must_use]
    pub fn is_error(&self) -> bool {
        self.flags.contains(EventFlags::ERROR)
    }
}

/// Wakes a `Poller` from any thread: its events carry the waker's token and are readable.
///
/// On macOS, FreeBSD and DragonFly, an `EVFILT_USER` event whose ident is the token, added
/// with `EV_CLEAR` and fired with `NOTE_TRIGGER` through a duplicate of the kqueue
/// descriptor; two wakers on one poller need different tokens. On NetBSD and OpenBSD, a
/// non-blocking pipe whose read end is registered readable: each wake writes a byte, and a
/// full pipe is emptied before writing again.
#[derive(Debug)]
pub struct Waker {
    inner: imp::Waker,
}

impl Waker {
    /// Creates a waker registered with `poller` under `token`.
    ///
    /// # Errors
    ///
    /// The error of duplicating the kqueue descriptor (or creating the pipe) or of
    /// registering the event.
    pub fn new(poller: &Poller, token: Token) -> io::Result<Waker> {
        imp::Waker::new(poller, token).map(|inner| Waker { inner })
    }

    /// Makes the poller's current or next wait return with this waker's event.
    ///
    /// # Errors
    ///
    /// The error of `kevent` (or of the pipe write) other than a full pipe, which is handled.
    pub fn wake(&self) -> io::Result<()> {
        self.inner.wake()
    }
}

#[cfg(any(
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "dragonfly"
))]
mod imp {
    use super::{kqueue, submit, EventFilter, EventFlags, Poller, Token};
    use rustix::event::kqueue::{UserDefinedFlags, UserFlags};
    use rustix::io::fcntl_dupfd_cloexec;
    use std::io;
    use std::os::fd::{AsFd, OwnedFd};

    /// `EVFILT_USER` waker over its own duplicate of the kqueue descriptor.
    #[derive(Debug)]
    pub(super) struct Waker {
        kqueue: OwnedFd,
        token: Token,
    }

    impl Waker {
        pub(super) fn new(poller: &Poller, token: Token) -> io::Result<Waker> {
            let kqueue = fcntl_dupfd_cloexec(&poller.kqueue, 0)?;
            let waker = Waker { kqueue, token };
            let flags = EventFlags::ADD | EventFlags::CLEAR | EventFlags::RECEIPT;
            waker.submit(UserFlags::empty(), flags)?;
            Ok(waker)
        }

        pub(super) fn wake(&self) -> io::Result<()> {
            self.submit(UserFlags::TRIGGER, EventFlags::ADD | EventFlags::RECEIPT)
        }

        /// Submits one change to this waker's `EVFILT_USER` event.
        fn submit(&self, user: UserFlags, flags: EventFlags) -> io::Result<()> {
            let filter = EventFilter::User {
                ident: self.token.0 as isize,
                flags: user,
                user_flags: UserDefinedFlags::new(0),
            };
            let change = kqueue::Event::new(filter, flags, self.token.udata());
            submit(self.kqueue.as_fd(), &[change], &[])
        }
    }
}

#[cfg(not(any(
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "dragonfly"
)))]
mod imp {
    use super::{Interest, Poller, Token};
    use rustix::io::{read, write, Errno};
    use rustix::pipe::{pipe_with, PipeFlags};
    use std::io;
    use std::os::fd::OwnedFd;

    /// Pipe waker: the read end is registered with the poller, wakes write to the other.
    #[derive(Debug)]
    pub(super) struct Waker {
        reader: OwnedFd,
        writer: OwnedFd,
    }

    impl Waker {
        pub(super) fn new(poller: &Poller, token: Token) -> io::Result<Waker> {
            let (reader, writer) = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
            poller.add(&reader, token, Interest::READABLE)?;
            Ok(Waker { reader, writer })
        }

        pub(super) fn wake(&self) -> io::Result<()> {
            match write(&self.writer, &[1]) {
                Err(Errno::AGAIN) => {
                    // The pipe is full: empty it so that the next byte is a new edge.
                    self.drain()?;
                    write(&self.writer, &[1])?;
                    Ok(())
                }
                other => other.map(drop).map_err(Into::into),
            }
        }

        /// Reads the pipe until it is empty.
        fn drain(&self) -> io::Result<()> {
            let mut buf = [0_u8; 256];
            loop {
                match read(&self.reader, &mut buf) {
                    Ok(0) | Err(Errno::AGAIN) => return Ok(()),
                    Ok(_) | Err(Errno::INTR) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interest_bits_combine() {
        let both = Interest::READABLE | Interest::WRITABLE;
        assert!(both.is_readable() && both.is_writable());
        assert!(Interest::READABLE.is_readable() && !Interest::READABLE.is_writable());
        assert!(Interest::WRITABLE.is_writable() && !Interest::WRITABLE.is_readable());
    }

    #[test]
    fn token_round_trips_through_udata() {
        let raw = kqueue::Event::new(EventFilter::Write(3), EventFlags::EOF, Token(9).udata());
        let event = Event::from_raw(&raw);
        assert_eq!(event.token(), Token(9));
        assert!(event.is_writable() && event.is_write_closed() && !event.is_read_closed());
    }
}
