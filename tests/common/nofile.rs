//! `RLIMIT_NOFILE` helpers of the tests that open many descriptors or exhaust them
//! (included with `#[path]`).
#![allow(dead_code)] // not every binary uses every helper

use std::io;

/// The soft and hard `RLIMIT_NOFILE`.
pub(crate) fn nofile() -> (u64, u64) {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `r` is a live, writable rlimit for the duration of the call.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) };
    assert_eq!(rc, 0, "getrlimit: {}", io::Error::last_os_error());
    (r.rlim_cur, r.rlim_max)
}

/// Sets the soft `RLIMIT_NOFILE` to `soft` (the hard limit unchanged).
pub(crate) fn set_nofile_soft(soft: u64) -> io::Result<()> {
    let (_, hard) = nofile();
    let r = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: `r` is a live rlimit for the duration of the call; the kernel only reads it.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Puts the soft `RLIMIT_NOFILE` back as it was when made, when dropped (a failing test
/// included).
pub(crate) struct NofileGuard {
    soft: u64,
}

impl NofileGuard {
    /// Remembers the current soft limit.
    pub(crate) fn new() -> NofileGuard {
        NofileGuard { soft: nofile().0 }
    }
}

impl Drop for NofileGuard {
    fn drop(&mut self) {
        let restored = set_nofile_soft(self.soft);
        if !std::thread::panicking() {
            restored.expect("restore RLIMIT_NOFILE");
        }
    }
}

/// Raises the soft `RLIMIT_NOFILE` to at least `min` (within the hard limit); the guard
/// puts it back.
pub(crate) fn raise_nofile(min: u64) -> NofileGuard {
    let guard = NofileGuard::new();
    let (soft, hard) = nofile();
    if soft < min {
        assert!(
            hard >= min,
            "RLIMIT_NOFILE hard limit {hard} is below the {min} this test needs"
        );
        set_nofile_soft(min).expect("raise RLIMIT_NOFILE");
    }
    guard
}
