//! `io_uring_enter`: submit, wait for completions (with a timeout through `EXT_ARG`), wake
//! an SQPOLL thread, flush the overflow backlog; `EINTR` retried with the time left.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::io_uring::{
    io_uring_enter, io_uring_enter_arg, io_uring_getevents_arg, io_uring_ptr, IoringEnterFlags,
};

use super::layout::{enter_flags, features, setup_flags, sq_ring_flags, KernelTimespec};
use super::Ring;

/// Whether to call `io_uring_enter`, and with which flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnterDecision {
    /// `IORING_ENTER_*` flags.
    pub flags: u32,
    /// The `to_submit` argument.
    pub to_submit: u32,
}

/// Decides the enter call from the SQ flags word (liburing `sq_ring_needs_enter` and
/// `cq_ring_needs_flush`): `GETEVENTS` iff waiting for completions or the kernel holds
/// overflowed completions or task work; `SQ_WAKEUP` iff SQPOLL sleeps. `None`: no syscall
/// is needed (nothing to submit, nothing to wait for; or an awake SQPOLL thread submits).
///
/// ```
/// use hiver_sys::uring::{enter_decision, enter_flags, sq_ring_flags};
/// assert_eq!(enter_decision(0, 0, 0, false), None);
/// let d = enter_decision(sq_ring_flags::CQ_OVERFLOW, 0, 0, false).unwrap();
/// assert_eq!(d.flags, enter_flags::GETEVENTS);
/// ```
pub fn enter_decision(
    sq_flags: u32,
    to_submit: u32,
    wait_for: u32,
    sqpoll: bool,
) -> Option<EnterDecision> {
    let mut flags = 0;
    if wait_for > 0 || sq_flags & (sq_ring_flags::CQ_OVERFLOW | sq_ring_flags::TASKRUN) != 0 {
        flags |= enter_flags::GETEVENTS;
    }
    let submit_needs_enter = if sqpoll {
        if to_submit > 0 && sq_flags & sq_ring_flags::NEED_WAKEUP != 0 {
            flags |= enter_flags::SQ_WAKEUP;
        }
        flags & enter_flags::SQ_WAKEUP != 0
    } else {
        to_submit > 0
    };
    (submit_needs_enter || flags & enter_flags::GETEVENTS != 0)
        .then_some(EnterDecision { flags, to_submit })
}

impl Ring {
    /// Publishes pushed SQEs and submits them, without waiting. Also flushes overflowed
    /// completions when the kernel signals some. Returns how many SQEs the kernel took.
    ///
    /// # Errors
    ///
    /// As [`submit_and_wait`](Self::submit_and_wait).
    pub fn submit(&mut self) -> io::Result<u32> {
        self.submit_inner(0, None)
    }

    /// Submits, then waits until at least `want` completions are in the CQ.
    ///
    /// # Errors
    ///
    /// The kernel's errno with the step named. `EBUSY`/`EAGAIN` mean the kernel cannot take
    /// more work until completions are reaped: the SQEs stay queued, reap then call again.
    /// `EINTR` is retried, never returned.
    pub fn submit_and_wait(&mut self, want: u32) -> io::Result<u32> {
        self.submit_inner(want, None)
    }

    /// Submits, then waits until `want` completions are ready or `timeout` passed (needs
    /// `IORING_FEAT_EXT_ARG`, Linux 5.11). A timeout is not an error: check the CQ.
    ///
    /// # Errors
    ///
    /// `Unsupported` without `EXT_ARG`; otherwise as [`submit_and_wait`](Self::submit_and_wait).
    pub fn submit_and_wait_timeout(&mut self, want: u32, timeout: Duration) -> io::Result<u32> {
        if self.features() & features::EXT_ARG == 0 {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "io_uring: waiting with a timeout needs IORING_FEAT_EXT_ARG (Linux 5.11)",
            ));
        }
        let deadline = Instant::now().checked_add(timeout);
        self.submit_inner(want, Some(deadline))
    }

    /// `GETEVENTS` with nothing to wait for: runs task work and flushes the overflow list.
    pub(crate) fn enter_getevents_nowait(&mut self) -> io::Result<u32> {
        self.enter_retrying(0, 0, enter_flags::GETEVENTS, None)
    }

    fn submit_inner(&mut self, want: u32, deadline: Option<Option<Instant>>) -> io::Result<u32> {
        let to_submit = self.sq.flush()?;
        let sqpoll = self.setup_flags() & setup_flags::SQPOLL != 0;
        let sq_flags = if sqpoll && to_submit > 0 {
            // need_wakeup() fences the tail store against the flag read.
            if self.sq.need_wakeup() {
                sq_ring_flags::NEED_WAKEUP | self.sq.flags()
            } else {
                self.sq.flags() & !sq_ring_flags::NEED_WAKEUP
            }
        } else {
            self.sq.flags()
        };
        let want = want.min(self.cq_entries());
        // An enter with GETEVENTS (which the overflow flag forces) flushes the backlog.
        self.note_overflow(sq_flags);
        match enter_decision(sq_flags, to_submit, want, sqpoll) {
            None => Ok(if sqpoll { to_submit } else { 0 }),
            Some(d) => self.enter_retrying(d.to_submit, want, d.flags, deadline),
        }
    }

    fn enter_retrying(
        &mut self,
        to_submit: u32,
        want: u32,
        flags: u32,
        deadline: Option<Option<Instant>>,
    ) -> io::Result<u32> {
        loop {
            let ts = match deadline {
                None | Some(None) => None,
                Some(Some(d)) => Some(KernelTimespec::from(
                    d.saturating_duration_since(Instant::now()),
                )),
            };
            self.enters += 1;
            match self.enter_raw(to_submit, want, flags, ts.as_ref()) {
                Ok(n) => return Ok(n),
                Err(Errno::INTR) => continue,
                Err(Errno::TIME) => return Ok(0),
                Err(e) => return Err(enter_error(e, to_submit, want, flags)),
            }
        }
    }

    fn enter_raw(
        &self,
        to_submit: u32,
        want: u32,
        flags: u32,
        ts: Option<&KernelTimespec>,
    ) -> rustix::io::Result<u32> {
        let (fd, flags) = match self.registered_index {
            // A registered-ring index (0..16) stands in for the fd only when the
            // REGISTERED_RING flag tells the kernel so.
            Some(i) => (
                // SAFETY: never used as an fd by us; only passed with REGISTERED_RING.
                unsafe { BorrowedFd::borrow_raw(i as i32) },
                flags | enter_flags::REGISTERED_RING,
            ),
            None => (self.fd.as_fd(), flags),
        };
        match ts {
            None => {
                let f = IoringEnterFlags::from_bits_retain(flags);
                // SAFETY: every SQE in the SQ was pushed under push()'s contract (its memory
                // stays valid until completion); no EXT_ARG flag is passed here.
                unsafe { io_uring_enter(fd, to_submit, want, f) }
            }
            Some(ts) => {
                let arg = io_uring_getevents_arg {
                    ts: io_uring_ptr::new((ts as *const KernelTimespec).cast_mut().cast()),
                    ..Default::default()
                };
                let f = IoringEnterFlags::from_bits_retain(flags | enter_flags::EXT_ARG);
                // SAFETY: as above; `arg` and the timespec it points to live across the
                // call, and EXT_ARG is set as io_uring_enter_arg requires.
                unsafe { io_uring_enter_arg(fd, to_submit, want, f, Some(&arg)) }
            }
        }
    }
}

fn enter_error(e: Errno, to_submit: u32, want: u32, flags: u32) -> io::Error {
    let hint = match e {
        Errno::BUSY | Errno::AGAIN => {
            ": the completion backlog is full, reap completions and submit again"
        }
        Errno::BADR => ": the kernel dropped completions",
        Errno::EXIST => ": a SINGLE_ISSUER ring entered from a thread that does not own it",
        _ => "",
    };
    let e = io::Error::from(e);
    io::Error::new(
        e.kind(),
        format!("io_uring: io_uring_enter(to_submit={to_submit}, min_complete={want}, flags={flags:#x}) failed: {e}{hint}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions() {
        let w = sq_ring_flags::NEED_WAKEUP;
        assert_eq!(
            enter_decision(0, 3, 0, false),
            Some(EnterDecision {
                flags: 0,
                to_submit: 3
            })
        );
        assert_eq!(
            enter_decision(0, 0, 1, false).unwrap().flags,
            enter_flags::GETEVENTS
        );
        assert_eq!(
            enter_decision(sq_ring_flags::TASKRUN, 0, 0, false)
                .unwrap()
                .flags,
            enter_flags::GETEVENTS
        );
        assert_eq!(enter_decision(0, 3, 0, true), None);
        assert_eq!(
            enter_decision(w, 3, 0, true).unwrap().flags,
            enter_flags::SQ_WAKEUP
        );
        assert_eq!(enter_decision(w, 0, 0, true), None);
        assert_eq!(
            enter_decision(w, 0, 2, true).unwrap().flags,
            enter_flags::GETEVENTS
        );
        // Unknown kernel bits change nothing.
        assert_eq!(enter_decision(0xffff_fff8, 0, 0, false), None);
    }
}
