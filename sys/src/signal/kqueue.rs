//! The kqueue receiver (macOS and the BSDs): one `EVFILT_SIGNAL` filter per caught signal
//! on a kqueue of its own, its events carrying the signal number as their token.
//!
//! kqueue records every delivery to the process whatever the disposition (kqueue(2)), so the
//! disposition only keeps the default action away: a handler that does nothing (parent
//! module docs say why not `SIG_IGN`). `EV_CLEAR` resets the filter's count at each report,
//! so deliveries between two waits are reported once.
//!
//! # Safety
//!
//! One `unsafe` call: libc's `sigaction`, given a fully initialised `struct sigaction` whose
//! handler does nothing (async-signal-safe) and a null `oact`.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::AsFd;
use std::ptr;

use rustix::event::kqueue::{Event, EventFilter, EventFlags};
use rustix::process::Signal;

use crate::kqueue::{submit, Events, Poller, Token};

/// The handler of caught signals: kqueue reports them, the handler only has to exist.
extern "C" fn ignore(_signal: libc::c_int) {}

/// A kqueue that only holds signal filters.
#[derive(Debug)]
pub(super) struct Receiver {
    poller: Poller,
}

impl Receiver {
    pub(super) fn new() -> io::Result<Receiver> {
        Ok(Receiver {
            poller: Poller::new()?,
        })
    }

    pub(super) fn add(&self, signal: i32) -> io::Result<()> {
        // The filter first: a delivery between the two calls is then reported, not lost.
        let token = Token(u64::try_from(signal).unwrap_or(0));
        // Every number the parent module's check lets through (1 to 31) is named here.
        let filter = EventFilter::Signal {
            signal: Signal::from_named_raw(signal)
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, unnamed(signal)))?,
            times: 0,
        };
        let flags = EventFlags::ADD | EventFlags::CLEAR | EventFlags::RECEIPT;
        // An `EVFILT_SIGNAL` change names a signal number, no file descriptor.
        submit(
            self.poller.as_fd(),
            &[Event::new(filter, flags, token.udata())],
            &[],
        )?;
        install_noop_handler(signal)
    }

    pub(super) fn wait(&self, mut arrived: impl FnMut(i32)) -> io::Result<()> {
        let mut events = Events::with_capacity(32);
        self.poller.wait(&mut events, None)?;
        for event in events.iter() {
            if let Ok(signal) = i32::try_from(event.token().0) {
                arrived(signal);
            }
        }
        Ok(())
    }
}

fn unnamed(signal: i32) -> String {
    format!("signal {signal} has no name on this platform: kqueue catches named signals only")
}

/// Replaces `signal`'s disposition with a handler that does nothing.
fn install_noop_handler(signal: i32) -> io::Result<()> {
    let handler: extern "C" fn(libc::c_int) = ignore;
    // SAFETY: all-zero bytes are a valid `struct sigaction` (integers, a handler word that
    // reads as `SIG_DFL`, an empty mask); the fields are set below.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler as libc::sighandler_t;
    action.sa_flags = libc::SA_RESTART | libc::SA_ONSTACK;
    // SAFETY: `action` is initialised and its handler is async-signal-safe; `oact` is null
    // (module `# Safety`).
    let rc = unsafe { libc::sigaction(signal, &action, ptr::null_mut()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
