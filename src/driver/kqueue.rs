//! The kqueue driver: parks in `kevent`; woken through `EVFILT_USER` (a pipe on NetBSD and OpenBSD).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use hiver_sys::kqueue::{Events, Poller, Token, Waker};

use super::Unparker;

const WAKE: Token = Token(u64::MAX);

pub(crate) struct KqueueDriver {
    poller: Poller,
    events: Events,
    waker: Arc<Waker>,
    waits: u64,
}

impl KqueueDriver {
    pub(crate) fn new() -> io::Result<KqueueDriver> {
        let poller = Poller::new()?;
        let waker = Arc::new(Waker::new(&poller, WAKE)?);
        tracing::debug!("kqueue driver ready");
        Ok(KqueueDriver {
            poller,
            events: Events::with_capacity(256),
            waker,
            waits: 0,
        })
    }

    pub(crate) fn unparker(&self) -> Unparker {
        Unparker::Kqueue(self.waker.clone())
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
