//! The io_uring driver: a ring per worker, parked in with `io_uring_enter(GETEVENTS)` and a
//! timeout; woken from other threads through an eventfd that a multishot `POLL_ADD` keeps
//! armed on the ring.
//!
//! # Safety
//!
//! The only SQE this driver submits is the eventfd poll, which names no memory; the eventfd
//! it watches is owned by the driver next to the ring.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use hiver_sys::uring::{features, op, Ring, SetupOptions};
use rustix::event::{eventfd, EventfdFlags};

use super::{DriverConfig, Unparker};

/// user_data of the waker poll: no operation slot ever has it.
const WAKE: u64 = u64::MAX;
const POLLIN: u32 = 0x1;

pub(crate) struct UringDriver {
    ring: Ring,
    eventfd: Arc<OwnedFd>,
    wake_armed: bool,
    wakes: u64,
}

/// The eventfd counter is drained once every this many wake-ups (each write posts a CQE
/// through the multishot poll whether or not the counter is drained, so draining on every
/// wake would only add a `read` syscall per wake).
const DRAIN_EVERY: u64 = 1024;

impl UringDriver {
    pub(crate) fn new(config: &DriverConfig) -> io::Result<UringDriver> {
        let opts = SetupOptions::default()
            .defer_taskrun(config.defer_wakeup)
            .register_ring_fd(true);
        let ring = Ring::new(config.entries, &opts)?;
        if ring.features() & features::EXT_ARG == 0 {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "io_uring lacks IORING_FEAT_EXT_ARG (needs Linux 5.11)",
            ));
        }
        let probe = ring.probe()?;
        if let Some(op) = probe.first_missing(&[
            hiver_sys::uring::opcode::NOP,
            hiver_sys::uring::opcode::POLL_ADD,
        ]) {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("io_uring lacks opcode {op}"),
            ));
        }
        let eventfd = Arc::new(eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?);
        let mut d = UringDriver {
            ring,
            eventfd,
            wake_armed: false,
            wakes: 0,
        };
        d.arm_wake()?;
        d.ring.submit()?;
        tracing::debug!(
            flags = format_args!("{:#x}", d.ring.setup_flags()),
            entries = d.ring.entries(),
            "io_uring driver ready"
        );
        Ok(d)
    }

    fn arm_wake(&mut self) -> io::Result<()> {
        if !self.wake_armed {
            let sqe = op::poll_add_multi(self.eventfd.as_raw_fd(), POLLIN).user_data(WAKE);
            // SAFETY: a poll names no memory; the eventfd lives as long as the ring (both in
            // self, and the ring is dropped, cancelling the poll, before the Arc's last use).
            match unsafe { self.ring.push(&sqe) } {
                Ok(()) => self.wake_armed = true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.ring.submit()?;
                    // SAFETY: as above.
                    unsafe { self.ring.push(&sqe) }?;
                    self.wake_armed = true;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    pub(crate) fn unparker(&self) -> Unparker {
        Unparker::EventFd(self.eventfd.clone())
    }

    pub(crate) fn park(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.arm_wake()?;
        match timeout {
            Some(t) if t.is_zero() => self.ring.submit().map(drop)?,
            Some(t) => self.ring.submit_and_wait_timeout(1, t).map(drop)?,
            None => self.ring.submit_and_wait(1).map(drop)?,
        }
        let mut woke = 0;
        let mut rearm = false;
        self.ring.reap(|cqe| {
            if cqe.user_data == WAKE {
                woke += 1;
                rearm |= !cqe.more();
            }
        })?;
        if woke > 0 {
            let before = self.wakes;
            self.wakes += woke;
            // A poll that ended (no MORE) is re-armed on a drained counter; otherwise the
            // counter is only drained now and then, keeping it far from overflow.
            if rearm || before / DRAIN_EVERY != self.wakes / DRAIN_EVERY {
                let mut buf = [0u8; 8];
                // EAGAIN: already drained.
                let _ = rustix::io::read(&*self.eventfd, &mut buf);
            }
        }
        if rearm {
            self.wake_armed = false;
        }
        Ok(())
    }

    pub(crate) fn kernel_entries(&self) -> u64 {
        self.ring.enter_count()
    }
}
