//! The `sq_ops` harness (see the module docs of `harness`).
#![allow(unsafe_code)]

use std::collections::VecDeque;

use crate::uring::layout::{sq_ring_flags, Sqe};
use crate::uring::op;
use crate::uring::region::RingLayout;
use crate::uring::sim::SimRing;
use crate::uring::sq::PushError;

use super::*;

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
/// [module docs](crate::uring::harness).
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
