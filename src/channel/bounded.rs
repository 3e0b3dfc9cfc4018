//! The bounded queue: a fixed array of slots, each with a sequence number ("stamp"), after
//! Dmitry Vyukov's bounded MPMC queue (<https://www.1024cores.net/home/lock-free-algorithms/queues/bounded-mpmc-queue>)
//! as crossbeam's `ArrayQueue` and concurrent-queue's `Bounded` lay it out, with the closed
//! flag kept in the tail so that a push and a close are ordered by one atomic word.
//!
//! An index packs a lap and a position: `lap * one_lap + position`, `position < cap`,
//! `one_lap` the power of two above `cap`. `mark_bit` (= `one_lap / 2`, above every
//! position) set in the tail means closed. A slot whose stamp equals an index is free for
//! the push at that index; a stamp of `index + 1` holds the value pushed at `index`, ready
//! for the pop at that index, which then advances the stamp by one lap.
//!
//! Both ends are claimed with a CAS, so several threads may push and several may pop: the
//! channel's `recv(&self)` may be called by two tasks at once. Neither end ever waits for
//! another thread: where crossbeam spins on a push or pop under way, this queue reports
//! `Empty` or `Full`, and the operation under way wakes the channel's waiter when it ends.
//!
//! # Safety
//!
//! A slot's value is written only by the push that won the CAS of the tail to that slot's
//! index, and read only by the pop that won the CAS of the head to it. The pusher publishes
//! the value with a Release store of the stamp; the popper's Acquire load of the stamp makes
//! the write visible before it reads, and its own Release store of the next stamp makes the
//! read happen before the next lap's write (Acquire-loaded by that pusher). So no value is
//! read and written at once, each written value is read (moved out) at most once, and
//! `Drop` (with `&mut self`) drops exactly those written but not read.
#![allow(unsafe_code)]

use std::mem::MaybeUninit;

use super::queue::{PopError, PushError};
use super::Padded;
use crate::loom::cell::UnsafeCell;
use crate::loom::spin_hint;
use crate::loom::sync::atomic::{fence, AtomicUsize, Ordering};

struct Slot<T> {
    stamp: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// A bounded multi-producer multi-consumer queue that can be closed.
pub(crate) struct ArrayQueue<T> {
    head: Padded<AtomicUsize>,
    tail: Padded<AtomicUsize>,
    buffer: Box<[Slot<T>]>,
    cap: usize,
    one_lap: usize,
    mark_bit: usize,
}

// SAFETY: values move in and out through `&self` from any thread (T: Send); the slots are
// handed from thread to thread by the stamp protocol (module docs), never shared.
unsafe impl<T: Send> Send for ArrayQueue<T> {}
// SAFETY: as for Send: `&ArrayQueue` only moves whole values in and out.
unsafe impl<T: Send> Sync for ArrayQueue<T> {}

impl<T> ArrayQueue<T> {
    /// A queue of `cap` slots.
    ///
    /// # Panics
    ///
    /// If `cap` is 0 or so large that the index arithmetic would overflow.
    pub(crate) fn new(cap: usize) -> ArrayQueue<T> {
        assert!(cap > 0, "ArrayQueue capacity must be at least 1");
        let mark_bit = cap
            .checked_add(1)
            .and_then(usize::checked_next_power_of_two)
            .filter(|m| m.checked_mul(2).is_some())
            .unwrap_or_else(|| panic!("bounded channel capacity {cap} is too large"));
        let buffer = (0..cap)
            .map(|i| Slot {
                stamp: AtomicUsize::new(i),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        ArrayQueue {
            head: Padded(AtomicUsize::new(0)),
            tail: Padded(AtomicUsize::new(0)),
            buffer,
            cap,
            one_lap: mark_bit * 2,
            mark_bit,
        }
    }

    /// The index after `index`: the next position, or position 0 of the next lap.
    fn next_index(&self, index: usize) -> usize {
        if (index & (self.mark_bit - 1)) + 1 < self.cap {
            index + 1
        } else {
            (index & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }

    fn slot(&self, index: usize) -> &Slot<T> {
        &self.buffer[index & (self.mark_bit - 1)]
    }

    /// Pushes `value`, or hands it back if the queue is full or closed.
    ///
    /// Never waits for another thread: a slot still held by last lap's value, or by the
    /// push or pop of last lap that is under way, means `Full`. (The pop under way wakes a
    /// waiting sender when it is done, so the channel loses nothing by it.)
    pub(crate) fn push(&self, value: T) -> Result<(), PushError<T>> {
        // Relaxed: only a guess; the CAS below and the stamp check validate it.
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            if tail & self.mark_bit != 0 {
                return Err(PushError::Closed(value));
            }
            let slot = self.slot(tail);
            // Acquire: pairs with the Release stamp store of the pop that freed the slot,
            // so its read of the old value happens before our write.
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == tail {
                // SeqCst: one total order with `close`'s fetch_or on the tail.
                match self.tail.compare_exchange_weak(
                    tail,
                    self.next_index(tail),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: winning the CAS at `tail` while the stamp said free gives
                        // this thread the slot until it publishes it below (module docs).
                        slot.value.with_mut(|v| unsafe { (*v).write(value) });
                        // Release: publishes the value to the pop that Acquire-loads it.
                        slot.stamp.store(tail + 1, Ordering::Release);
                        return Ok(());
                    }
                    Err(t) => tail = t,
                }
            } else if stamp.wrapping_add(self.one_lap) == tail + 1
                || stamp.wrapping_add(self.one_lap) == tail
            {
                // Last lap's value is still in the slot (or still being written).
                return Err(PushError::Full(value));
            } else {
                // The stamp is ahead: our tail is stale. Look again.
                spin_hint();
                tail = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Pops the oldest value; `Closed` only once the queue is closed and empty.
    ///
    /// Never waits for another thread: a push that has claimed the head slot but not yet
    /// written it means `Empty` (it wakes a waiting receiver when it is done).
    pub(crate) fn pop(&self) -> Result<T, PopError> {
        // Relaxed: only a guess, validated by the stamp and the CAS.
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            let slot = self.slot(head);
            // Acquire: pairs with the pusher's Release stamp store (the value is written).
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == head + 1 {
                // SeqCst: as the push's CAS.
                match self.head.compare_exchange_weak(
                    head,
                    self.next_index(head),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: winning the CAS at `head` while the stamp said written
                        // gives this thread the value, moved out once (module docs).
                        let value = slot.value.with(|v| unsafe { (*v).assume_init_read() });
                        // Release: our read happens before the next lap's write.
                        slot.stamp
                            .store(head.wrapping_add(self.one_lap), Ordering::Release);
                        return Ok(value);
                    }
                    Err(h) => head = h,
                }
            } else if stamp == head {
                // Nothing written at `head` yet: closed and empty only if no push claimed
                // it. SeqCst fence, then Relaxed: as crossbeam's empty check.
                fence(Ordering::SeqCst);
                let tail = self.tail.load(Ordering::Relaxed);
                return Err(if tail == head | self.mark_bit {
                    PopError::Closed
                } else {
                    PopError::Empty
                });
            } else {
                // The stamp is ahead: another pop took `head`. Look again.
                spin_hint();
                head = self.head.load(Ordering::Relaxed);
            }
        }
    }

    /// Closes the queue; `true` if this call did. Values already in it stay poppable.
    pub(crate) fn close(&self) -> bool {
        // SeqCst: a single total order with the pushers' CAS on the tail.
        self.tail.fetch_or(self.mark_bit, Ordering::SeqCst) & self.mark_bit == 0
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.tail.load(Ordering::SeqCst) & self.mark_bit != 0
    }

    pub(crate) fn capacity(&self) -> usize {
        self.cap
    }

    /// The number of values in the queue (a snapshot).
    pub(crate) fn len(&self) -> usize {
        loop {
            let tail = self.tail.load(Ordering::SeqCst);
            let head = self.head.load(Ordering::SeqCst);
            // A consistent pair: the tail did not move while the head was read.
            if self.tail.load(Ordering::SeqCst) == tail {
                let hix = head & (self.mark_bit - 1);
                let tix = tail & (self.mark_bit - 1);
                return if hix < tix {
                    tix - hix
                } else if hix > tix {
                    self.cap - hix + tix
                } else if tail & !self.mark_bit == head {
                    0
                } else {
                    self.cap
                };
            }
            spin_hint();
        }
    }

    /// Drops the values still in the queue: the next one at each call, `false` when none
    /// is left. Exclusive access: only `Drop` calls it.
    fn drop_next(&mut self) -> bool {
        // Relaxed: `&mut self` orders everything (plain accesses would do; loom's atomics
        // have no `get_mut`).
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Relaxed) & !self.mark_bit;
        if head == tail {
            return false;
        }
        self.head.store(self.next_index(head), Ordering::Relaxed);
        let slot = self.slot(head);
        // The head moved first, so a panic in this drop does not drop the value again.
        slot.value.with_mut(|v| {
            // SAFETY: `&mut self`: no other access; head..tail were written, not read.
            unsafe { (*v).assume_init_drop() }
        });
        true
    }
}

impl<T> Drop for ArrayQueue<T> {
    fn drop(&mut self) {
        super::queue::drop_all(self, Self::drop_next);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::channel::queue::tests::{check_mpmc, Counted};

    #[test]
    fn fifo_full_closed() {
        let q = ArrayQueue::new(3);
        for i in 0..3 {
            q.push(i).unwrap();
        }
        assert_eq!(q.len(), 3);
        assert!(matches!(q.push(9), Err(PushError::Full(9))));
        assert_eq!(q.pop(), Ok(0));
        q.push(3).unwrap();
        assert!(q.close());
        assert!(!q.close());
        assert!(matches!(q.push(4), Err(PushError::Closed(4))));
        assert_eq!((q.pop(), q.pop(), q.pop()), (Ok(1), Ok(2), Ok(3)));
        assert_eq!(q.pop(), Err(PopError::Closed));
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn wraps_around_many_laps() {
        for cap in [1, 2, 3, 4, 7] {
            let q = ArrayQueue::new(cap);
            for i in 0..50 {
                q.push(i).unwrap();
                if q.len() == cap {
                    assert!(matches!(q.push(0), Err(PushError::Full(_))));
                    assert_eq!(q.pop().unwrap(), i + 1 - cap);
                }
            }
            // The last cap - 1 values are left, in order.
            assert_eq!(q.len(), cap - 1);
            let left: Vec<usize> = std::iter::from_fn(|| q.pop().ok()).collect();
            assert_eq!(left, (51 - cap..50).collect::<Vec<_>>());
        }
    }

    #[test]
    fn zero_sized_values() {
        let q = ArrayQueue::new(2);
        q.push(()).unwrap();
        q.push(()).unwrap();
        assert!(q.push(()).is_err());
        assert_eq!(q.pop(), Ok(()));
        assert_eq!(q.len(), 1);
    }

    #[test]
    #[should_panic(expected = "too large")]
    fn absurd_capacity_panics() {
        let _ = ArrayQueue::<u8>::new(usize::MAX / 2);
    }

    #[test]
    fn drop_drops_what_is_left_once() {
        let c = Counted::counter();
        let q = ArrayQueue::new(4);
        for _ in 0..4 {
            q.push(Counted::new(&c)).unwrap();
        }
        drop(q.pop().unwrap());
        drop(q);
        assert_eq!(c.load(std::sync::atomic::Ordering::SeqCst), 4);
    }

    #[test]
    fn drop_goes_on_after_a_panicking_value() {
        crate::channel::queue::tests::check_panicking_drop(
            || ArrayQueue::new(4),
            |q, v| q.push(v).map_err(|_| ()).unwrap(),
        );
    }

    #[test]
    fn concurrent_producers_and_consumers() {
        for cap in [1, 2, 16] {
            check_mpmc(|| ArrayQueue::new(cap), |q, v| q.push(v), ArrayQueue::pop);
        }
    }
}
