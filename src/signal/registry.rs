//! The process-wide side of signals: one slot per signal number (a generation counter and
//! its waiters), and the `hiver-signal` thread that turns deliveries into wake-ups.
//!
//! **Handshake** (the one of [`WaitSet`]): a listener that finds the generation unchanged
//! registers its waker, issues a SeqCst fence, and reads the generation again before it
//! returns `Pending`. The dispatcher bumps the generation, issues a SeqCst fence, then wakes
//! every waiter. Either the listener's second read sees the bump or the dispatcher sees the
//! waker.

use std::io;
use std::sync::{OnceLock, PoisonError};

use hiver_sys::signal::{Receiver, MAX_SIGNAL};

use crate::loom::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use crate::loom::sync::Mutex;
use crate::sync::wait_set::WaitSet;

/// Everything the listeners and the dispatcher share.
pub(super) struct Registry {
    /// Indexed by signal number (index 0 unused).
    slots: Box<[Slot]>,
    setup: Mutex<Setup>,
    /// The dispatcher met an error it cannot recover from: streams end.
    stopped: AtomicBool,
}

/// One signal's deliveries.
pub(super) struct Slot {
    /// Deliveries dispatched so far (coalesced: one per report of the receiver).
    generation: AtomicU64,
    waiters: WaitSet,
}

/// What is set up once: the dispatcher thread (and the receiver it waits on), the signals
/// caught.
#[derive(Default)]
struct Setup {
    /// Set once the dispatcher runs.
    dispatcher: Option<&'static Receiver>,
    caught: Vec<i32>,
}

/// The registry, created on first use.
pub(super) fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry {
        slots: (0..=MAX_SIGNAL).map(|_| Slot::new()).collect(),
        setup: Mutex::new(Setup::default()),
        stopped: AtomicBool::new(false),
    })
}

impl Registry {
    /// Catches `signal` (once per process) and returns its slot; starts the dispatcher on
    /// first use.
    pub(super) fn listen(&'static self, signal: i32) -> io::Result<&'static Slot> {
        // Set-up only: listeners are created rarely, and no wake-up path takes this lock.
        let mut setup = self.setup.lock().unwrap_or_else(PoisonError::into_inner);
        let receiver = match setup.dispatcher {
            Some(receiver) => receiver,
            None => Receiver::get()?,
        };
        // Caught before the dispatcher starts: a delivery in between waits in the receiver.
        if !setup.caught.contains(&signal) {
            receiver.add(signal)?;
            setup.caught.push(signal);
        }
        if setup.dispatcher.is_none() {
            std::thread::Builder::new()
                .name("hiver-signal".into())
                .spawn(move || self.dispatch(receiver))
                .map_err(|e| {
                    io::Error::new(e.kind(), format!("cannot start the signal thread: {e}"))
                })?;
            setup.dispatcher = Some(receiver);
        }
        self.slot(signal)
    }

    fn slot(&self, signal: i32) -> io::Result<&Slot> {
        usize::try_from(signal)
            .ok()
            .and_then(|i| self.slots.get(i))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("signal number {signal} is out of range"),
                )
            })
    }

    /// Whether the dispatcher has stopped (streams end).
    pub(super) fn stopped(&self) -> bool {
        // Acquire: pairs with the Release of `stop`.
        self.stopped.load(Ordering::Acquire)
    }

    /// The `hiver-signal` thread: waits for deliveries, bumps their generations, wakes.
    fn dispatch(&self, receiver: &Receiver) {
        let mut arrived = Vec::new();
        loop {
            arrived.clear();
            if let Err(e) = receiver.wait(|signal| arrived.push(signal)) {
                tracing::error!(error = %e, "the signal thread stopped: signal streams end");
                self.stop();
                return;
            }
            let slots: Vec<&Slot> = arrived.iter().filter_map(|&s| self.slot(s).ok()).collect();
            for slot in &slots {
                // Relaxed: ordered before the waiters' re-check by the fence below.
                slot.generation.fetch_add(1, Ordering::Relaxed);
            }
            // SeqCst: the notifier's side of the handshake (module docs).
            fence(Ordering::SeqCst);
            for slot in slots {
                slot.waiters.notify_all();
            }
        }
    }

    fn stop(&self) {
        // Release: a listener that sees the flag sees the end of the stream.
        self.stopped.store(true, Ordering::Release);
        // SeqCst: the notifier's side of the handshake (module docs).
        fence(Ordering::SeqCst);
        for slot in self.slots.iter() {
            slot.waiters.notify_all();
        }
    }
}

impl Slot {
    fn new() -> Slot {
        Slot {
            generation: AtomicU64::new(0),
            waiters: WaitSet::new(),
        }
    }

    /// Deliveries dispatched so far.
    pub(super) fn generation(&self) -> u64 {
        // Relaxed: the count is all that is read; the handshake's fences order it against
        // the waker's registration (module docs).
        self.generation.load(Ordering::Relaxed)
    }

    pub(super) fn waiters(&self) -> &WaitSet {
        &self.waiters
    }
}
