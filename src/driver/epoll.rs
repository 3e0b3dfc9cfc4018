//! The epoll driver: parks in `epoll_wait`; woken through its eventfd waker.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use hiver_sys::epoll::{Events, Poller, Token, Waker};

use super::Unparker;

const WAKE: Token = Token(u64::MAX);

pub(crate) struct EpollDriver {
    poller: Poller,
    events: Events,
    waker: Arc<Waker>,
    waits: u64,
}

impl EpollDriver {
    pub(crate) fn new() -> io::Result<EpollDriver> {
        let poller = Poller::new()?;
        let waker = Arc::new(Waker::new(&poller, WAKE)?);
        tracing::debug!("epoll driver ready");
        Ok(EpollDriver {
            poller,
            events: Events::with_capacity(256),
            waker,
            waits: 0,
        })
    }

    pub(crate) fn unparker(&self) -> Unparker {
        Unparker::Epoll(self.waker.clone())
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
