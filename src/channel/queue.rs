//! The queue under a channel: the bounded array or the unbounded list, behind one type.
#![forbid(unsafe_code)]

use std::fmt;

use super::bounded::ArrayQueue;
use super::unbounded::ListQueue;

/// Why a push handed its value back.
pub(crate) enum PushError<T> {
    Full(T),
    Closed(T),
}

impl<T> fmt::Debug for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PushError::Full(_) => "Full(..)",
            PushError::Closed(_) => "Closed(..)",
        })
    }
}

/// Why a pop found nothing: `Closed` means closed and empty, for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PopError {
    Empty,
    Closed,
}

/// A closable multi-producer multi-consumer queue, bounded or not.
pub(crate) enum Queue<T> {
    Bounded(ArrayQueue<T>),
    Unbounded(ListQueue<T>),
}

impl<T> Queue<T> {
    pub(crate) fn push(&self, value: T) -> Result<(), PushError<T>> {
        match self {
            Queue::Bounded(q) => q.push(value),
            Queue::Unbounded(q) => q.push(value),
        }
    }

    /// Pops the oldest value. The flag is `true` if this pop turned another away (with
    /// `Empty`): the caller must then wake a waiting receiver (unbounded queue only).
    pub(crate) fn pop(&self) -> (Result<T, PopError>, bool) {
        match self {
            Queue::Bounded(q) => (q.pop(), false),
            Queue::Unbounded(q) => q.pop(),
        }
    }

    /// Closes the queue: later pushes fail, values in it can still be popped.
    pub(crate) fn close(&self) -> bool {
        match self {
            Queue::Bounded(q) => q.close(),
            Queue::Unbounded(q) => q.close(),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        match self {
            Queue::Bounded(q) => q.is_closed(),
            Queue::Unbounded(q) => q.is_closed(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Queue::Bounded(q) => q.len(),
            Queue::Unbounded(q) => q.len(),
        }
    }

    pub(crate) fn capacity(&self) -> Option<usize> {
        match self {
            Queue::Bounded(q) => Some(q.capacity()),
            Queue::Unbounded(_) => None,
        }
    }

    /// Whether a push can find the queue full (only then can senders wait).
    pub(crate) fn is_bounded(&self) -> bool {
        matches!(self, Queue::Bounded(_))
    }
}

/// Drops every value left in a dying queue with `next` (one value per call, `false` when
/// done), going on after a value's `Drop` panics: the rest are still dropped, each once,
/// and the panic then continues (a second panic aborts, as with `Vec`).
pub(super) fn drop_all<Q>(queue: &mut Q, next: fn(&mut Q) -> bool) {
    struct Rest<'a, Q> {
        queue: &'a mut Q,
        next: fn(&mut Q) -> bool,
    }
    impl<Q> Drop for Rest<'_, Q> {
        fn drop(&mut self) {
            while (self.next)(self.queue) {}
        }
    }
    // The loop below drops the values; if one of their drops panics, unwinding drops the
    // guard, whose own loop goes on from the next value (`next` moved past the panicking
    // one before dropping it). On the normal path the guard finds nothing left.
    let rest = Rest { queue, next };
    while (rest.next)(rest.queue) {}
    drop(rest);
}

#[cfg(all(test, not(loom)))]
pub(crate) mod tests {
    //! Helpers shared by the queue tests (run under miri too: counts shrink there).

    use std::collections::HashSet;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::{PopError, PushError};

    /// A value that counts its drops, and can panic in `Drop`.
    pub(crate) struct Counted {
        drops: Arc<AtomicUsize>,
        panics: bool,
    }

    impl Counted {
        pub(crate) fn counter() -> Arc<AtomicUsize> {
            Arc::new(AtomicUsize::new(0))
        }

        pub(crate) fn new(drops: &Arc<AtomicUsize>) -> Counted {
            Counted {
                drops: drops.clone(),
                panics: false,
            }
        }
    }

    impl Drop for Counted {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::SeqCst);
            if self.panics {
                panic!("Counted::drop panics on purpose");
            }
        }
    }

    /// Three values, the second panicking in `Drop`, left in a queue that is dropped: the
    /// panic comes out and all three are dropped once.
    pub(crate) fn check_panicking_drop<Q>(new: impl Fn() -> Q, push: impl Fn(&Q, Counted)) {
        let drops = Counted::counter();
        let q = new();
        push(&q, Counted::new(&drops));
        push(
            &q,
            Counted {
                drops: drops.clone(),
                panics: true,
            },
        );
        push(&q, Counted::new(&drops));
        let r = catch_unwind(AssertUnwindSafe(move || drop(q)));
        assert!(
            r.is_err(),
            "the value's panic comes out of the queue's drop"
        );
        assert_eq!(drops.load(Ordering::SeqCst), 3, "each value dropped once");
    }

    /// 2 producers and 2 consumers: every value arrives once, and each consumer sees each
    /// producer's values in order.
    pub(crate) fn check_mpmc<Q: Sync>(
        new: impl Fn() -> Q,
        push: fn(&Q, u64) -> Result<(), PushError<u64>>,
        pop: fn(&Q) -> Result<u64, PopError>,
    ) {
        const PRODUCERS: u64 = 2;
        let per: u64 = if cfg!(miri) { 40 } else { 5_000 };
        let q = new();
        let taken = AtomicUsize::new(0);
        let total = (PRODUCERS * per) as usize;
        let seen: Vec<Vec<u64>> = std::thread::scope(|s| {
            for p in 0..PRODUCERS {
                let q = &q;
                s.spawn(move || {
                    for i in 0..per {
                        let mut v = p << 32 | i;
                        while let Err(e) = push(q, v) {
                            match e {
                                PushError::Full(back) => v = back,
                                PushError::Closed(_) => panic!("closed early"),
                            }
                            std::thread::yield_now();
                        }
                    }
                });
            }
            let consumers: Vec<_> = (0..2)
                .map(|_| {
                    let (q, taken) = (&q, &taken);
                    s.spawn(move || {
                        let mut mine = Vec::new();
                        while taken.load(Ordering::SeqCst) < total {
                            match pop(q) {
                                Ok(v) => {
                                    taken.fetch_add(1, Ordering::SeqCst);
                                    mine.push(v);
                                }
                                Err(PopError::Empty) => std::thread::yield_now(),
                                Err(PopError::Closed) => panic!("closed early"),
                            }
                        }
                        mine
                    })
                })
                .collect();
            consumers.into_iter().map(|c| c.join().unwrap()).collect()
        });
        let mut all = HashSet::new();
        for mine in &seen {
            for p in 0..PRODUCERS {
                let from_p: Vec<u64> = mine.iter().copied().filter(|v| v >> 32 == p).collect();
                assert!(from_p.windows(2).all(|w| w[0] < w[1]), "per-producer order");
            }
            for v in mine {
                assert!(all.insert(*v), "duplicated {v:#x}");
            }
        }
        assert_eq!(all.len(), total, "lost values");
        assert_eq!(pop(&q), Err(PopError::Empty));
    }
}
