//! A forked child process for the cases that change process-wide state for good (resource
//! limits, capabilities, signal dispositions) or that stop the process: the child runs a
//! closure, reports a line through a pipe and `_exit`s; the parent waits for it, bounded.

#![allow(dead_code)] // not every case uses every helper

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::mpsc;
use std::time::Duration;

/// A running forked child.
pub(crate) struct Forked {
    pub(crate) pid: libc::pid_t,
    report: mpsc::Receiver<String>,
    reaped: bool,
}

/// Forks; the child runs `body` (its `Ok` text or `Err` text is its report, a panic is
/// caught and reported) and exits 0 on `Ok`, 1 on `Err`, 2 on a panic. The child's
/// stdout and stderr are the parent's.
pub(crate) fn fork(body: impl FnOnce() -> Result<String, String>) -> Forked {
    let mut p = [0; 2];
    // SAFETY: `p` has room for the two descriptors pipe2 writes.
    assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: the child runs `body` and _exits; it never returns into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        // SAFETY: the read end is ours (the child's copy), closed once.
        unsafe { libc::close(p[0]) };
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
        let (msg, code) = match r {
            Ok(Ok(m)) => (format!("ok: {m}"), 0),
            Ok(Err(m)) => (format!("error: {m}"), 1),
            Err(e) => {
                let m = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                (format!("panic: {m}"), 2)
            }
        };
        // SAFETY: `p[1]` is the pipe's write end, `msg` a live buffer; _exit skips the
        // parent's destructors and atexit handlers, which the child must not run.
        unsafe {
            libc::write(p[1], msg.as_ptr().cast(), msg.len());
            libc::_exit(code)
        }
    }
    // SAFETY: both ends are ours; the write end is closed here so that EOF comes when the
    // child exits.
    let (read_end, write_end) = unsafe { (OwnedFd::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) };
    drop(write_end);
    let (tx, report) = mpsc::channel();
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::fs::File::from(read_end).read_to_string(&mut s);
        let _ = tx.send(s);
    });
    Forked {
        pid,
        report,
        reaped: false,
    }
}

impl Forked {
    /// Sends `sig` to the child.
    pub(crate) fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill(2) on our own, not yet reaped, child.
        let rc = unsafe { libc::kill(self.pid, sig) };
        assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// Waits (at most `limit`; then the child is killed and the test fails) for the child's
    /// report and exit status; panics unless it exited 0.
    pub(crate) fn expect_ok(self, what: &str, limit: Duration) -> String {
        let (report, status) = self.wait(limit);
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "{what}: the child failed (wait status {status:#x}): {report}"
        );
        report
    }

    /// The child's report and wait status.
    pub(crate) fn wait(mut self, limit: Duration) -> (String, libc::c_int) {
        let report = match self.report.recv_timeout(limit) {
            Ok(s) => s,
            Err(_) => {
                // SAFETY: our child; SIGKILL ends it (and closes its pipe end).
                unsafe { libc::kill(self.pid, libc::SIGKILL) };
                format!("the child did not finish within {limit:?} (a hang); killed")
            }
        };
        let mut status = 0;
        // SAFETY: `status` is writable; `pid` is our child, reaped once here.
        assert_eq!(unsafe { libc::waitpid(self.pid, &mut status, 0) }, self.pid);
        self.reaped = true;
        (report, status)
    }
}

impl Drop for Forked {
    fn drop(&mut self) {
        if !self.reaped {
            // A failing parent must not leave its child running.
            // SAFETY: our own child.
            unsafe {
                libc::kill(self.pid, libc::SIGKILL);
                libc::waitpid(self.pid, std::ptr::null_mut(), 0);
            }
        }
    }
}
