//! The readiness driver, one file for both shims (they share their API): epoll on Linux
//! (parks in `epoll_wait`, woken through an eventfd), kqueue on macOS and the BSDs (parks in
//! `kevent`, woken through `EVFILT_USER`, or a pipe on NetBSD and OpenBSD).

use std::io;
use std::sync::Arc;
use std::time::Duration;

#[cfg(target_os = "linux")]
pub(crate) use hiver_sys::epoll::Waker;
#[cfg(target_os = "linux")]
use hiver_sys::epoll::{Events, Poller, Token};
#[cfg(not(target_os = "linux"))]
pub(crate) use hiver_sys::kqueue::Waker;
#[cfg(not(target_os = "linux"))]
use hiver_sys::kqueue::{Events, Poller, Token};

use super::Unparker;

const WAKE: Token = Token(u64::MAX);

pub(crate) struct ReadinessDriver {
    poller: Poller,
    events: Events,
    waker: Arc<Waker>,
    waits: u64,
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
            poller,
            events: Events::with_capacity(256),
            waker,
            waits: 0,
        })
    }

    pub(crate) fn unparker(&self) -> Unparker {
        Unparker::Readiness(self.waker.clone())
    }

    pub(crate) fn park(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.waits += 1;
        self.poller.wait(&mut self.events, timeout)?;
        Ok(())
    }

    pub(crate) fn kernel_entries(&self) -> u64 {
        self.waits
    }
}
