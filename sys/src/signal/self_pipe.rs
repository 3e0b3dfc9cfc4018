//! The Linux receiver: a handler that sets the signal's pending flag, then writes one byte
//! to a pipe whose read end the receiver blocks on (the self-pipe trick).
//!
//! **Why the count is exact.** The handler sets the flag, then writes. A wait reads at least
//! one byte, then takes every flag (`swap(false)`). A flag set after the take is followed by
//! a byte the next wait reads; a write that fails because the pipe is full is covered by the
//! unread bytes already there. So every handler run is reported by exactly one wait: the one
//! that takes the flag it set (runs that meet an already-set flag coalesce into it).
//!
//! # Safety
//!
//! `WRITER` holds the descriptor of the pipe's write end (owned by `WRITE_END`) from before
//! the first handler is installed until the process exits. It is never closed, so the
//! handler's `borrow_raw` names a live descriptor. `on_signal` is async-signal-safe (parent
//! module's `# Safety`).
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::OnceLock;

use rustix::io::{ioctl_fionbio, read, write, Errno};
use rustix::pipe::{pipe_with, PipeFlags};

use super::{sigaction, MAX_SIGNAL};

/// One pending flag per signal number (index 0 unused).
static PENDING: [AtomicBool; MAX_SIGNAL as usize + 1] =
    [const { AtomicBool::new(false) }; MAX_SIGNAL as usize + 1];

/// The pipe's write end, owned for the life of the process.
static WRITE_END: OnceLock<OwnedFd> = OnceLock::new();

/// `WRITE_END`'s descriptor for the handler, or -1 before the receiver exists.
static WRITER: AtomicI32 = AtomicI32::new(-1);

/// The handler: set the flag, then wake the receiver.
extern "C" fn on_signal(signal: i32) {
    let flag = usize::try_from(signal).ok().and_then(|i| PENDING.get(i));
    if let Some(flag) = flag {
        // SeqCst: before the write below, and paired with the receiver's `swap` (module docs).
        flag.store(true, Ordering::SeqCst);
    }
    // Acquire: pairs with the receiver's publication of the descriptor.
    let fd = WRITER.load(Ordering::Acquire);
    if fd < 0 {
        return;
    }
    // SAFETY: a published write end is never closed (module `# Safety`).
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    // EAGAIN (the pipe is full) needs nothing: unread bytes already wake the receiver. No
    // other error can be acted upon here. linux_raw returns the error, `errno` is untouched.
    let _ = write(fd, &[u8::try_from(signal).unwrap_or(0)]);
}

/// The read end of the self-pipe (blocking); the write end lives in `WRITE_END`.
#[derive(Debug)]
pub(super) struct Receiver {
    reader: OwnedFd,
}

impl Receiver {
    /// Creates the pipe and publishes its write end. Called once per process (the parent
    /// module's `Receiver::get` serialises it).
    pub(super) fn new() -> io::Result<Receiver> {
        let (reader, writer) = pipe_with(PipeFlags::CLOEXEC)?;
        // Only the write end is non-blocking (each end is its own open file): the handler
        // must never block, the receiver blocks in `wait`.
        ioctl_fionbio(&writer, true)?;
        // Kept for the life of the process (module `# Safety`).
        WRITE_END.set(writer).map_err(|_| {
            io::Error::other("the signal pipe was created twice (one receiver per process)")
        })?;
        if let Some(writer) = WRITE_END.get() {
            // Release: the descriptor is fully set up before a handler can load it.
            WRITER.store(writer.as_raw_fd(), Ordering::Release);
        }
        Ok(Receiver { reader })
    }

    pub(super) fn add(&self, signal: i32) -> io::Result<()> {
        // SAFETY: `on_signal` is async-signal-safe (module `# Safety`).
        unsafe { sigaction::install(signal, on_signal) }
    }

    pub(super) fn wait(&self, mut arrived: impl FnMut(i32)) -> io::Result<()> {
        let mut bytes = [0_u8; 64];
        loop {
            match read(&self.reader, &mut bytes) {
                Ok(0) => return Err(io::Error::other("the signal pipe was closed")),
                Ok(_) => break,
                Err(Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        for (signal, flag) in (0..).zip(PENDING.iter()) {
            // SeqCst: sees every flag set before the byte just read was written.
            if flag.swap(false, Ordering::SeqCst) {
                arrived(signal);
            }
        }
        Ok(())
    }
}
