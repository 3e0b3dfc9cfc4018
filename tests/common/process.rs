//! Example programs run as processes by the tests (included with `#[path]`): found beside
//! the test binary (`target/<profile>/examples/`, which `cargo test` builds first), their
//! stdout read line by line, signalled, and their exit status awaited, every wait bounded.

#![allow(dead_code)] // not every binary uses every helper

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

/// How long any one step may take before the test calls it a hang.
pub(crate) const STEP: Duration = Duration::from_secs(30);

pub(crate) fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test binary> -> target/<profile>/examples/<name>
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: `cargo test` builds the examples first",
        path.display()
    );
    path
}

/// A running example: its stdout as a channel of lines, its exit status as a channel.
pub(crate) struct Server {
    pid: i32,
    lines: Receiver<String>,
    exit: Receiver<ExitStatus>,
    seen: Vec<String>,
}

impl Server {
    pub(crate) fn start(name: &str, args: &[&str]) -> Server {
        let mut child: Child = Command::new(example(name))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        let pid = i32::try_from(child.id()).expect("pid");
        let stdout = child.stdout.take().expect("piped stdout");
        let (line_tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (exit_tx, exit) = mpsc::channel();
        std::thread::spawn(move || {
            let status = child.wait().expect("wait for the example");
            let _ = exit_tx.send(status);
        });
        Server {
            pid,
            lines,
            exit,
            seen: Vec::new(),
        }
    }

    /// Waits for a line starting with `prefix` and returns it.
    pub(crate) fn line(&mut self, prefix: &str) -> String {
        loop {
            match self.lines.recv_timeout(STEP) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if l.starts_with(prefix) {
                        return l;
                    }
                }
                Err(e) => panic!(
                    "no line starting with {prefix:?} ({e}); output so far: {:?}",
                    self.seen
                ),
            }
        }
    }

    /// The address from `listening on ADDR (...)`.
    pub(crate) fn addr(&mut self) -> SocketAddr {
        let l = self.line("listening on ");
        l["listening on ".len()..]
            .split_whitespace()
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {l:?}"))
    }

    pub(crate) fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        let rc = unsafe { libc::kill(self.pid, sig) };
        assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
    }

    pub(crate) fn exit_status(mut self) -> (ExitStatus, Vec<String>) {
        let status = self
            .exit
            .recv_timeout(STEP)
            .unwrap_or_else(|_| panic!("the example did not exit; output: {:?}", self.seen));
        let mut seen = std::mem::take(&mut self.seen);
        // The rest of its output: up to the pipe's end (the reader thread then hangs up).
        while let Ok(l) = self.lines.recv_timeout(STEP) {
            seen.push(l);
        }
        (status, seen)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A failed test must not leave its server running.
        // SAFETY: kill(2) on our own child's pid (harmless if it exited).
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
    }
}
