//! The per-worker run queue: touched only by its owner thread, so no atomics. A ring of
//! `capacity` slots (the builder's `queue_size`) with an overflow list behind it: nothing is
//! ever refused or lost, and the overflow count tells how often the ring was too small.

use std::collections::VecDeque;

use crate::task::Notified;

pub(crate) struct LocalQueue {
    ring: VecDeque<Notified>,
    capacity: usize,
    overflow: VecDeque<Notified>,
    overflowed: u64,
}

impl LocalQueue {
    pub(crate) fn new(capacity: usize) -> LocalQueue {
        // Small under loom so that overflow is explored.
        let capacity = if cfg!(loom) {
            capacity.min(4)
        } else {
            capacity
        }
        .max(1);
        LocalQueue {
            ring: VecDeque::with_capacity(capacity),
            capacity,
            overflow: VecDeque::new(),
            overflowed: 0,
        }
    }

    pub(crate) fn push(&mut self, task: Notified) {
        if self.ring.len() < self.capacity && self.overflow.is_empty() {
            self.ring.push_back(task);
        } else {
            self.overflowed += 1;
            self.overflow.push_back(task);
        }
    }

    pub(crate) fn pop(&mut self) -> Option<Notified> {
        if self.ring.is_empty() {
            let n = self.capacity.min(self.overflow.len());
            self.ring.extend(self.overflow.drain(..n));
        }
        self.ring.pop_front()
    }

    pub(crate) fn len(&self) -> usize {
        self.ring.len() + self.overflow.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Tasks that did not fit the ring, since the start.
    pub(crate) fn overflowed(&self) -> u64 {
        self.overflowed
    }
}
