//! The hierarchical timer wheel of one worker: 4 levels x 256 slots at 1 ms resolution.
//!
//! Level `l` slot `s` holds timers whose deadline shares every bit above `8 * (l + 1)` with
//! the wheel's current time and has `s` in bits `8 * l .. 8 * (l + 1)`: level 0 covers the
//! next 256 ms one millisecond per slot, level 1 256 ms slots up to ~65 s, level 2 ~65 s
//! slots up to ~4.6 h, level 3 ~4.6 h slots up to ~49.7 days. Later deadlines wait in an
//! overflow list that is re-sorted each time the wheel crosses a 2^32 ms boundary: never
//! dropped, never fired early.
//!
//! Entries live in a slab and are linked into their slot's doubly linked list by index,
//! so insert and cancel are O(1) with no scan and no heap; each level keeps an occupancy
//! bitmap, so finding the next deadline is a few bit scans. When a slot comes due, its
//! timers either fire (deadline reached) or cascade to a lower level: amortised O(1) per
//! timer per level. Memory is O(timers): freed slab slots are reused.

use std::task::Waker;

const LEVELS: usize = 4;
const SLOTS: usize = 256;
const BITS: u32 = 8;
const NIL: u32 = u32::MAX;

/// A handle to an inserted timer; stale handles (of a removed timer) are recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    index: u32,
    gen: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    Free,
    Slot(u8, u8),
    Overflow,
    Fired,
}

struct Entry {
    deadline: u64,
    waker: Option<Waker>,
    prev: u32,
    next: u32,
    place: Place,
    gen: u32,
}

struct Level {
    heads: [u32; SLOTS],
    occupied: [u64; SLOTS / 64],
}

impl Level {
    fn new() -> Level {
        Level {
            heads: [NIL; SLOTS],
            occupied: [0; SLOTS / 64],
        }
    }

    /// The first occupied slot at or after `from`.
    fn next_occupied(&self, from: usize) -> Option<usize> {
        let mut word = from / 64;
        let mut bits = self.occupied[word] & (!0u64 << (from % 64));
        loop {
            if bits != 0 {
                return Some(word * 64 + bits.trailing_zeros() as usize);
            }
            word += 1;
            if word == self.occupied.len() {
                return None;
            }
            bits = self.occupied[word];
        }
    }
}

/// The wheel. Owner-thread only.
pub(crate) struct Wheel {
    entries: Vec<Entry>,
    free: Vec<u32>,
    levels: Box<[Level; LEVELS]>,
    overflow: u32,
    elapsed: u64,
    pending: usize,
}

impl Wheel {
    pub(crate) fn new() -> Wheel {
        Wheel {
            entries: Vec::new(),
            free: Vec::new(),
            levels: Box::new([Level::new(), Level::new(), Level::new(), Level::new()]),
            overflow: NIL,
            elapsed: 0,
            pending: 0,
        }
    }

    /// Timers inserted and neither fired nor removed.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn pending(&self) -> usize {
        self.pending
    }

    /// Slab entries in use (pending or fired but not yet removed).
    pub(crate) fn allocated(&self) -> usize {
        self.entries.len() - self.free.len()
    }

    /// The wheel's current time, in ticks.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Adds a timer for tick `deadline`. A deadline not after the wheel's time is fired at
    /// once (`is_fired` says so).
    pub(crate) fn insert(&mut self, deadline: u64, waker: Waker) -> Key {
        let entry = Entry {
            deadline,
            waker: Some(waker),
            prev: NIL,
            next: NIL,
            place: Place::Fired,
            gen: 0,
        };
        let index = match self.free.pop() {
            Some(i) => {
                let gen = self.entries[i as usize].gen.wrapping_add(1);
                self.entries[i as usize] = Entry { gen, ..entry };
                i
            }
            None => {
                let i =
                    u32::try_from(self.entries.len()).expect("fewer than 2^32 timers per worker");
                self.entries.push(entry);
                i
            }
        };
        if deadline > self.elapsed {
            self.link(index);
            self.pending += 1;
        }
        Key {
            index,
            gen: self.entries[index as usize].gen,
        }
    }

    fn entry(&self, key: Key) -> Option<&Entry> {
        self.entries
            .get(key.index as usize)
            .filter(|e| e.gen == key.gen && e.place != Place::Free)
    }

    /// Whether the timer fired (or the key is stale).
    pub(crate) fn is_fired(&self, key: Key) -> bool {
        self.entry(key).is_none_or(|e| e.place == Place::Fired)
    }

    /// Replaces the waker of a pending timer.
    pub(crate) fn set_waker(&mut self, key: Key, waker: &Waker) {
        if let Some(e) = self.entries.get_mut(key.index as usize) {
            if e.gen == key.gen
                && e.place != Place::Free
                && !e.waker.as_ref().is_some_and(|w| w.will_wake(waker))
            {
                e.waker = Some(waker.clone());
            }
        }
    }

    /// Cancels (if pending) and frees a timer. Stale keys are ignored.
    pub(crate) fn remove(&mut self, key: Key) {
        let Some(e) = self.entry(key) else { return };
        if matches!(e.place, Place::Slot(..) | Place::Overflow) {
            self.unlink(key.index);
            self.pending -= 1;
        }
        let e = &mut self.entries[key.index as usize];
        e.place = Place::Free;
        e.waker = None;
        self.free.push(key.index);
    }

    fn level_for(&self, deadline: u64) -> Option<(usize, usize)> {
        let masked = (self.elapsed ^ deadline) | (SLOTS as u64 - 1);
        let significant = 63 - masked.leading_zeros();
        let level = (significant / BITS) as usize;
        (level < LEVELS).then(|| {
            (
                level,
                ((deadline >> (level as u32 * BITS)) as usize) & (SLOTS - 1),
            )
        })
    }

    fn link(&mut self, index: u32) {
        let deadline = self.entries[index as usize].deadline;
        let (head, place) = match self.level_for(deadline) {
            Some((l, s)) => {
                let lvl = &mut self.levels[l];
                lvl.occupied[s / 64] |= 1 << (s % 64);
                (&mut lvl.heads[s], Place::Slot(l as u8, s as u8))
            }
            None => (&mut self.overflow, Place::Overflow),
        };
        let old = std::mem::replace(head, index);
        if old != NIL {
            self.entries[old as usize].prev = index;
        }
        let e = &mut self.entries[index as usize];
        e.next = old;
        e.prev = NIL;
        e.place = place;
    }

    fn unlink(&mut self, index: u32) {
        let (prev, next, place) = {
            let e = &self.entries[index as usize];
            (e.prev, e.next, e.place)
        };
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
        if prev != NIL {
            self.entries[prev as usize].next = next;
        } else {
            match place {
                Place::Slot(l, s) => {
                    let lvl = &mut self.levels[l as usize];
                    lvl.heads[s as usize] = next;
                    if next == NIL {
                        lvl.occupied[s as usize / 64] &= !(1 << (s as usize % 64));
                    }
                }
                Place::Overflow => self.overflow = next,
                Place::Free | Place::Fired => unreachable!("unlink of an unlinked timer"),
            }
        }
    }

    /// The tick at which the next slot comes due (a timer fires or cascades), if any.
    pub(crate) fn next_expiration(&self) -> Option<u64> {
        self.next_due().map(|(t, _)| t)
    }

    fn next_due(&self) -> Option<(u64, Option<(usize, usize)>)> {
        for l in 0..LEVELS {
            let shift = l as u32 * BITS;
            let pos = ((self.elapsed >> shift) as usize) & (SLOTS - 1);
            if let Some(s) = self.levels[l].next_occupied(pos) {
                let window = self.elapsed & !((1u64 << (shift + BITS)) - 1);
                return Some((window | ((s as u64) << shift), Some((l, s))));
            }
        }
        if self.overflow != NIL {
            let span = LEVELS as u32 * BITS;
            let next_window = ((self.elapsed >> span) + 1)
                .checked_shl(span)
                .unwrap_or(u64::MAX);
            return Some((next_window, None));
        }
        None
    }

    /// Advances the wheel to tick `now`, handing the waker of every timer that fires to
    /// `wake` (call the wakers after releasing any borrow of the wheel).
    pub(crate) fn advance(&mut self, now: u64, mut wake: impl FnMut(Waker)) {
        while let Some((t, slot)) = self.next_due() {
            if t > now {
                break;
            }
            self.elapsed = self.elapsed.max(t);
            let head = match slot {
                Some((l, s)) => {
                    let lvl = &mut self.levels[l];
                    lvl.occupied[s / 64] &= !(1 << (s % 64));
                    std::mem::replace(&mut lvl.heads[s], NIL)
                }
                None => std::mem::replace(&mut self.overflow, NIL),
            };
            let mut i = head;
            while i != NIL {
                let next = self.entries[i as usize].next;
                let e = &mut self.entries[i as usize];
                if e.deadline <= self.elapsed {
                    e.place = Place::Fired;
                    self.pending -= 1;
                    if let Some(w) = e.waker.take() {
                        wake(w);
                    }
                } else {
                    self.link(i);
                }
                i = next;
            }
        }
        self.elapsed = self.elapsed.max(now);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};
    use std::task::Wake;

    /// A waker that records its timer's id when woken.
    struct Rec(u64, Arc<Mutex<Vec<u64>>>);
    impl Wake for Rec {
        fn wake(self: Arc<Self>) {
            self.1.lock().unwrap().push(self.0);
        }
    }

    fn waker(id: u64, log: &Arc<Mutex<Vec<u64>>>) -> Waker {
        Waker::from(Arc::new(Rec(id, log.clone())))
    }

    fn xorshift(s: &mut u64) -> u64 {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        *s
    }

    #[test]
    fn fires_at_the_deadline_never_before() {
        let log = Arc::default();
        let mut w = Wheel::new();
        for d in [
            1u64,
            255,
            256,
            257,
            65_535,
            65_536,
            70_000,
            1 << 24,
            (1 << 32) + 5,
        ] {
            w.insert(d, waker(d, &log));
        }
        let mut last = 0;
        while let Some(t) = w.next_expiration() {
            assert!(t >= last, "expirations go forward");
            w.advance(t, |wk| wk.wake());
            let fired = std::mem::take(&mut *log.lock().unwrap());
            for id in fired {
                assert_eq!(id, w.elapsed(), "timer {id} fired at {}", w.elapsed());
            }
            last = t;
        }
        assert_eq!(w.pending(), 0);
    }

    #[test]
    fn past_deadlines_fire_at_once_and_cancel_is_exact() {
        let log = Arc::default();
        let mut w = Wheel::new();
        w.advance(100, |_| ());
        let k = w.insert(50, waker(1, &log));
        assert!(w.is_fired(k));
        let k2 = w.insert(150, waker(2, &log));
        assert!(!w.is_fired(k2));
        w.remove(k2);
        w.remove(k2); // stale: ignored
        w.advance(1000, |wk| wk.wake());
        assert!(log.lock().unwrap().is_empty());
        w.remove(k);
        assert_eq!((w.pending(), w.allocated()), (0, 0));
    }

    #[test]
    fn far_deadlines_wait_in_overflow_and_cascade() {
        let log = Arc::default();
        let mut w = Wheel::new();
        let sixty_days = 60 * 24 * 3600 * 1000u64;
        let ten_years = 10 * 365 * 24 * 3600 * 1000u64;
        w.insert(sixty_days, waker(1, &log));
        w.insert(ten_years, waker(2, &log));
        w.insert(u64::MAX, waker(3, &log));
        w.advance(sixty_days - 1, |wk| wk.wake());
        assert!(log.lock().unwrap().is_empty(), "nothing fires early");
        w.advance(sixty_days, |wk| wk.wake());
        assert_eq!(*log.lock().unwrap(), [1]);
        w.advance(ten_years, |wk| wk.wake());
        assert_eq!(*log.lock().unwrap(), [1, 2]);
        assert_eq!(w.pending(), 1);
    }

    #[test]
    fn many_inserted_and_removed_leave_it_empty() {
        let log = Arc::default();
        let mut w = Wheel::new();
        let n = if cfg!(miri) { 500 } else { 100_000 };
        let mut s = 0x9E37_79B9_7F4A_7C15;
        let keys: Vec<Key> = (0..n)
            .map(|i| w.insert(1 + xorshift(&mut s) % 10_000_000, waker(i, &log)))
            .collect();
        assert_eq!(w.pending(), n as usize);
        for k in keys {
            w.remove(k);
        }
        assert_eq!((w.pending(), w.allocated()), (0, 0));
        assert_eq!(w.next_expiration(), None);
        assert!(w.levels.iter().all(|l| l.occupied.iter().all(|&b| b == 0)));
    }

    /// Random insert / cancel / advance against a naive model: the same timers fire at
    /// the same ticks.
    #[test]
    fn matches_a_naive_model() {
        let rounds = if cfg!(miri) { 3 } else { 200 };
        for seed in 1..=rounds as u64 {
            let mut s = seed.wrapping_mul(0x2545_F491_4F6C_DD1D);
            let log = Arc::new(Mutex::new(Vec::new()));
            let mut w = Wheel::new();
            let mut model: BTreeMap<u64, (u64, Key)> = BTreeMap::new(); // id -> deadline
            let mut now = 0u64;
            let ops = if cfg!(miri) { 60 } else { 400 };
            for id in 0..ops {
                match xorshift(&mut s) % 4 {
                    0 | 1 => {
                        let span = [300u64, 70_000, 20_000_000, 5_000_000_000]
                            [(xorshift(&mut s) % 4) as usize];
                        let d = now + xorshift(&mut s) % span;
                        let k = w.insert(d, waker(id, &log));
                        if d > now {
                            model.insert(id, (d, k));
                        } else {
                            assert!(w.is_fired(k));
                        }
                    }
                    2 => {
                        if let Some((&victim, &(_, k))) =
                            model.iter().nth((xorshift(&mut s) % 7) as usize)
                        {
                            w.remove(k);
                            model.remove(&victim);
                        }
                    }
                    _ => {
                        let step =
                            [1u64, 255, 4096, 1 << 20, 1 << 33][(xorshift(&mut s) % 5) as usize];
                        let to = now + xorshift(&mut s) % step;
                        // Advance in the steps a worker would take: to each next expiration.
                        while let Some(t) = w.next_expiration().filter(|&t| t <= to) {
                            w.advance(t, |wk| wk.wake());
                            let mut fired = std::mem::take(&mut *log.lock().unwrap());
                            fired.sort_unstable();
                            let mut due: Vec<u64> = model
                                .iter()
                                .filter(|(_, (d, _))| *d <= t)
                                .map(|(i, _)| *i)
                                .collect();
                            due.sort_unstable();
                            assert_eq!(fired, due, "seed {seed} at tick {t}");
                            for i in due {
                                let (_, k) = model.remove(&i).unwrap();
                                assert!(w.is_fired(k));
                                w.remove(k);
                            }
                        }
                        w.advance(to, |wk| wk.wake());
                        assert!(
                            log.lock().unwrap().is_empty(),
                            "seed {seed}: fired between expirations"
                        );
                        now = to;
                    }
                }
                assert_eq!(w.pending(), model.len(), "seed {seed}");
            }
        }
    }
}
