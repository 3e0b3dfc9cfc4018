//! The waiters of one side of a channel (receivers waiting for a value, or senders waiting
//! for space), and the handshake that loses no wake-up.
//!
//! **Where waiters live.** The first waiter registers in a lock-free [`AtomicWaker`] slot
//! (`primary`), claimed with one CAS: a single receiver, or a single sender blocked on a
//! full channel, never takes a lock. Only a second and later waiter of the same side at the
//! same time (two tasks in `recv`, many senders blocked on a full channel) goes to a FIFO
//! list behind a small mutex: the slow path. The fast path (a send or receive that needs
//! not wait) takes no lock either: it looks at the two with plain loads.
//!
//! **Handshake.** A waiter registers, issues a SeqCst fence, then re-checks its condition
//! (tries the queue again) before it returns `Pending`. A notifier changes the queue,
//! issues a SeqCst fence, then looks for waiters. With the two fences, either the waiter's
//! re-check sees the change or the notifier sees the registration.
//!
//! **Notifications are not lost.** `notify_one` wakes one waiter: the primary if a waker
//! is stored there, else the oldest listed waiter not yet notified. A woken waiter either
//! tries the queue again (and registers again if it still has to wait) or, if its future
//! is dropped first, passes the notification on (`cancel`). Closing wakes everyone.
//!
//! No `unsafe` here: the lock-free part is `AtomicWaker`'s.
#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::sync::PoisonError;
use std::task::Waker;

use super::atomic_waker::AtomicWaker;
use crate::loom::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use crate::loom::sync::{Mutex, MutexGuard};

/// The waiters of one side.
pub(crate) struct WaitSet {
    primary: AtomicWaker,
    /// Held by the waiter registered in `primary`.
    claimed: AtomicBool,
    /// Listed waiters not yet notified (read without the lock by notifiers).
    listed: AtomicUsize,
    list: Mutex<List>,
}

/// A waiter's place in a [`WaitSet`], kept in its future.
#[derive(Debug, Default)]
pub(crate) enum Waiter {
    #[default]
    Idle,
    Primary,
    Listed(usize),
}

impl WaitSet {
    pub(crate) fn new() -> WaitSet {
        WaitSet {
            primary: AtomicWaker::new(),
            claimed: AtomicBool::new(false),
            listed: AtomicUsize::new(0),
            list: Mutex::new(List::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, List> {
        // A panic cannot leave the list half-changed (no user code runs under the lock).
        self.list.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes one waiter, if any. The caller changed the queue, then issued a SeqCst fence.
    pub(crate) fn notify_one(&self) {
        if !self.primary.is_idle() {
            if let Some(w) = self.primary.take() {
                w.wake();
                return;
            }
        }
        // Relaxed: ordered by the caller's fence.
        if self.listed.load(Ordering::Relaxed) != 0 {
            let w = self.lock().notify_one(&self.listed);
            if let Some(w) = w {
                w.wake();
            }
        }
    }

    /// Wakes every waiter (the channel closed). The caller issued a SeqCst fence.
    pub(crate) fn notify_all(&self) {
        if let Some(w) = self.primary.take() {
            w.wake();
        }
        // Relaxed: ordered by the caller's fence.
        if self.listed.load(Ordering::Relaxed) != 0 {
            let ws = self.lock().notify_all(&self.listed);
            ws.into_iter().for_each(Waker::wake);
        }
    }
}

impl Waiter {
    /// Registers `waker` (again), then issues the SeqCst fence of the handshake: the caller
    /// must re-check its condition before returning `Pending`.
    pub(crate) fn register(&mut self, set: &WaitSet, waker: &Waker) {
        match *self {
            Waiter::Idle => {
                // Relaxed load: a hint (join the list behind earlier waiters). Acquire CAS:
                // the previous primary's release of the claim happens before our use.
                if set.listed.load(Ordering::Relaxed) == 0
                    && set
                        .claimed
                        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                        .is_ok()
                {
                    *self = Waiter::Primary;
                    set.primary.register(waker);
                } else {
                    *self = Waiter::Listed(set.lock().insert(waker, &set.listed));
                }
            }
            Waiter::Primary => set.primary.register(waker),
            Waiter::Listed(key) => set.lock().rearm(key, waker, &set.listed),
        }
        fence(Ordering::SeqCst);
    }

    /// Leaves the set; `true` if a notification reached this waiter since it last
    /// registered (or may have: passing one on needlessly only costs a spurious wake-up).
    pub(crate) fn leave(&mut self, set: &WaitSet) -> bool {
        match std::mem::take(self) {
            Waiter::Idle => false,
            Waiter::Primary => {
                let stored = set.primary.take();
                // Release: our use of the slot happens before the next claimant's.
                set.claimed.store(false, Ordering::Release);
                stored.is_none()
            }
            Waiter::Listed(key) => set.lock().remove(key, &set.listed),
        }
    }

    /// Leaves the set without having acted on a notification it may have had (its future
    /// was dropped): passes the notification on to another waiter.
    pub(crate) fn cancel(&mut self, set: &WaitSet) {
        if self.leave(set) {
            // SeqCst: orders our look for waiters after the notifier's fence (which
            // happens before this point), as a notifier's own look is.
            fence(Ordering::SeqCst);
            set.notify_one();
        }
    }
}

/// The listed waiters: a slab of entries, and a FIFO of those not yet notified.
#[derive(Default)]
struct List {
    entries: Vec<Entry>,
    free: Vec<usize>,
    /// `(entry, seq)`: stale pairs (entry removed or re-armed since) are skipped.
    queue: VecDeque<(usize, u64)>,
    seq: u64,
}

#[derive(Default)]
struct Entry {
    waker: Option<Waker>,
    live: bool,
    notified: bool,
    seq: u64,
}

impl List {
    fn enqueue(&mut self, key: usize, listed: &AtomicUsize) {
        self.seq += 1;
        let e = &mut self.entries[key];
        e.seq = self.seq;
        e.notified = false;
        self.queue.push_back((key, self.seq));
        // Relaxed: under the lock; notifiers read it after their fence, and the waiter's
        // fence follows this (module docs).
        listed.fetch_add(1, Ordering::Relaxed);
    }

    fn insert(&mut self, waker: &Waker, listed: &AtomicUsize) -> usize {
        let key = self.free.pop().unwrap_or_else(|| {
            self.entries.push(Entry::default());
            self.entries.len() - 1
        });
        self.entries[key] = Entry {
            waker: Some(waker.clone()),
            live: true,
            ..Entry::default()
        };
        self.enqueue(key, listed);
        key
    }

    fn rearm(&mut self, key: usize, waker: &Waker, listed: &AtomicUsize) {
        let e = &mut self.entries[key];
        match &e.waker {
            Some(old) if old.will_wake(waker) => {}
            _ => e.waker = Some(waker.clone()),
        }
        if e.notified {
            self.enqueue(key, listed);
        }
    }

    /// Removes `key`; `true` if it had been notified.
    fn remove(&mut self, key: usize, listed: &AtomicUsize) -> bool {
        let e = std::mem::take(&mut self.entries[key]);
        self.free.push(key);
        if !e.notified {
            listed.fetch_sub(1, Ordering::Relaxed);
        }
        e.notified
    }

    fn notify_one(&mut self, listed: &AtomicUsize) -> Option<Waker> {
        while let Some((key, seq)) = self.queue.pop_front() {
            let e = &mut self.entries[key];
            if e.live && e.seq == seq && !e.notified {
                e.notified = true;
                listed.fetch_sub(1, Ordering::Relaxed);
                return e.waker.take();
            }
        }
        None
    }

    fn notify_all(&mut self, listed: &AtomicUsize) -> Vec<Waker> {
        let mut out = Vec::new();
        while let Some(w) = self.notify_one(listed) {
            out.push(w);
        }
        out
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    use super::{WaitSet, Waiter};

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waiter(set: &WaitSet) -> (Waiter, Arc<Count>) {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        let mut w = Waiter::Idle;
        w.register(set, &Waker::from(c.clone()));
        (w, c)
    }

    fn wakes(c: &Count) -> usize {
        c.0.load(Ordering::SeqCst)
    }

    #[test]
    fn first_waiter_is_primary_then_fifo() {
        let set = WaitSet::new();
        let (mut a, ca) = waiter(&set);
        let (mut b, cb) = waiter(&set);
        let (mut c, cc) = waiter(&set);
        assert!(matches!(a, Waiter::Primary));
        assert!(matches!((&b, &c), (Waiter::Listed(_), Waiter::Listed(_))));
        set.notify_one();
        set.notify_one();
        assert_eq!((wakes(&ca), wakes(&cb), wakes(&cc)), (1, 1, 0));
        assert!(a.leave(&set) && b.leave(&set), "both were notified");
        assert!(!c.leave(&set), "c was not");
        set.notify_all();
        assert_eq!(wakes(&cc), 0, "nobody left");
    }

    #[test]
    fn a_cancelled_notified_waiter_passes_it_on() {
        let set = WaitSet::new();
        let (mut a, _ca) = waiter(&set);
        let (mut b, cb) = waiter(&set);
        set.notify_one();
        a.cancel(&set);
        assert_eq!(wakes(&cb), 1, "a's notification went to b");
        // b re-registers after its retry failed, then is cancelled without notification.
        b.register(&set, &Waker::from(cb.clone()));
        b.cancel(&set);
        assert_eq!(wakes(&cb), 1);
        let (c, _cc) = waiter(&set);
        assert!(matches!(c, Waiter::Primary), "the claim was released");
    }

    #[test]
    fn notify_all_wakes_primary_and_list_once() {
        let set = WaitSet::new();
        let ws: Vec<_> = (0..5).map(|_| waiter(&set)).collect();
        set.notify_all();
        set.notify_all();
        for (mut w, c) in ws {
            assert_eq!(wakes(&c), 1);
            assert!(w.leave(&set));
        }
    }
}
