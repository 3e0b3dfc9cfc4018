//! The unbounded queue: a linked list of blocks of `BLOCK_CAP` slots. The producer side is
//! that of crossbeam-channel's `list` flavour and concurrent-queue's `Unbounded` (Vyukov's
//! array queue extended to a growing chain of arrays); the consumer side is one consumer
//! at a time, by an atomic claim, as tokio's `mpsc` list has a single receiver.
//!
//! The tail is an index plus a block pointer. An index counts slots in steps of
//! `1 << SHIFT`; offset `(index >> SHIFT) % LAP` runs over the `BLOCK_CAP` slots of a block
//! and then one extra value, `BLOCK_CAP`, meaning "at the end of the block, the next block
//! is being installed": a push seeing it waits for the installer (the push that took the
//! block's last slot, which allocated the next block before its CAS to keep that wait
//! short). Bit 0 of the tail index (`MARK_BIT`) means closed. The first block is allocated
//! with the queue. A slot's `WRITE` bit says its value is written.
//!
//! Pops take the consumer claim (one atomic word) for their duration. The claimant alone
//! moves the head, so it can look at the head slot before taking it: a push that claimed
//! the slot but has not written it yet makes the pop return `Empty` instead of waiting for
//! it (the push wakes the channel's receiver when done), and a block is freed by the
//! consumer as soon as it has read the block's last slot. A pop that finds the claim taken
//! (a second task in `recv` at that instant) returns `Empty` and marks the claim
//! contended; the claimant then reports it, so that the channel wakes a receiver.
//!
//! # Safety
//!
//! A slot's value is written only by the push whose CAS on the tail claimed its index, and
//! read only by the consumer after it saw `WRITE` (Acquire, pairing with the writer's
//! Release `fetch_or`, the writer's last access to the block). The head and the head block
//! are touched only under the consumer claim (Acquire to take, Release to give back). A
//! block is freed by the consumer once it has read the block's last slot: every push into
//! the block has then set its `WRITE`, and the installer linked `next` before that, so no
//! push touches the block again (a push whose CAS failed never dereferences its block).
//! `Drop` has `&mut self`, so no pop or push runs.
#![allow(unsafe_code)]

use std::mem::MaybeUninit;
use std::ptr;

use super::queue::{PopError, PushError};
use super::Padded;
use crate::loom::cell::UnsafeCell;
use crate::loom::spin_hint;
use crate::loom::sync::atomic::{fence, AtomicPtr, AtomicUsize, Ordering};

const WRITE: usize = 1;

/// The consumer claim: held by a pop in progress; `CONTENDED`: another pop was turned away.
const HELD: usize = 1;
const CONTENDED: usize = 2;

/// Indices per block: its slots plus the "installing the next block" position. Small under
/// loom and miri so that models and tests cross block boundaries.
const LAP: usize = if cfg!(any(loom, miri)) { 3 } else { 32 };
const BLOCK_CAP: usize = LAP - 1;
const SHIFT: usize = 1;
const MARK_BIT: usize = 1;
const STEP: usize = 1 << SHIFT;

struct Slot<T> {
    value: UnsafeCell<MaybeUninit<T>>,
    state: AtomicUsize,
}

struct Block<T> {
    next: AtomicPtr<Block<T>>,
    slots: [Slot<T>; BLOCK_CAP],
}

impl<T> Block<T> {
    fn new() -> Box<Block<T>> {
        Box::new(Block {
            next: AtomicPtr::new(ptr::null_mut()),
            slots: std::array::from_fn(|_| Slot {
                value: UnsafeCell::new(MaybeUninit::uninit()),
                state: AtomicUsize::new(0),
            }),
        })
    }
}

struct Position<T> {
    index: AtomicUsize,
    block: AtomicPtr<Block<T>>,
}

impl<T> Position<T> {
    fn new(block: *mut Block<T>) -> Padded<Position<T>> {
        Padded(Position {
            index: AtomicUsize::new(0),
            block: AtomicPtr::new(block),
        })
    }

    /// Acquire: pairs with the Release stores of the thread that moved this position.
    fn load(&self) -> (usize, *mut Block<T>) {
        (
            self.index.load(Ordering::Acquire),
            self.block.load(Ordering::Acquire),
        )
    }
}

/// An unbounded multi-producer queue that can be closed, popped by one consumer at a
/// time (others are turned away with `Empty`, see the module docs).
pub(crate) struct ListQueue<T> {
    head: Padded<Position<T>>,
    /// The consumer claim (`HELD`, `CONTENDED`).
    claim: AtomicUsize,
    tail: Padded<Position<T>>,
}

// SAFETY: values move in and out through `&self` from any thread (T: Send); slots and
// blocks change hands under the protocol of the module docs.
unsafe impl<T: Send> Send for ListQueue<T> {}
// SAFETY: as for Send.
unsafe impl<T: Send> Sync for ListQueue<T> {}

impl<T> ListQueue<T> {
    /// An empty queue with its first block (allocated now: no push has to install it).
    pub(crate) fn new() -> ListQueue<T> {
        let first = Box::into_raw(Block::new());
        ListQueue {
            head: Position::new(first),
            claim: AtomicUsize::new(0),
            tail: Position::new(first),
        }
    }

    /// Pushes `value`, or hands it back if the queue is closed.
    pub(crate) fn push(&self, value: T) -> Result<(), PushError<T>> {
        let (mut tail, mut block) = self.tail.load();
        let mut next_block: Option<Box<Block<T>>> = None;
        loop {
            if tail & MARK_BIT != 0 {
                return Err(PushError::Closed(value));
            }
            let offset = (tail >> SHIFT) % LAP;
            if offset == BLOCK_CAP {
                // The next block is being installed.
                spin_hint();
                (tail, block) = self.tail.load();
                continue;
            }
            if offset + 1 == BLOCK_CAP && next_block.is_none() {
                next_block = Some(Block::new());
            }
            // SeqCst: one order with close's fetch_or and the pops' empty checks.
            match self.tail.index.compare_exchange_weak(
                tail,
                tail + STEP,
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    // SAFETY: the CAS gave us index `tail` in `block`, which the tail still
                    // points into, so it is alive (module docs).
                    unsafe { self.write(block, offset, next_block, value) };
                    return Ok(());
                }
                Err(t) => {
                    tail = t;
                    block = self.tail.block.load(Ordering::Acquire);
                }
            }
        }
    }

    /// Writes `value` at `offset` of `block`; installs `next` first if it is the last slot.
    ///
    /// # Safety
    ///
    /// The caller's CAS claimed this index, and `block` is the tail block holding it.
    unsafe fn write(
        &self,
        block: *mut Block<T>,
        offset: usize,
        next: Option<Box<Block<T>>>,
        value: T,
    ) {
        if offset + 1 == BLOCK_CAP {
            let next = Box::into_raw(next.expect("allocated before the CAS"));
            // Release (all three): the new block is initialised before anyone reaches it.
            self.tail.block.store(next, Ordering::Release);
            self.tail.index.fetch_add(STEP, Ordering::Release);
            // SAFETY: the block is alive: the head cannot pass the slot we have not written.
            unsafe { (*block).next.store(next, Ordering::Release) };
        }
        // SAFETY: as above; the slot is ours to write (module docs).
        let slot = unsafe { &(*block).slots[offset] };
        // SAFETY: the claimed slot is written by us alone, before WRITE is set.
        slot.value.with_mut(|v| unsafe { (*v).write(value) });
        // Release: publishes the value to the pop that Acquire-loads WRITE.
        slot.state.fetch_or(WRITE, Ordering::Release);
    }

    /// Pops the oldest value; `Closed` only once the queue is closed and empty. The flag
    /// is `true` if another pop was turned away (with `Empty`) while this one held the
    /// consumer claim: the caller must then wake a waiting receiver.
    pub(crate) fn pop(&self) -> (Result<T, PopError>, bool) {
        // Acquire: the previous claimant's moves of the head happen before ours.
        let prev = self.claim.fetch_or(HELD, Ordering::Acquire);
        if prev & HELD != 0 {
            // Release: what we did before (a receiver registering its waker) happens
            // before the claimant's release reads this. If that release came first, our
            // next try gets the claim instead.
            self.claim.fetch_or(CONTENDED, Ordering::Release);
            return (Err(PopError::Empty), false);
        }
        // SAFETY: we hold the consumer claim.
        let result = unsafe { self.pop_claimed() };
        // AcqRel: our moves of the head happen before the next claimant's; reads whether a
        // pop was turned away meanwhile.
        let released = self.claim.swap(0, Ordering::AcqRel);
        (result, released & CONTENDED != 0)
    }

    /// The consumer's pop.
    ///
    /// # Safety
    ///
    /// The caller holds the consumer claim.
    unsafe fn pop_claimed(&self) -> Result<T, PopError> {
        // Relaxed: written only under the claim, whose Acquire orders the last write.
        let head = self.head.index.load(Ordering::Relaxed);
        let block = self.head.block.load(Ordering::Relaxed);
        let offset = (head >> SHIFT) % LAP;
        // SAFETY: the head block is alive: only the claimant frees blocks, after the head
        // has left them.
        let slot = unsafe { &(*block).slots[offset] };
        // Acquire: pairs with the writer's Release fetch_or of WRITE.
        if slot.state.load(Ordering::Acquire) & WRITE == 0 {
            // Not written (yet): closed and empty only if no push claimed the slot.
            // SeqCst fence, then Relaxed: as the bounded queue's empty check.
            fence(Ordering::SeqCst);
            let tail = self.tail.index.load(Ordering::Relaxed);
            return Err(if tail == head | MARK_BIT {
                PopError::Closed
            } else {
                PopError::Empty
            });
        }
        // SAFETY: written (WRITE seen), and taken by the claimant alone: moved out once.
        let value = slot.value.with(|v| unsafe { (*v).assume_init_read() });
        if offset + 1 == BLOCK_CAP {
            // The block's last slot: its push linked `next` before setting WRITE.
            // SAFETY: as above.
            let next = unsafe { (*block).next.load(Ordering::Acquire) };
            self.head.block.store(next, Ordering::Relaxed);
            // Release: `len` reads the head; skip the block-end index.
            self.head.index.store(head + 2 * STEP, Ordering::Release);
            // SAFETY: every push into the block is done with it (module docs).
            drop(unsafe { Box::from_raw(block) });
        } else {
            // Release: as above.
            self.head.index.store(head + STEP, Ordering::Release);
        }
        Ok(value)
    }

    /// Closes the queue; `true` if this call did. Values already in it stay poppable.
    pub(crate) fn close(&self) -> bool {
        // SeqCst: one total order with the pushers' CAS on the tail.
        self.tail.index.fetch_or(MARK_BIT, Ordering::SeqCst) & MARK_BIT == 0
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.tail.index.load(Ordering::SeqCst) & MARK_BIT != 0
    }

    /// The number of values in the queue (a snapshot).
    pub(crate) fn len(&self) -> usize {
        loop {
            let mut tail = self.tail.index.load(Ordering::SeqCst);
            let mut head = self.head.index.load(Ordering::SeqCst);
            if self.tail.index.load(Ordering::SeqCst) != tail {
                spin_hint();
                continue;
            }
            tail = (tail & !MARK_BIT) >> SHIFT;
            head = (head & !MARK_BIT) >> SHIFT;
            // An index at a block's end stands for the first slot of the next block.
            if tail % LAP == LAP - 1 {
                tail = tail.wrapping_add(1);
            }
            if head % LAP == LAP - 1 {
                head = head.wrapping_add(1);
            }
            // Rotate so that the head falls in block 0, then subtract one index per block
            // end passed.
            let base = head / LAP * LAP;
            let (tail, head) = (tail.wrapping_sub(base), head.wrapping_sub(base));
            return tail - head - tail / LAP;
        }
    }

    /// Drops the next value still in the queue, freeing blocks as it passes them; `false`
    /// once none is left (the last block freed). Exclusive access: only `Drop` calls it.
    fn drop_next(&mut self) -> bool {
        // Relaxed: `&mut self` orders everything.
        let tail = self.tail.index.load(Ordering::Relaxed) & !MARK_BIT;
        loop {
            let head = self.head.index.load(Ordering::Relaxed) & !MARK_BIT;
            let block = self.head.block.load(Ordering::Relaxed);
            if head == tail {
                if !block.is_null() {
                    self.head.block.store(ptr::null_mut(), Ordering::Relaxed);
                    // SAFETY: the last block, owned by the queue alone (`&mut self`).
                    drop(unsafe { Box::from_raw(block) });
                }
                return false;
            }
            let offset = (head >> SHIFT) % LAP;
            self.head.index.store(head + STEP, Ordering::Relaxed);
            if offset < BLOCK_CAP {
                // SAFETY: indices from head to tail hold written, unread values; the head
                // moved first, so a panicking drop does not come back to this value.
                let slot = unsafe { &(*block).slots[offset] };
                // SAFETY: as above.
                slot.value.with_mut(|v| unsafe { (*v).assume_init_drop() });
                return true;
            }
            // SAFETY: at a block end the block is fully consumed and `next` is set.
            let next = unsafe { (*block).next.load(Ordering::Relaxed) };
            self.head.block.store(next, Ordering::Relaxed);
            // SAFETY: as above; nothing else refers to it.
            drop(unsafe { Box::from_raw(block) });
        }
    }
}

impl<T> Drop for ListQueue<T> {
    fn drop(&mut self) {
        super::queue::drop_all(self, Self::drop_next);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::channel::queue::tests::{check_mpmc, check_panicking_drop, Counted};

    fn pop<T>(q: &ListQueue<T>) -> Result<T, PopError> {
        q.pop().0
    }

    #[test]
    fn fifo_across_blocks_and_close() {
        let q = ListQueue::new();
        let n = 5 * LAP;
        for i in 0..n {
            q.push(i).unwrap();
            assert_eq!(q.len(), i + 1);
        }
        assert!(q.close());
        assert!(q.is_closed());
        assert!(matches!(q.push(0), Err(PushError::Closed(0))));
        for i in 0..n {
            assert_eq!(pop(&q), Ok(i));
            assert_eq!(q.len(), n - i - 1);
        }
        assert_eq!(pop(&q), Err(PopError::Closed));
    }

    #[test]
    fn empty_then_refilled() {
        let q = ListQueue::new();
        assert_eq!(pop(&q), Err(PopError::Empty));
        for round in 0..3 * LAP {
            q.push(round).unwrap();
            q.push(round + 100).unwrap();
            assert_eq!((pop(&q), pop(&q)), (Ok(round), Ok(round + 100)));
            assert_eq!(pop(&q), Err(PopError::Empty));
            assert_eq!(q.len(), 0);
        }
    }

    #[test]
    fn a_pop_turned_away_is_reported_by_the_claimant() {
        let q = ListQueue::new();
        q.push(1).unwrap();
        // Another pop holds the claim: this one is turned away, whatever is queued.
        q.claim.fetch_or(HELD, Ordering::Acquire);
        assert_eq!(q.pop(), (Err(PopError::Empty), false));
        assert_ne!(
            q.claim.swap(0, Ordering::AcqRel) & CONTENDED,
            0,
            "marked contended"
        );
        assert_eq!(q.pop(), (Ok(1), false));
    }

    #[test]
    fn drop_drops_what_is_left_once() {
        let c = Counted::counter();
        let q = ListQueue::new();
        for _ in 0..3 * LAP {
            q.push(Counted::new(&c)).unwrap();
        }
        for _ in 0..LAP + 1 {
            drop(pop(&q).unwrap());
        }
        drop(q);
        assert_eq!(c.load(std::sync::atomic::Ordering::SeqCst), 3 * LAP);
    }

    #[test]
    fn drop_goes_on_after_a_panicking_value() {
        check_panicking_drop(ListQueue::new, |q, v| q.push(v).map_err(|_| ()).unwrap());
    }

    #[test]
    fn concurrent_producers_and_consumers() {
        check_mpmc(ListQueue::new, |q, v| q.push(v), pop);
    }
}
