//! The lock-free multi-producer inbox of a worker: other threads push spawned and woken
//! tasks; the owner takes them all at once.
//!
//! An intrusive Treiber stack through each task header's `queue_next` link: a push is one
//! CAS on the head (lock-free), the owner takes the whole stack with one swap and reverses
//! it, so tasks come out in push order. A task is in at most one queue at a time (its
//! `SCHEDULED` bit), so one link per header suffices. Closing swaps in a sentinel: later
//! pushes fail and hand the task back.
//!
//! # Safety
//!
//! A header pointer in the stack carries the reference of the `Notified` that was pushed;
//! it is turned back into a `Notified` exactly once, by the owner taking the stack. A
//! header's `queue_next` is written only by the pusher before the publishing CAS (Release)
//! and read only by the taker after the swap (Acquire).
#![allow(unsafe_code)]

use std::ptr::{self, NonNull};

use crate::loom::sync::atomic::{AtomicPtr, Ordering};
use crate::task::raw::Header;
use crate::task::Notified;

fn closed() -> *mut Header {
    // A dangling, aligned address no allocation can have.
    NonNull::<Header>::dangling().as_ptr()
}

/// The inbox. Producers: any thread (`push`). Consumer: the owner (`take_all`, `close`).
pub(crate) struct Inbox {
    head: AtomicPtr<Header>,
}

impl Inbox {
    pub(crate) fn new() -> Inbox {
        Inbox {
            head: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Pushes `task`. Returns it back if the inbox is closed.
    pub(crate) fn push(&self, task: Notified) -> Result<(), Notified> {
        let node = task.into_raw();
        // SAFETY: the node's reference (moved in above) keeps it alive.
        let link = unsafe { &node.as_ref().queue_next };
        // Relaxed: the CAS below re-reads the head if it changed.
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            if head == closed() {
                // SAFETY: the reference moved out of `task` above, handed back.
                return Err(unsafe { Notified::from_raw(node) });
            }
            // Relaxed: published by the Release CAS that makes the node reachable.
            link.store(head, Ordering::Relaxed);
            // Release: the link and everything the pusher did to the task happen before
            // the owner's Acquire swap that takes the node.
            match self.head.compare_exchange_weak(
                head,
                node.as_ptr(),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => {
                    head = actual;
                    crate::loom::spin_hint();
                }
            }
        }
    }

    /// Owner: takes every queued task, oldest first.
    pub(crate) fn take_all(&self) -> Batch {
        // Relaxed pre-check avoids a write to a shared line when there is nothing.
        let head = self.head.load(Ordering::Relaxed);
        if head.is_null() || head == closed() {
            return Batch::default();
        }
        // Acquire: pairs with the pushers' Release CAS.
        Batch::reversed(self.head.swap(ptr::null_mut(), Ordering::Acquire))
    }

    /// Owner: closes the inbox and returns what was in it. Later pushes fail.
    pub(crate) fn close(&self) -> Batch {
        // Acquire: as take_all.
        let head = self.head.swap(closed(), Ordering::Acquire);
        if head == closed() {
            return Batch::default();
        }
        Batch::reversed(head)
    }

    /// Whether nothing is queued (a hint: pushes may land right after).
    pub(crate) fn is_empty(&self) -> bool {
        let h = self.head.load(Ordering::Acquire);
        h.is_null() || h == closed()
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        drop(self.close());
    }
}

/// Tasks taken from an inbox, in push order.
#[derive(Default)]
pub(crate) struct Batch {
    next: Option<NonNull<Header>>,
}

// SAFETY: a Batch owns the Notified references of its nodes, which are Send.
unsafe impl Send for Batch {}

impl Batch {
    fn reversed(mut head: *mut Header) -> Batch {
        let mut out: *mut Header = ptr::null_mut();
        while let Some(node) = NonNull::new(head) {
            // SAFETY: taken nodes are exclusively ours (module docs); their references keep
            // them alive, and the links were published before the Acquire swap.
            let link = unsafe { &node.as_ref().queue_next };
            head = link.load(Ordering::Relaxed);
            link.store(out, Ordering::Relaxed);
            out = node.as_ptr();
        }
        Batch {
            next: NonNull::new(out),
        }
    }
}

impl Iterator for Batch {
    type Item = Notified;

    fn next(&mut self) -> Option<Notified> {
        let node = self.next?;
        // SAFETY: as in `reversed`: the node is ours and alive.
        let link = unsafe { &node.as_ref().queue_next };
        self.next = NonNull::new(link.load(Ordering::Relaxed));
        // SAFETY: the node's reference, pushed in as a Notified, comes out once.
        Some(unsafe { Notified::from_raw(node) })
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        for task in self.by_ref() {
            drop(task);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::task::{allocate, JoinHandle, Schedule};

    struct Nowhere;
    impl Schedule for Nowhere {
        fn schedule(&self, task: Notified) {
            drop(task);
        }
    }

    fn task(n: u32) -> (Notified, JoinHandle<u32>) {
        allocate(async move { n }, Arc::new(Nowhere), u64::from(n))
    }

    #[test]
    fn fifo_per_batch_and_close_hands_back() {
        let inbox = Inbox::new();
        let mut handles = Vec::new();
        for i in 0..5 {
            let (t, h) = task(i);
            inbox.push(t).ok().unwrap();
            handles.push(h);
        }
        let ids: Vec<u64> = inbox.take_all().map(|t| t.header().id).collect();
        assert_eq!(ids, [0, 1, 2, 3, 4]);
        assert!(inbox.is_empty());
        let (t, _h) = task(9);
        inbox.push(t).ok().unwrap();
        assert_eq!(inbox.close().count(), 1);
        let (t, _h2) = task(10);
        assert!(inbox.push(t).is_err(), "closed");
        assert!(inbox.is_empty());
    }

    #[test]
    fn concurrent_pushes_lose_nothing() {
        let inbox = Arc::new(Inbox::new());
        let per = if cfg!(miri) { 20 } else { 2000 };
        let handles = Arc::new(Mutex::new(Vec::new()));
        let threads: Vec<_> = (0..3u32)
            .map(|k| {
                let (inbox, handles) = (inbox.clone(), handles.clone());
                std::thread::spawn(move || {
                    for i in 0..per {
                        let (t, h) = task(k * 100_000 + i);
                        inbox.push(t).ok().unwrap();
                        handles.lock().unwrap().push(h);
                    }
                })
            })
            .collect();
        let mut seen = Vec::new();
        while seen.len() < 3 * per as usize {
            seen.extend(inbox.take_all().map(|t| t.header().id));
        }
        for t in threads {
            t.join().unwrap();
        }
        for k in 0..3u64 {
            let mine: Vec<u64> = seen
                .iter()
                .copied()
                .filter(|id| id / 100_000 == k)
                .collect();
            assert_eq!(
                mine,
                (0..u64::from(per))
                    .map(|i| k * 100_000 + i)
                    .collect::<Vec<_>>(),
                "per-producer order"
            );
        }
    }
}
