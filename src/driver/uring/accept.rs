//! Multishot accept: one SQE on a listener keeps accepting, each CQE carrying a new
//! connection's fd, until the kernel ends it (an error, a cancel, or the listener's end).
//! Connections go to the listener's queue, whoever is waiting and whatever happened to the
//! `accept` future that armed it: a dropped `accept` loses no connection.
//!
//! # Safety
//!
//! A CQE's non-negative `res` is a file descriptor the kernel just installed for us and
//! nobody else owns; it becomes an `OwnedFd` exactly once.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

use hiver_sys::uring::{op as sqe, Cqe};

use super::op::Multishot;
use super::{CqeCtx, InFlight, CANCEL};
use crate::channel::Sender;

/// Connections queued beyond this stop the multishot until `accept` drains the queue (the
/// kernel's backlog holds the rest).
pub(crate) const QUEUE_CAP: usize = 256;

/// What the listener receives: a connection, an error, or `None` when the multishot
/// ended and whoever receives it must arm it again.
pub(crate) type AcceptEvent = io::Result<Option<OwnedFd>>;

/// The in-flight entry of a listener's multishot accept.
pub(crate) struct MultishotAccept {
    pub(crate) events: Sender<AcceptEvent>,
    pub(crate) armed: std::sync::Arc<Multishot>,
}

impl InFlight for MultishotAccept {
    fn on_cqe(&self, cqe: &Cqe, ctx: &mut CqeCtx<'_>) -> bool {
        let event = if cqe.res >= 0 {
            // SAFETY: a fresh fd from the kernel, owned by nobody else (module docs).
            Some(Ok(Some(unsafe { OwnedFd::from_raw_fd(cqe.res) })))
        } else if cqe.res == -rustix::io::Errno::CANCELED.raw_os_error() {
            None
        } else {
            Some(Err(super::ops::errno(cqe.res)))
        };
        if let Some(event) = event {
            // A closed queue: the listener is gone, and the fd is closed here.
            let _ = self.events.try_send(event);
        }
        let last = !cqe.more();
        if last {
            self.armed.ended();
            // Whoever waits must arm it again.
            let _ = self.events.try_send(Ok(None));
        } else if self.events.len() >= QUEUE_CAP {
            let cancel = sqe::async_cancel(cqe.user_data, 0).user_data(CANCEL);
            // SAFETY: a cancel names no memory. A full SQ: the next CQE tries again.
            let _ = unsafe { ctx.ring.push(&cancel) };
        }
        let _ = ctx;
        last
    }
}
