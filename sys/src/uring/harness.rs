//! Fuzz harnesses for the ring handling, run over [`SimRing`] (plain memory, no syscall).
//!
//! Each harness is a plain function of `&[u8]`, so the same code runs under cargo-fuzz
//! (`fuzz/fuzz_targets/`), as an ordinary test replaying `fuzz/corpus/<target>/` plus
//! pseudo-random inputs (`sys/tests/fuzz_corpus.rs`), and under miri. The input is decoded
//! by hand, a few bytes per step (no `arbitrary` dependency); an exhausted input ends the
//! sequence, after which a final check runs. Every invariant is an `assert!`: a violation
//! is a crash for the fuzzer and a failure for the test.
//!
//! - [`cq_reader`] (IO_URING.md F3, and CQE decoding from F4): an adversarial "kernel" posts
//!   completions with arbitrary `user_data`, `res` and flags (including `SKIP`, more than
//!   fit, so that the overflow backlog fills and is flushed), writes garbage into CQ slots
//!   without publishing it, moves the CQ tail anywhere (ahead, behind, past the capacity,
//!   random words, bit flips) and sets arbitrary SQ flags, interleaved with the consumer's
//!   `drain`, `pop` and `ready`. Rings of 1 to 128 CQEs of 16 or 32 bytes, indices starting
//!   anywhere, often just below `u32::MAX`. Checked every step: `ready` is exactly
//!   `tail - head` or, when that exceeds the capacity, a `RingCorrupt` naming both indices;
//!   a pass reads at most `capacity` entries; the head the kernel sees advances by exactly
//!   the number of slots consumed (and not at all on an error); skipped entries are counted;
//!   `CQ_OVERFLOW` is set exactly while the backlog is non-empty. While the kernel is honest
//!   (garbage only in free slots counts as honest), a `VecDeque` model of everything posted
//!   must be read exactly once, in order, minus the `SKIP` fillers, through any number of
//!   backlog flushes; after tampering only "error or consistent" is required, until the
//!   harness restores the tail (or resynchronises the ring to empty), after which the model
//!   holds again. At the end everything posted is read. [`Cqe::result`], `more`,
//!   `buffer_id` and `is_notif` are checked against the raw fields for every CQE read and
//!   for arbitrary values: decoding is total and never panics.
//! - [`sq_ops`] (F2 and F6): pushes of 1 to `capacity + 1` NOPs (single or batched) tagged
//!   with a counter, flushes, the kernel consuming `k`, a hostile kernel writing any SQ
//!   head (ahead of the tail, too far behind, near misses, random words, bit flips), and
//!   arbitrary SQ flag words, over rings of 1 to 64 entries with or without the index array,
//!   indices starting anywhere. Oracles: a model of the SQE array's contents (what every
//!   slot must hold, whatever the head says) and a `VecDeque` of pushed-and-flushed
//!   `user_data`. Checked: `len` is `Ok(tail - head) <= capacity` exactly when the head is
//!   plausible and `RingCorrupt` otherwise; a push succeeds iff it fits, `Full` and
//!   `Corrupt` write nothing; the kernel consumes only published SQEs, each holding exactly
//!   what was pushed into its slot, and with an honest head the `user_data` sequence pushed
//!   and flushed, in order; after the harness restores a sane head the queue works again.
//!   `flags`, `need_wakeup`, `cq_needs_flush` and [`enter_decision`] are checked against
//!   their specification for arbitrary flag words, `to_submit`, `wait` and SQPOLL:
//!   `GETEVENTS` iff waiting or `CQ_OVERFLOW`/`TASKRUN`, `SQ_WAKEUP` iff SQPOLL with
//!   `NEED_WAKEUP` and something to submit, and no call when neither is needed.
//! - [`layout`] (F1): arbitrary [`RingLayout`]s (edits of the typical one, or random
//!   words) and region lengths. [`RingLayout::validate`] never panics and accepts exactly
//!   the layouts that satisfy the documented rules (entries powers of two, `cq_entries >=
//!   sq_entries`, CQE size 16 or 32, every word 4-aligned and inside its region, the CQE
//!   array 8-aligned, both arrays inside their regions). Small layouts that
//!   [`SimRing::with_layout`] accepts are then driven through pushes, kernel consumption,
//!   posts and drains: all of it over heap memory, so an access out of bounds is caught by
//!   miri or a sanitizer; when no two words or arrays overlap, SQEs and CQEs also come out
//!   exactly as they went in.
#![allow(unsafe_code)]

use std::collections::VecDeque;
use std::io;

use super::enter::{enter_decision, EnterDecision};
use super::layout::{cqe_flags, enter_flags, sq_ring_flags, Cqe, Sqe};
use super::op;
use super::region::RingLayout;
use super::sim::SimRing;
use super::sq::PushError;

/// The fuzz input, consumed from the front; `None` once exhausted.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.u8()?, self.u8()?]))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from(self.u16()?) | (u32::from(self.u16()?) << 16))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from(self.u32()?) | (u64::from(self.u32()?) << 32))
    }
}

/// A starting index for every ring counter: small, just below the `u32` wrap, just below
/// the sign boundary, or any word.
fn start_index(inp: &mut Input<'_>) -> Option<u32> {
    let sel = inp.u8()?;
    let small = u32::from(sel >> 2);
    Some(match sel % 4 {
        0 => small,
        1 => u32::MAX - small,
        2 => (1 << 31) - small,
        _ => inp.u32()?,
    })
}

/// A value near `base`: `base - 8 ..= base + 7`.
fn near(base: u32, sel: u8) -> u32 {
    base.wrapping_add(u32::from(sel & 15)).wrapping_sub(8)
}

/// Whether slot `slot` (masked) lies in `[head, tail)` of a ring of `cap` entries.
fn occupied(slot: u32, head: u32, tail: u32, cap: u32) -> bool {
    let n = tail.wrapping_sub(head);
    n >= cap || slot.wrapping_sub(head) & (cap - 1) < n
}

/// Checks the decoding helpers of `c` against its raw fields.
fn check_decoding(c: &Cqe) {
    match c.result() {
        Ok(v) => {
            assert!(c.res >= 0, "result() is Ok for res {}", c.res);
            assert_eq!(i64::from(v), i64::from(c.res), "result() changed the value");
        }
        Err(e) if (-4095..=-1).contains(&c.res) => {
            assert_eq!(e.raw_os_error(), Some(-c.res), "errno of res {}", c.res);
        }
        Err(e) => {
            assert!(c.res < -4095, "result() is Err for res {}", c.res);
            assert_eq!(
                e.kind(),
                io::ErrorKind::InvalidData,
                "impossible res {}",
                c.res
            );
        }
    }
    assert_eq!(c.more(), c.flags & cqe_flags::MORE != 0);
    assert_eq!(c.is_notif(), c.flags & cqe_flags::NOTIF != 0);
    assert_eq!(c.sock_nonempty(), c.flags & cqe_flags::SOCK_NONEMPTY != 0);
    let bid =
        (c.flags & cqe_flags::BUFFER != 0).then_some((c.flags >> cqe_flags::BUFFER_SHIFT) as u16);
    assert_eq!(c.buffer_id(), bid);
}

/// Checks [`enter_decision`] against its specification.
fn check_enter(sq_flags: u32, to_submit: u32, wait: u32, sqpoll: bool) {
    let getevents =
        wait > 0 || sq_flags & (sq_ring_flags::CQ_OVERFLOW | sq_ring_flags::TASKRUN) != 0;
    let wakeup = sqpoll && to_submit > 0 && sq_flags & sq_ring_flags::NEED_WAKEUP != 0;
    let mut flags = 0;
    if getevents {
        flags |= enter_flags::GETEVENTS;
    }
    if wakeup {
        flags |= enter_flags::SQ_WAKEUP;
    }
    let needed = flags != 0 || (!sqpoll && to_submit > 0);
    assert_eq!(
        enter_decision(sq_flags, to_submit, wait, sqpoll),
        needed.then_some(EnterDecision { flags, to_submit }),
        "enter_decision(flags {sq_flags:#x}, to_submit {to_submit}, wait {wait}, sqpoll {sqpoll})"
    );
}

// ---------------------------------------------------------------------------------------
// cq_reader

/// How far the harness trusts the CQ ring's contents to match its model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trust {
    /// Every CQE in `[head, tail)` and in the backlog is in the model, in order.
    Honest,
    /// Only the tail word was moved (from the value kept here); nothing read or posted since.
    TailMoved(u32),
    /// The model no longer describes the ring until the next resynchronisation.
    Lost,
}

struct CqHarness {
    ring: SimRing,
    cap: u32,
    /// Everything posted and not yet consumed while honest: the ring's entries, then the
    /// backlog's (the backlog is always a suffix of this).
    pending: VecDeque<Cqe>,
    trust: Trust,
    seq: u64,
    /// Scratch buffers, reused so that an execution allocates little.
    cqes: Vec<Cqe>,
    batch: Vec<(u64, i32, u32)>,
}

/// The CQ consumer against an adversarial kernel; see the [module docs](self).
pub fn cq_reader(data: &[u8]) {
    let mut inp = Input(data);
    let Some(mut h) = CqHarness::new(&mut inp) else {
        return;
    };
    let _ = h.run(&mut inp);
    h.finish();
}

impl CqHarness {
    fn new(inp: &mut Input<'_>) -> Option<CqHarness> {
        let shape = inp.u8()?;
        let start = start_index(inp)?;
        let sq_entries = 1u32 << (shape % 7);
        let ring = if shape & 0x18 == 0 {
            SimRing::with_start(sq_entries, start)
        } else {
            let mut layout = RingLayout::typical(sq_entries);
            if shape & 0x08 != 0 {
                layout.cq_entries = sq_entries;
            }
            if shape & 0x10 != 0 {
                layout.cqe_size = 32;
            }
            SimRing::with_layout(layout, start)
                .expect("a typical layout with a smaller CQ or CQE32 is valid")
        };
        let cap = ring.cq.capacity();
        assert_eq!(cap, ring.layout().cq_entries);
        Some(CqHarness {
            ring,
            cap,
            pending: VecDeque::new(),
            trust: Trust::Honest,
            seq: 0,
            cqes: Vec::new(),
            batch: Vec::new(),
        })
    }

    fn run(&mut self, inp: &mut Input<'_>) -> Option<()> {
        loop {
            match inp.u8()? % 12 {
                0 | 1 => self.post(inp)?,
                2 => self.flush_overflow(),
                3 | 4 => {
                    self.drain();
                }
                5 => self.pop(),
                6 => self.ready(),
                7 => self.write_slot(inp)?,
                8 => self.move_tail(inp)?,
                9 => self.restore(),
                10 => self.sq_flags(inp)?,
                _ => check_decoding(&Cqe {
                    user_data: 0,
                    res: inp.u32()? as i32,
                    flags: inp.u32()?,
                }),
            }
        }
    }

    fn cqe(&mut self, inp: &mut Input<'_>) -> Option<Cqe> {
        let kind = inp.u8()?;
        let user_data = if kind & 1 != 0 {
            inp.u64()?
        } else {
            self.seq += 1;
            self.seq
        };
        let res = match (kind >> 1) & 3 {
            0 => 0,
            1 => -i32::from(kind >> 5),
            2 => inp.u32()? as i32,
            _ => [
                i32::MIN,
                i32::MAX,
                -4095,
                -4096,
                -1,
                i32::MIN + 1,
                1 << 16,
                -125,
            ][usize::from(kind >> 5)],
        };
        let flags = match (kind >> 3) & 3 {
            0 => 0,
            1 => cqe_flags::SKIP,
            2 => cqe_flags::BUFFER | cqe_flags::MORE | (u32::from(kind) << cqe_flags::BUFFER_SHIFT),
            _ => inp.u32()?,
        };
        Some(Cqe {
            user_data,
            res,
            flags,
        })
    }

    fn post(&mut self, inp: &mut Input<'_>) -> Option<()> {
        let count = u32::from(inp.u8()?) % (3 * self.cap + 2);
        let (mut cqes, mut batch) = (
            std::mem::take(&mut self.cqes),
            std::mem::take(&mut self.batch),
        );
        cqes.clear();
        batch.clear();
        for _ in 0..count {
            let c = self.cqe(inp)?;
            cqes.push(c);
            batch.push((c.user_data, c.res, c.flags));
        }
        self.ring.kernel_post(&batch);
        self.pending.extend(cqes.iter().copied());
        (self.cqes, self.batch) = (cqes, batch);
        if let Trust::TailMoved(_) = self.trust {
            self.trust = Trust::Lost;
        }
        self.check_kernel_side();
        Some(())
    }

    fn flush_overflow(&mut self) {
        let left = self.ring.kernel_flush_overflow();
        assert_eq!(left, self.ring.backlog_len());
        if let Trust::TailMoved(_) = self.trust {
            self.trust = Trust::Lost;
        }
        self.check_kernel_side();
    }

    /// After a kernel-side step: the overflow flag mirrors the backlog and, while honest,
    /// ring plus backlog is the model, the backlog only non-empty with the ring full.
    fn check_kernel_side(&mut self) {
        let backlog = self.ring.backlog_len();
        assert_eq!(
            self.ring.sq.flags() & sq_ring_flags::CQ_OVERFLOW != 0,
            backlog > 0,
            "CQ_OVERFLOW must be set exactly while {backlog} CQEs wait in the backlog"
        );
        assert_eq!(
            self.ring.sq.cq_needs_flush(),
            self.ring.sq.flags() & (sq_ring_flags::CQ_OVERFLOW | sq_ring_flags::TASKRUN) != 0
        );
        if self.trust == Trust::Honest {
            let in_ring = self.in_ring();
            assert!(
                in_ring <= self.cap,
                "honest kernel holds {in_ring} CQEs in a ring of {}",
                self.cap
            );
            assert_eq!(
                in_ring as usize + backlog,
                self.pending.len(),
                "CQEs lost or invented by the kernel"
            );
            assert!(
                backlog == 0 || in_ring == self.cap,
                "backlog kept while the CQ has room"
            );
        }
        assert!(self.pending.len() >= backlog);
    }

    fn in_ring(&mut self) -> u32 {
        self.ring.cq_tail().wrapping_sub(self.ring.cq_head())
    }

    /// The exact result `ready()` must give for the current words.
    fn check_ready_oracle(
        &mut self,
        head: u32,
        tail: u32,
        got: Result<u32, super::sq::RingCorrupt>,
    ) {
        let avail = tail.wrapping_sub(head);
        match got {
            Ok(n) => {
                assert!(
                    avail <= self.cap,
                    "ready() accepted tail {tail} against head {head}"
                );
                assert_eq!(n, avail);
            }
            Err(e) => {
                assert!(
                    avail > self.cap,
                    "ready() rejected a sane tail {tail} against head {head}"
                );
                assert_eq!((e.ring, e.kernel, e.ours), ("CQ", tail, head));
            }
        }
    }

    fn ready(&mut self) {
        let (head, tail) = (self.ring.cq_head(), self.ring.cq_tail());
        let r = self.ring.cq.ready();
        self.check_ready_oracle(head, tail, r);
        if self.trust == Trust::Honest {
            let backlog = self.ring.backlog_len();
            assert_eq!(
                r.ok().map(|n| n as usize + backlog),
                Some(self.pending.len())
            );
        }
    }

    /// One `drain`; returns how many slots it consumed.
    fn drain(&mut self) -> u32 {
        let (head, tail) = (self.ring.cq_head(), self.ring.cq_tail());
        let skipped = self.ring.cq.skipped();
        let mut got = std::mem::take(&mut self.cqes);
        got.clear();
        let r = self.ring.cq.drain(|c| got.push(c));
        self.check_ready_oracle(head, tail, r);
        let Ok(n) = r else {
            assert!(
                got.is_empty(),
                "drain() handed out CQEs from a corrupt ring"
            );
            assert_eq!(
                self.ring.cq_head(),
                head,
                "drain() moved the head of a corrupt ring"
            );
            return 0;
        };
        assert!(
            n <= self.cap,
            "one drain() read {n} CQEs from a ring of {}",
            self.cap
        );
        assert_eq!(
            self.ring.cq_head(),
            head.wrapping_add(n),
            "head must advance by what was consumed"
        );
        assert_eq!(
            got.len() as u64 + (self.ring.cq.skipped() - skipped),
            u64::from(n)
        );
        for c in &got {
            assert_eq!(c.flags & cqe_flags::SKIP, 0, "a SKIP filler was handed out");
            check_decoding(c);
        }
        match self.trust {
            Trust::Honest => {
                assert!(
                    n as usize <= self.pending.len(),
                    "read {n} CQEs, {} were posted",
                    self.pending.len()
                );
                let want = self
                    .pending
                    .drain(..n as usize)
                    .filter(|c| c.flags & cqe_flags::SKIP == 0);
                assert!(
                    want.eq(got.iter().copied()),
                    "CQEs skipped, repeated or reordered: read {got:?}"
                );
            }
            Trust::TailMoved(_) if n > 0 => self.trust = Trust::Lost,
            _ => {}
        }
        self.cqes = got;
        n
    }

    fn pop(&mut self) {
        let (head, tail) = (self.ring.cq_head(), self.ring.cq_tail());
        let skipped = self.ring.cq.skipped();
        let r = self.ring.cq.pop();
        let avail = tail.wrapping_sub(head);
        let got = match r {
            Err(e) => {
                self.check_ready_oracle(head, tail, Err(e));
                assert_eq!(
                    self.ring.cq_head(),
                    head,
                    "pop() moved the head of a corrupt ring"
                );
                return;
            }
            Ok(got) => got,
        };
        assert!(
            avail <= self.cap,
            "pop() read from tail {tail} against head {head}"
        );
        let taken = self.ring.cq_head().wrapping_sub(head);
        assert!(
            taken <= avail,
            "pop() consumed {taken} of {avail} ready CQEs"
        );
        assert_eq!(
            u64::from(taken),
            self.ring.cq.skipped() - skipped + u64::from(got.is_some())
        );
        match got {
            None => assert_eq!(taken, avail, "pop() returned None with CQEs ready"),
            Some(c) => {
                assert_eq!(c.flags & cqe_flags::SKIP, 0, "pop() returned a SKIP filler");
                check_decoding(&c);
            }
        }
        match self.trust {
            Trust::Honest => {
                assert!(taken as usize <= self.pending.len());
                let fillers = taken - u32::from(got.is_some());
                for c in self.pending.drain(..fillers as usize) {
                    assert_ne!(
                        c.flags & cqe_flags::SKIP,
                        0,
                        "pop() passed over a real CQE {c:?}"
                    );
                }
                if got.is_some() {
                    assert_eq!(
                        got,
                        self.pending.pop_front(),
                        "pop() returned the wrong CQE"
                    );
                }
            }
            Trust::TailMoved(_) if taken > 0 => self.trust = Trust::Lost,
            _ => {}
        }
    }

    fn write_slot(&mut self, inp: &mut Input<'_>) -> Option<()> {
        let slot = u32::from(inp.u8()?);
        let g = inp.u32()?;
        let junk = Cqe {
            user_data: u64::from(g).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            res: g.rotate_left(13) as i32,
            flags: g.rotate_left(7),
        };
        let head = self.ring.cq_head();
        let clobbers = match self.trust {
            Trust::Honest => {
                let tail = self.ring.cq_tail();
                occupied(slot, head, tail, self.cap)
            }
            Trust::TailMoved(real) => occupied(slot, head, real, self.cap),
            Trust::Lost => false,
        };
        self.ring.write_cq_slot(slot, junk);
        if clobbers {
            self.trust = Trust::Lost;
        }
        Some(())
    }

    fn move_tail(&mut self, inp: &mut Input<'_>) -> Option<()> {
        let (head, tail) = (self.ring.cq_head(), self.ring.cq_tail());
        let sel = inp.u8()?;
        let small = u32::from(sel >> 3);
        let v = match sel % 6 {
            0 => near(tail, sel >> 3),
            1 => head.wrapping_add(self.cap).wrapping_add(1 + small),
            2 => head.wrapping_sub(1 + small),
            3 => head.wrapping_add(small % (self.cap + 1)),
            4 => inp.u32()?,
            _ => tail ^ (1 << small),
        };
        self.ring.set_cq_tail(v);
        if v != tail {
            self.trust = match self.trust {
                Trust::Honest => Trust::TailMoved(tail),
                Trust::TailMoved(real) if v == real => Trust::Honest,
                t => t,
            };
        }
        let r = self.ring.cq.ready();
        self.check_ready_oracle(head, v, r);
        Some(())
    }

    /// Makes the ring honest again: puts back the real tail if only it was moved, else
    /// empties the ring (tail = head) and keeps the backlog, which the model still knows.
    fn restore(&mut self) {
        match self.trust {
            Trust::Honest => {}
            Trust::TailMoved(real) => self.ring.set_cq_tail(real),
            Trust::Lost => {
                let head = self.ring.cq_head();
                self.ring.set_cq_tail(head);
                let gone = self.pending.len() - self.ring.backlog_len();
                self.pending.drain(..gone);
            }
        }
        self.trust = Trust::Honest;
        assert!(
            self.ring.cq.ready().is_ok(),
            "the CQ still fails after its tail was restored"
        );
        self.ready();
    }

    fn sq_flags(&mut self, inp: &mut Input<'_>) -> Option<()> {
        let v = inp.u32()?;
        self.ring.set_sq_flags(v);
        assert_eq!(self.ring.sq.flags(), v);
        assert_eq!(
            self.ring.sq.need_wakeup(),
            v & sq_ring_flags::NEED_WAKEUP != 0
        );
        assert_eq!(
            self.ring.sq.cq_needs_flush(),
            v & (sq_ring_flags::CQ_OVERFLOW | sq_ring_flags::TASKRUN) != 0
        );
        Some(())
    }

    /// Everything still posted is read, in order, exactly once.
    fn finish(&mut self) {
        self.restore();
        let mut rounds = 0;
        while !self.pending.is_empty() {
            self.flush_overflow();
            let want = self.pending.len().min(self.cap as usize) as u32;
            assert_eq!(
                self.drain(),
                want,
                "a drain after a flush must read min(capacity, posted)"
            );
            rounds += 1;
            assert!(rounds <= 1 << 16);
        }
        self.flush_overflow();
        assert_eq!(self.ring.backlog_len(), 0);
        assert_eq!(self.ring.cq.ready(), Ok(0));
        assert_eq!(
            self.ring.cq.overflow(),
            0,
            "the simulated kernel never drops a CQE"
        );
    }
}

// ---------------------------------------------------------------------------------------
// sq_ops

struct SqHarness {
    ring: SimRing,
    cap: u32,
    /// What every SQE slot holds: written by successful pushes only.
    mem: Vec<Sqe>,
    /// Next slot index to fill.
    sqe_tail: u32,
    /// The tail last published.
    pub_tail: u32,
    /// The head as an honest kernel left it.
    real_head: u32,
    /// Pushed, not flushed.
    unpub: VecDeque<u64>,
    /// Flushed and not consumed by the honest kernel: `pub_tail - real_head` entries.
    inflight: VecDeque<u64>,
    /// Whether the head word is `real_head` and the in-flight slots are intact.
    trusted: bool,
    next_ud: u64,
    /// Scratch buffer for batches.
    sqes: Vec<Sqe>,
}

/// The SQ producer against a hostile kernel, and the enter decision; see the
/// [module docs](self).
pub fn sq_ops(data: &[u8]) {
    let mut inp = Input(data);
    let Some(mut h) = SqHarness::new(&mut inp) else {
        return;
    };
    let _ = h.run(&mut inp);
    h.finish();
}

impl SqHarness {
    fn new(inp: &mut Input<'_>) -> Option<SqHarness> {
        let shape = inp.u8()?;
        let start = start_index(inp)?;
        let entries = 1u32 << (shape % 7);
        let ring = if shape & 0x08 != 0 {
            let mut layout = RingLayout::typical(entries);
            layout.sq.array = None;
            SimRing::with_layout(layout, start)
                .expect("a typical layout without the SQ array is valid")
        } else {
            SimRing::with_start(entries, start)
        };
        let cap = ring.sq.capacity();
        assert_eq!(cap, entries);
        assert_eq!(ring.sq.kernel_head(), start);
        Some(SqHarness {
            ring,
            cap,
            mem: vec![Sqe::default(); cap as usize],
            sqe_tail: start,
            pub_tail: start,
            real_head: start,
            unpub: VecDeque::new(),
            inflight: VecDeque::new(),
            trusted: true,
            next_ud: 0x5eed_0000_0000_0000,
            sqes: Vec::new(),
        })
    }

    fn run(&mut self, inp: &mut Input<'_>) -> Option<()> {
        loop {
            match inp.u8()? % 8 {
                0 | 1 => self.push(inp)?,
                2 => self.flush(),
                3 | 4 => self.consume(inp)?,
                5 => self.hostile_head(inp)?,
                6 => self.restore(),
                _ => self.flags(inp)?,
            }
        }
    }

    /// `len` must be `Ok(used)` exactly when the head is plausible.
    fn expected_len(&self) -> Option<u32> {
        let head = self.ring.sq.kernel_head();
        let in_kernel = self.pub_tail.wrapping_sub(head);
        let used = self.sqe_tail.wrapping_sub(head);
        (in_kernel <= self.cap && used <= self.cap).then_some(used)
    }

    fn check_len(&self) {
        let head = self.ring.sq.kernel_head();
        let sq = &self.ring.sq;
        match (sq.len(), self.expected_len()) {
            (Ok(n), Some(want)) => {
                assert_eq!(n, want, "len() against head {head}");
                assert!(
                    n <= self.cap,
                    "{n} SQEs in flight in a ring of {}",
                    self.cap
                );
                assert_eq!(sq.space_left(), Ok(self.cap - n));
                assert_eq!(sq.is_empty(), Ok(n == 0));
            }
            (Err(e), None) => {
                assert_eq!((e.ring, e.kernel, e.ours), ("SQ", head, self.sqe_tail));
                assert!(sq.space_left().is_err() && sq.is_empty().is_err());
            }
            (got, want) => panic!(
                "len() = {got:?}, expected {want:?} (head {head}, published {}, tail {})",
                self.pub_tail, self.sqe_tail
            ),
        }
        assert_eq!(sq.unpublished(), self.sqe_tail.wrapping_sub(self.pub_tail));
        assert_eq!(sq.unpublished() as usize, self.unpub.len());
        assert!(
            sq.unpublished() <= self.cap,
            "more unpublished SQEs than slots"
        );
        assert_eq!(
            self.inflight.len(),
            self.pub_tail.wrapping_sub(self.real_head) as usize
        );
        assert_eq!(sq.dropped(), 0);
    }

    fn push(&mut self, inp: &mut Input<'_>) -> Option<()> {
        let sel = inp.u8()?;
        let single = sel & 1 != 0;
        let k = if single {
            1
        } else {
            u32::from(sel >> 1) % (self.cap + 2)
        };
        let mut sqes = std::mem::take(&mut self.sqes);
        sqes.clear();
        sqes.extend((0..u64::from(k)).map(|i| op::nop().user_data(self.next_ud + i)));
        self.next_ud += u64::from(k);
        let before = self.expected_len();
        let unpublished = self.ring.sq.unpublished();
        let r = if single {
            // SAFETY: a NOP carries no pointer, and the simulated kernel never dereferences
            // anything in an SQE.
            unsafe { self.ring.sq.push(&sqes[0]) }
        } else {
            // SAFETY: as above, for every NOP of the batch.
            unsafe { self.ring.sq.push_batch(&sqes) }
        };
        match (r, before) {
            (Ok(()), Some(used)) => {
                assert!(
                    k <= self.cap - used,
                    "pushed {k} SQEs with {used} of {} slots used",
                    self.cap
                );
                for &s in &sqes {
                    self.mem[(self.sqe_tail & (self.cap - 1)) as usize] = s;
                    self.unpub.push_back(s.user_data);
                    self.sqe_tail = self.sqe_tail.wrapping_add(1);
                }
            }
            (Err(PushError::Full), Some(used)) => {
                assert!(
                    k > self.cap - used,
                    "Full with {used} of {} slots used, pushing {k}",
                    self.cap
                );
                assert_eq!(
                    self.ring.sq.unpublished(),
                    unpublished,
                    "a failed push moved the tail"
                );
            }
            (Err(PushError::Corrupt(_)), None) => {
                assert_eq!(
                    self.ring.sq.unpublished(),
                    unpublished,
                    "a failed push moved the tail"
                );
            }
            (r, before) => panic!("push of {k} = {r:?}, expected from len {before:?}"),
        }
        self.sqes = sqes;
        self.check_len();
        Some(())
    }

    fn flush(&mut self) {
        let r = self.ring.sq.flush();
        self.pub_tail = self.sqe_tail;
        self.inflight.extend(self.unpub.drain(..));
        match (r, self.expected_len()) {
            (Ok(n), Some(used)) => {
                assert_eq!(n, used, "to_submit must be the published tail - head")
            }
            (Err(_), None) => {}
            (r, want) => panic!("flush() = {r:?}, expected {want:?}"),
        }
        self.check_len();
    }

    fn consume(&mut self, inp: &mut Input<'_>) -> Option<()> {
        let max = u32::from(inp.u8()?) % (self.cap + 2);
        let head = self.ring.sq.kernel_head();
        let n = self.pub_tail.wrapping_sub(head).min(max).min(self.cap);
        let got = self.ring.kernel_consume(max);
        assert_eq!(
            got.len(),
            n as usize,
            "the kernel saw a tail other than the published one"
        );
        for (i, s) in (0u32..).zip(&got) {
            let slot = head.wrapping_add(i) & (self.cap - 1);
            assert_eq!(
                *s, self.mem[slot as usize],
                "SQE slot {slot} holds what was never pushed there"
            );
        }
        assert_eq!(self.ring.sq.kernel_head(), head.wrapping_add(n));
        if self.trusted {
            assert_eq!(head, self.real_head);
            for s in &got {
                let want = self
                    .inflight
                    .pop_front()
                    .expect("the kernel consumed an unpublished SQE");
                assert_eq!(s.user_data, want, "SQEs consumed out of order or twice");
            }
            self.real_head = self.real_head.wrapping_add(n);
        }
        self.check_len();
        Some(())
    }

    fn hostile_head(&mut self, inp: &mut Input<'_>) -> Option<()> {
        let sel = inp.u8()?;
        let small = u32::from(sel >> 3);
        let head = self.ring.sq.kernel_head();
        let v = match sel % 6 {
            0 => self.pub_tail.wrapping_add(1 + small),
            1 => self.sqe_tail.wrapping_sub(self.cap + 1 + small),
            2 => near(head, sel >> 3),
            3 => inp.u32()?,
            4 => head ^ (1 << small),
            _ => self.real_head,
        };
        self.ring.set_sq_head(v);
        if v != self.real_head {
            self.trusted = false;
        }
        self.check_len();
        Some(())
    }

    /// Puts a sane head back: the honest one if the in-flight SQEs survived the lies, else
    /// the published tail (as if the kernel had consumed everything published).
    fn restore(&mut self) {
        if !self.trusted {
            let mask = self.cap - 1;
            let intact = self.sqe_tail.wrapping_sub(self.real_head) <= self.cap
                && (0u32..).zip(&self.inflight).all(|(i, &ud)| {
                    self.mem[(self.real_head.wrapping_add(i) & mask) as usize].user_data == ud
                });
            if !intact {
                self.real_head = self.pub_tail;
                self.inflight.clear();
            }
            self.ring.set_sq_head(self.real_head);
            self.trusted = true;
        }
        assert!(
            self.ring.sq.len().is_ok(),
            "the SQ still fails after its head was restored"
        );
        self.check_len();
    }

    fn flags(&mut self, inp: &mut Input<'_>) -> Option<()> {
        let v = inp.u32()?;
        let sel = inp.u8()?;
        self.ring.set_sq_flags(v);
        let sq = &self.ring.sq;
        assert_eq!(sq.flags(), v);
        assert_eq!(sq.need_wakeup(), v & sq_ring_flags::NEED_WAKEUP != 0);
        assert_eq!(
            sq.cq_needs_flush(),
            v & (sq_ring_flags::CQ_OVERFLOW | sq_ring_flags::TASKRUN) != 0
        );
        let to_submit = match sel & 3 {
            0 => 0,
            1 => sq.len().unwrap_or(0),
            2 => u32::from(sel >> 2),
            _ => inp.u32()?,
        };
        let wait = match (sel >> 2) & 3 {
            0 | 1 => 0,
            2 => u32::from(sel >> 4),
            _ => inp.u32()?,
        };
        check_enter(v, to_submit, wait, sel & 0x80 != 0);
        Some(())
    }

    /// Everything pushed comes out, in order.
    fn finish(&mut self) {
        self.restore();
        self.flush();
        let mut rounds = 0;
        while !self.inflight.is_empty() {
            let got = self.ring.kernel_consume(self.cap);
            assert!(
                !got.is_empty(),
                "the kernel made no progress on {} published SQEs",
                self.inflight.len()
            );
            for s in &got {
                assert_eq!(
                    Some(s.user_data),
                    self.inflight.pop_front(),
                    "SQEs consumed out of order"
                );
            }
            self.real_head = self.real_head.wrapping_add(got.len() as u32);
            rounds += 1;
            assert!(rounds <= 2);
        }
        self.check_len();
        assert_eq!(self.ring.sq.len(), Ok(0));
    }
}

// ---------------------------------------------------------------------------------------
// layout

/// Region lengths for a layout: its own, slightly off, or any.
fn region_len(own: usize, inp: &mut Input<'_>) -> Option<usize> {
    let sel = inp.u8()?;
    Some(match sel % 4 {
        0 | 1 => own,
        2 => own.wrapping_add(usize::from(sel >> 2)).wrapping_sub(32),
        _ => inp.u32()? as usize,
    })
}

/// A layout field value: small and 4-aligned, small, or any word.
fn field_value(inp: &mut Input<'_>) -> Option<u32> {
    let sel = inp.u8()?;
    Some(match sel % 4 {
        0 => u32::from(sel >> 2) * 4,
        1 => u32::from(sel >> 2) * 8 + u32::from(inp.u8()?) * 64,
        2 => u32::from(sel >> 2),
        _ => inp.u32()?,
    })
}

/// What [`RingLayout::validate`] is documented to accept.
fn layout_ok(l: &RingLayout, sq_len: usize, cq_len: usize, sqes_len: usize) -> bool {
    let word_ok = |off: u32, len: usize| off % 4 == 0 && off as usize + 4 <= len;
    let (sq, cq) = (&l.sq, &l.cq);
    l.sq_entries.is_power_of_two()
        && l.cq_entries.is_power_of_two()
        && l.cq_entries >= l.sq_entries
        && (l.cqe_size == 16 || l.cqe_size == 32)
        && [
            sq.head,
            sq.tail,
            sq.ring_mask,
            sq.ring_entries,
            sq.flags,
            sq.dropped,
        ]
        .iter()
        .all(|&o| word_ok(o, sq_len))
        && sq.array.is_none_or(|a| {
            word_ok(a, sq_len) && a as u64 + u64::from(l.sq_entries) * 4 <= sq_len as u64
        })
        && u64::from(l.sq_entries) * std::mem::size_of::<Sqe>() as u64 <= sqes_len as u64
        && [cq.head, cq.tail, cq.ring_mask, cq.ring_entries, cq.overflow]
            .iter()
            .all(|&o| word_ok(o, cq_len))
        && cq.flags.is_none_or(|f| word_ok(f, cq_len))
        && cq.cqes % 8 == 0
        && u64::from(cq.cqes) + u64::from(l.cq_entries) * u64::from(l.cqe_size) <= cq_len as u64
}

/// Whether no two of the byte ranges `[start, end)` overlap.
fn disjoint(ranges: &[(u64, u64)]) -> bool {
    ranges
        .iter()
        .enumerate()
        .all(|(i, a)| ranges[i + 1..].iter().all(|b| a.1 <= b.0 || b.1 <= a.0))
}

fn word_range(off: u32) -> (u64, u64) {
    (u64::from(off), u64::from(off) + 4)
}

/// Layout validation and the queues over arbitrary accepted layouts; see the
/// [module docs](self).
pub fn layout(data: &[u8]) {
    let _ = layout_run(&mut Input(data));
}

fn layout_run(inp: &mut Input<'_>) -> Option<()> {
    let shape = inp.u8()?;
    let mut l = RingLayout::typical(1 << (shape % 8));
    let edits = inp.u8()? % 8;
    for _ in 0..edits {
        let field = inp.u8()?;
        let v = field_value(inp)?;
        match field % 18 {
            0 => l.sq_entries = v,
            1 => l.cq_entries = v,
            2 => l.cqe_size = v,
            3 => l.sq.head = v,
            4 => l.sq.tail = v,
            5 => l.sq.ring_mask = v,
            6 => l.sq.ring_entries = v,
            7 => l.sq.flags = v,
            8 => l.sq.dropped = v,
            9 => l.sq.array = (field & 0x80 != 0).then_some(v),
            10 => l.cq.head = v,
            11 => l.cq.tail = v,
            12 => l.cq.ring_mask = v,
            13 => l.cq.ring_entries = v,
            14 => l.cq.overflow = v,
            15 => l.cq.cqes = v,
            16 => l.cq.flags = (field & 0x80 != 0).then_some(v),
            _ => l.cq_entries = l.sq_entries.wrapping_mul(1 << (v % 4)),
        }
    }
    let sq_len = region_len(l.sq_ring_len(), inp)?;
    let cq_len = region_len(l.cq_ring_len(), inp)?;
    let sqes_len = region_len(l.sqes_len(), inp)?;
    let verdict = l.validate(sq_len, cq_len, sqes_len);
    assert_eq!(
        verdict.is_ok(),
        layout_ok(&l, sq_len, cq_len, sqes_len),
        "validate() = {verdict:?} for {l:?} with regions {sq_len}/{cq_len}/{sqes_len}"
    );
    if let Err(e) = verdict {
        assert!(!e.to_string().is_empty());
    }

    // Drive the queues over layouts small enough to allocate.
    let small = l.sq_entries <= 64
        && l.cq_entries <= 256
        && l.sq_ring_len() <= 1 << 16
        && l.cq_ring_len() <= 1 << 16;
    if !small {
        return Some(());
    }
    let start = start_index(inp)?;
    let sim_ok = l.validate_sq(l.sq_ring_len(), l.sqes_len()).is_ok()
        && l.validate_cq(l.cq_ring_len()).is_ok();
    let Ok(mut ring) = SimRing::with_layout(l, start) else {
        return Some(());
    };
    assert!(
        sim_ok,
        "with_layout accepted a layout its own regions do not fit: {l:?}"
    );
    let (sq, cq) = (&l.sq, &l.cq);
    let mut sq_ranges: Vec<(u64, u64)> = [
        sq.head,
        sq.tail,
        sq.ring_mask,
        sq.ring_entries,
        sq.flags,
        sq.dropped,
    ]
    .into_iter()
    .map(word_range)
    .collect();
    if let Some(a) = sq.array {
        sq_ranges.push((u64::from(a), u64::from(a) + u64::from(l.sq_entries) * 4));
    }
    let mut cq_ranges: Vec<(u64, u64)> =
        [cq.head, cq.tail, cq.ring_mask, cq.ring_entries, cq.overflow]
            .into_iter()
            .map(word_range)
            .collect();
    cq_ranges.extend(cq.flags.map(word_range));
    cq_ranges.push((
        u64::from(cq.cqes),
        u64::from(cq.cqes) + u64::from(l.cq_entries) * u64::from(l.cqe_size),
    ));
    let sq_apart = disjoint(&sq_ranges);
    let cq_apart = disjoint(&cq_ranges);
    let (sq_cap, cq_cap) = (ring.sq.capacity(), ring.cq.capacity());
    assert_eq!((sq_cap, cq_cap), (l.sq_entries, l.cq_entries));

    let mut next_ud = 0u64;
    let mut sq_model: VecDeque<u64> = VecDeque::new();
    let mut cq_model: VecDeque<u64> = VecDeque::new();
    for _ in 0..64 {
        let op = inp.u8()?;
        let k = u32::from(op >> 2);
        match op % 4 {
            0 => {
                // Push up to k NOPs one at a time, then publish them.
                for _ in 0..k {
                    let sqe = op::nop().user_data(next_ud);
                    // SAFETY: a NOP carries no pointer, and the simulated kernel never
                    // dereferences anything in an SQE.
                    match unsafe { ring.sq.push(&sqe) } {
                        Ok(()) => sq_model.push_back(next_ud),
                        Err(_) if !sq_apart => break,
                        Err(e) => {
                            assert_eq!(e, PushError::Full);
                            assert_eq!(sq_model.len(), sq_cap as usize, "Full with free slots");
                            break;
                        }
                    }
                    next_ud += 1;
                }
                let r = ring.sq.flush();
                if sq_apart {
                    assert_eq!(r, Ok(sq_model.len() as u32));
                }
            }
            1 => {
                // The simulated kernel asserts that the index array holds valid indices:
                // only consume when the array cannot share memory with another word.
                if !sq_apart {
                    continue;
                }
                for s in ring.kernel_consume(k) {
                    assert_eq!(
                        Some(s.user_data),
                        sq_model.pop_front(),
                        "SQEs consumed out of order"
                    );
                }
            }
            2 => {
                let posts: Vec<(u64, i32, u32)> = (0..u64::from(k))
                    .map(|i| {
                        cq_model.push_back(next_ud + i);
                        (next_ud + i, 0, 0)
                    })
                    .collect();
                next_ud += u64::from(k);
                ring.kernel_post(&posts);
            }
            _ => {
                let mut got = Vec::new();
                let r = ring.cq.drain(|c| got.push(c.user_data));
                if let Ok(n) = r {
                    assert!(n <= cq_cap);
                }
                ring.kernel_flush_overflow();
                if cq_apart {
                    let want: Vec<u64> = cq_model.drain(..got.len()).collect();
                    assert_eq!(got, want, "CQEs lost, repeated or reordered");
                }
            }
        }
    }
    Some(())
}
