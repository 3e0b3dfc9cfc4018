//! The readiness driver, one file for both shims (they share their API): epoll on Linux
//! (parks in `epoll_wait`, woken through an eventfd), kqueue on macOS and the BSDs (parks in
//! `kevent`, woken through `EVFILT_USER`, or a pipe on NetBSD and OpenBSD).
//!
//! Sockets are registered once, edge-triggered, for reading and writing, with the driver of
//! the thread that first uses them. Each registration has a [`ScheduledIo`]: readiness bits
//! the driver sets from events, and the tasks waiting for each direction. An operation tries
//! its syscall; on `EAGAIN` it clears the bit it used (only if no event came in between: the
//! bits carry a tick) and waits for the next event.
#![forbid(unsafe_code)]

use std::io;
use std::os::fd::BorrowedFd;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

#[cfg(target_os = "linux")]
pub(crate) use hiver_sys::epoll::Waker;
#[cfg(target_os = "linux")]
use hiver_sys::epoll::{Event, Events, Interest, Poller, Token};
#[cfg(not(target_os = "linux"))]
pub(crate) use hiver_sys::kqueue::Waker;
#[cfg(not(target_os = "linux"))]
use hiver_sys::kqueue::{Event, Events, Interest, Poller, Token};

use super::Unparker;
use crate::loom::sync::atomic::{fence, AtomicUsize, Ordering};
use crate::sync::wait_set::{WaitSet, Waiter};

const WAKE: Token = Token(u64::MAX);

/// Readiness bits.
pub(crate) const READABLE: usize = 0b0_0001;
pub(crate) const WRITABLE: usize = 0b0_0010;
pub(crate) const READ_CLOSED: usize = 0b0_0100;
pub(crate) const WRITE_CLOSED: usize = 0b0_1000;
pub(crate) const ERROR: usize = 0b1_0000;
const BITS: usize = 0b1_1111;
/// Each event adds one tick above the bits.
const TICK: usize = 0b10_0000;

/// A direction of interest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    /// The bits that make an operation in this direction worth trying.
    fn mask(self) -> usize {
        match self {
            Direction::Read => READABLE | READ_CLOSED | ERROR,
            Direction::Write => WRITABLE | WRITE_CLOSED | ERROR,
        }
    }
}

/// Readiness seen by an operation: the tick it was read at.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ready {
    tick: usize,
}

/// One registered source's readiness and waiters.
pub(crate) struct ScheduledIo {
    readiness: AtomicUsize,
    read: WaitSet,
    write: WaitSet,
}

impl ScheduledIo {
    fn new() -> ScheduledIo {
        ScheduledIo {
            // A new registration may already be ready: let the first try find out.
            readiness: AtomicUsize::new(READABLE | WRITABLE),
            read: WaitSet::new(),
            write: WaitSet::new(),
        }
    }

    fn waiters(&self, dir: Direction) -> &WaitSet {
        match dir {
            Direction::Read => &self.read,
            Direction::Write => &self.write,
        }
    }

    /// Driver side: an event set `bits`.
    fn set(&self, bits: usize) {
        // AcqRel: publishes the readiness to the operations that load it.
        let _ = self
            .readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                Some(((cur & BITS) | bits) | ((cur & !BITS).wrapping_add(TICK)))
            });
        // SeqCst: the waiters' handshake (wait_set.rs).
        fence(Ordering::SeqCst);
        if bits & Direction::Read.mask() != 0 {
            self.read.notify_all();
        }
        if bits & Direction::Write.mask() != 0 {
            self.write.notify_all();
        }
    }

    fn ready(&self, dir: Direction) -> Option<Ready> {
        // Acquire: pairs with set().
        let cur = self.readiness.load(Ordering::Acquire);
        (cur & dir.mask() != 0).then_some(Ready { tick: cur & !BITS })
    }

    /// Operation side: ready to try `dir`, or registered to be woken when it is.
    pub(crate) fn poll_ready(
        &self,
        dir: Direction,
        waiter: &mut Waiter,
        cx: &mut Context<'_>,
    ) -> Poll<Ready> {
        if let Some(r) = self.ready(dir) {
            waiter.leave(self.waiters(dir));
            return Poll::Ready(r);
        }
        waiter.register(self.waiters(dir), cx.waker());
        match self.ready(dir) {
            Some(r) => {
                waiter.leave(self.waiters(dir));
                Poll::Ready(r)
            }
            None => Poll::Pending,
        }
    }

    /// Operation side: its syscall said `EAGAIN`: forget the readiness it was tried with,
    /// unless an event came since.
    pub(crate) fn clear(&self, dir: Direction, seen: Ready) {
        // Every bit of the direction: an error or hang-up already reported by the syscall
        // must not make the next try spin.
        let bit = dir.mask();
        let _ = self
            .readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                (cur & !BITS == seen.tick).then_some(cur & !bit)
            });
    }

    /// Operation side: a transfer shorter than asked drained the socket: forget plain
    /// readability (writability), keeping a hang-up or error (they still have to be seen),
    /// unless an event came since.
    pub(crate) fn clear_drained(&self, dir: Direction, seen: Ready) {
        let bit = match dir {
            Direction::Read => READABLE,
            Direction::Write => WRITABLE,
        };
        let _ = self
            .readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                (cur & !BITS == seen.tick).then_some(cur & !bit)
            });
    }

    /// Leaves `dir`'s waiters (an operation's future dropped).
    pub(crate) fn leave(&self, dir: Direction, waiter: &mut Waiter) {
        waiter.leave(self.waiters(dir));
    }
}

/// A socket's registration with a readiness driver.
pub(crate) struct Registration {
    pub(crate) io: Arc<ScheduledIo>,
    poller: Arc<Poller>,
}

impl Registration {
    /// Removes the source from the poller (before its fd is closed).
    pub(crate) fn deregister(&self, fd: BorrowedFd<'_>) {
        // The poller may be gone already (its runtime dropped): nothing to remove then.
        let _ = self.poller.delete(fd);
    }
}

struct Slot {
    generation: u32,
    io: Option<Weak<ScheduledIo>>,
}

pub(crate) struct ReadinessDriver {
    poller: Arc<Poller>,
    events: Events,
    waker: Arc<Waker>,
    waits: u64,
    slots: Vec<Slot>,
    free: Vec<u32>,
    inserts_since_sweep: usize,
    /// Why io_uring was not chosen, when `Auto` fell back to this driver.
    pub(crate) fallback: Option<String>,
}

impl ReadinessDriver {
    pub(crate) fn new() -> io::Result<ReadinessDriver> {
        let poller = Poller::new()?;
        let waker = Arc::new(Waker::new(&poller, WAKE)?);
        tracing::debug!(
            driver = if cfg!(target_os = "linux") {
                "epoll"
            } else {
                "kqueue"
            },
            "readiness driver ready"
        );
        Ok(ReadinessDriver {
            poller: Arc::new(poller),
            events: Events::with_capacity(256),
            waker,
            waits: 0,
            slots: Vec::new(),
            free: Vec::new(),
            inserts_since_sweep: 0,
            fallback: None,
        })
    }

    pub(crate) fn unparker(&self) -> Unparker {
        Unparker::Readiness(self.waker.clone())
    }

    /// Registers `fd` for both directions, edge-triggered.
    pub(crate) fn register(&mut self, fd: BorrowedFd<'_>) -> io::Result<Registration> {
        let io = Arc::new(ScheduledIo::new());
        let index = self.slot_for(Arc::downgrade(&io));
        let slot = &self.slots[index as usize];
        let token = Token(u64::from(slot.generation) << 32 | u64::from(index));
        if let Err(e) = self
            .poller
            .add(fd, token, Interest::READABLE | Interest::WRITABLE)
        {
            self.release(index);
            return Err(e);
        }
        Ok(Registration {
            io,
            poller: self.poller.clone(),
        })
    }

    fn slot_for(&mut self, io: Weak<ScheduledIo>) -> u32 {
        if self.free.is_empty() && self.inserts_since_sweep >= self.slots.len().max(64) / 2 {
            // Registrations whose sockets are gone: amortized O(1) per insert.
            self.inserts_since_sweep = 0;
            for i in 0..self.slots.len() {
                if self.slots[i]
                    .io
                    .as_ref()
                    .is_some_and(|w| w.strong_count() == 0)
                {
                    self.release(i as u32);
                }
            }
        }
        self.inserts_since_sweep += 1;
        match self.free.pop() {
            Some(i) => {
                self.slots[i as usize].io = Some(io);
                i
            }
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    io: Some(io),
                });
                (self.slots.len() - 1) as u32
            }
        }
    }

    fn release(&mut self, index: u32) {
        let slot = &mut self.slots[index as usize];
        slot.io = None;
        slot.generation = slot.generation.wrapping_add(1) % u32::MAX;
        self.free.push(index);
    }

    pub(crate) fn park(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.waits += 1;
        self.poller.wait(&mut self.events, timeout)?;
        let mut dead = Vec::new();
        for ev in self.events.iter() {
            let token = ev.token();
            if token == WAKE {
                continue;
            }
            let index = (token.0 & 0xffff_ffff) as u32;
            let Some(slot) = self.slots.get(index as usize) else {
                continue;
            };
            if u64::from(slot.generation) != token.0 >> 32 {
                continue;
            }
            match slot.io.as_ref().and_then(Weak::upgrade) {
                Some(io) => io.set(bits_of(&ev)),
                None => dead.push(index),
            }
        }
        for index in dead {
            if self.slots[index as usize].io.is_some() {
                self.release(index);
            }
        }
        Ok(())
    }

    pub(crate) fn kernel_entries(&self) -> u64 {
        self.waits
    }
}

fn bits_of(ev: &Event) -> usize {
    let mut bits = 0;
    if ev.is_readable() {
        bits |= READABLE;
    }
    if ev.is_writable() {
        bits |= WRITABLE;
    }
    if ev.is_read_closed() {
        bits |= READ_CLOSED;
    }
    if ev.is_write_closed() {
        bits |= WRITE_CLOSED;
    }
    if ev.is_error() {
        bits |= ERROR;
    }
    bits
}
