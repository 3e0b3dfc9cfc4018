//! Setup options, entry rounding, and the flag ladder: try the newest flag set the caller
//! wants, step down a group on `EINVAL`, and say which step failed otherwise.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::OwnedFd;
use std::time::Duration;

use rustix::io_uring::{io_uring_params, io_uring_setup, IoringSetupFlags};

use super::layout::setup_flags as f;

/// The most SQ entries a ring may have (`IORING_MAX_ENTRIES`); larger requests are clamped.
pub const MAX_ENTRIES: u32 = 32768;

/// Rounds a requested entry count up to a power of two, clamped to [`MAX_ENTRIES`].
///
/// ```
/// use hiver_sys::uring::round_entries;
/// assert_eq!(round_entries(100).unwrap(), 128);
/// assert_eq!(round_entries(u32::MAX).unwrap(), 32768);
/// assert!(round_entries(0).is_err());
/// ```
///
/// # Errors
///
/// `InvalidInput` for 0.
pub fn round_entries(requested: u32) -> io::Result<u32> {
    if requested == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "io_uring: ring entries must be at least 1, got 0",
        ));
    }
    Ok(requested.min(MAX_ENTRIES).next_power_of_two())
}

/// What to ask of `io_uring_setup`. Each fast path is used only when the kernel accepts it:
/// [`Ring::new`](super::Ring::new) drops the newest groups one by one on `EINVAL` and
/// reports what it got in [`Ring::setup_flags`](super::Ring::setup_flags).
///
/// The default asks for `SINGLE_ISSUER`, `COOP_TASKRUN` + `TASKRUN_FLAG`, `SUBMIT_ALL`,
/// `NO_SQARRAY` and `CLAMP`, a CQ twice the SQ, no SQPOLL and no `DEFER_TASKRUN` (which
/// needs a loop written for it).
///
/// ```
/// use hiver_sys::uring::SetupOptions;
/// let opts = SetupOptions::default().defer_taskrun(true).cq_entries(1024);
/// # let _ = opts;
/// ```
#[derive(Clone, Debug)]
pub struct SetupOptions {
    pub(crate) cq_entries: Option<u32>,
    pub(crate) sqpoll_idle: Option<Duration>,
    pub(crate) single_issuer: bool,
    pub(crate) defer_taskrun: bool,
    pub(crate) coop_taskrun: bool,
    pub(crate) submit_all: bool,
    pub(crate) no_sqarray: bool,
    pub(crate) register_ring_fd: bool,
}

impl Default for SetupOptions {
    fn default() -> Self {
        SetupOptions {
            cq_entries: None,
            sqpoll_idle: None,
            single_issuer: true,
            defer_taskrun: false,
            coop_taskrun: true,
            submit_all: true,
            no_sqarray: true,
            register_ring_fd: false,
        }
    }
}

impl SetupOptions {
    /// CQ size (`IORING_SETUP_CQSIZE`), rounded up to a power of two and at least the SQ
    /// size; the kernel default is twice the SQ.
    pub fn cq_entries(mut self, n: u32) -> Self {
        self.cq_entries = Some(n);
        self
    }

    /// A kernel thread polls the SQ (`IORING_SETUP_SQPOLL`) and sleeps after `idle`
    /// without work. Refused by the kernel: an error, since it was asked for by name.
    pub fn sqpoll(mut self, idle: Duration) -> Self {
        self.sqpoll_idle = Some(idle);
        self
    }

    /// `IORING_SETUP_SINGLE_ISSUER` (6.0): only the creating thread submits.
    pub fn single_issuer(mut self, on: bool) -> Self {
        self.single_issuer = on;
        self
    }

    /// `IORING_SETUP_DEFER_TASKRUN` (6.1): completions run only when the owner enters with
    /// `GETEVENTS`. Implies `SINGLE_ISSUER`; ignored with SQPOLL.
    pub fn defer_taskrun(mut self, on: bool) -> Self {
        self.defer_taskrun = on;
        self
    }

    /// `IORING_SETUP_COOP_TASKRUN` + `TASKRUN_FLAG` (5.19): no IPI on completion; the SQ
    /// flags say when to enter.
    pub fn coop_taskrun(mut self, on: bool) -> Self {
        self.coop_taskrun = on;
        self
    }

    /// `IORING_SETUP_SUBMIT_ALL` (5.18): keep submitting past a failing SQE.
    pub fn submit_all(mut self, on: bool) -> Self {
        self.submit_all = on;
        self
    }

    /// `IORING_SETUP_NO_SQARRAY` (6.6): no SQ index array.
    pub fn no_sqarray(mut self, on: bool) -> Self {
        self.no_sqarray = on;
        self
    }

    /// Registers the ring fd (`IORING_REGISTER_RING_FDS`, 5.18) so that each enter skips
    /// the fd lookup. The registration belongs to the creating thread: a ring set up with
    /// it must be entered only from that thread. Refused by the kernel: silently off.
    pub fn register_ring_fd(mut self, on: bool) -> Self {
        self.register_ring_fd = on;
        self
    }

    /// The flag sets to try, newest first.
    pub(crate) fn ladder(&self) -> Vec<u32> {
        let mut base = f::CLAMP;
        if self.cq_entries.is_some() {
            base |= f::CQSIZE;
        }
        if self.sqpoll_idle.is_some() {
            base |= f::SQPOLL;
        }
        let mut steps = Vec::new();
        let mut flags = base;
        if self.submit_all {
            flags |= f::SUBMIT_ALL;
        }
        let coop = f::COOP_TASKRUN | f::TASKRUN_FLAG;
        if self.coop_taskrun {
            flags |= coop;
        }
        let defer = self.defer_taskrun && self.sqpoll_idle.is_none();
        if self.single_issuer || defer {
            flags |= f::SINGLE_ISSUER;
        }
        if defer {
            flags |= f::DEFER_TASKRUN | f::TASKRUN_FLAG;
        }
        if self.no_sqarray {
            steps.push(flags | f::NO_SQARRAY);
        }
        for drop in [f::DEFER_TASKRUN, f::SINGLE_ISSUER, coop, f::SUBMIT_ALL] {
            steps.push(flags);
            flags &= !drop;
        }
        steps.push(flags);
        steps.dedup();
        steps
    }
}

/// Calls `io_uring_setup` down the ladder. Returns the fd and the parameters the kernel
/// filled in.
pub(crate) fn setup(entries: u32, opts: &SetupOptions) -> io::Result<(OwnedFd, io_uring_params)> {
    let mut last = None;
    for flags in opts.ladder() {
        let mut p = io_uring_params::default();
        p.flags = IoringSetupFlags::from_bits_retain(flags);
        if let Some(cq) = opts.cq_entries {
            p.cq_entries = cq.max(entries);
        }
        if let Some(idle) = opts.sqpoll_idle {
            p.sq_thread_idle = u32::try_from(idle.as_millis()).unwrap_or(u32::MAX);
        }
        // SAFETY: ATTACH_WQ is never set, so `wq_fd` is not read; `p` is a zeroed params
        // struct with only flags, entries and idle time filled in.
        match unsafe { io_uring_setup(entries, &mut p) } {
            Ok(fd) => return Ok((fd, p)),
            Err(rustix::io::Errno::INVAL) => last = Some(flags),
            Err(e) => {
                return Err(setup_error(e.into(), entries, flags));
            }
        }
    }
    let flags = last.unwrap_or(0);
    Err(setup_error(rustix::io::Errno::INVAL.into(), entries, flags))
}

fn setup_error(e: io::Error, entries: u32, flags: u32) -> io::Error {
    let hint = match e.raw_os_error() {
        Some(1) => " (io_uring refused: seccomp filter, or sysctl kernel.io_uring_disabled)",
        Some(38) => " (this kernel has no io_uring)",
        Some(12) => " (out of memory or RLIMIT_MEMLOCK too low for the rings)",
        Some(24) => " (no file descriptor left: EMFILE)",
        _ => "",
    };
    io::Error::new(
        e.kind(),
        format!("io_uring: io_uring_setup(entries={entries}, flags={flags:#x}) failed: {e}{hint}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_steps_down_newest_first() {
        let l = SetupOptions::default().ladder();
        assert_ne!(l[0] & f::NO_SQARRAY, 0);
        assert_eq!(l[1] & f::NO_SQARRAY, 0);
        assert!(l
            .iter()
            .all(|s| s & f::CLAMP != 0 && s & f::DEFER_TASKRUN == 0));
        assert_eq!(*l.last().unwrap(), f::CLAMP);
        let d = SetupOptions::default().defer_taskrun(true).ladder();
        assert_eq!(
            d[0] & (f::DEFER_TASKRUN | f::SINGLE_ISSUER),
            f::DEFER_TASKRUN | f::SINGLE_ISSUER
        );
        assert!(d
            .iter()
            .any(|s| s & f::DEFER_TASKRUN == 0 && s & f::SINGLE_ISSUER != 0));
        let s = SetupOptions::default()
            .sqpoll(Duration::from_millis(5))
            .defer_taskrun(true)
            .ladder();
        assert!(s
            .iter()
            .all(|x| x & f::SQPOLL != 0 && x & f::DEFER_TASKRUN == 0));
        let c = SetupOptions::default().cq_entries(64).ladder();
        assert!(c.iter().all(|x| x & f::CQSIZE != 0));
    }

    #[test]
    fn entries_round_and_clamp() {
        assert_eq!(round_entries(1).unwrap(), 1);
        assert_eq!(round_entries(3).unwrap(), 4);
        assert_eq!(round_entries(32768).unwrap(), 32768);
        assert_eq!(round_entries(40000).unwrap(), 32768);
        assert_eq!(
            round_entries(0).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
}
