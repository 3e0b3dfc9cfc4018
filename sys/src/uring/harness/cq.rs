//! The `cq_reader` harness (see the module docs of `harness`).
#![allow(unsafe_code)]

use std::collections::VecDeque;

use crate::uring::layout::{cqe_flags, sq_ring_flags, Cqe};
use crate::uring::region::RingLayout;
use crate::uring::sim::SimRing;

use super::*;

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

/// The CQ consumer against an adversarial kernel; see the [module docs](crate::uring::harness).
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
        got: Result<u32, crate::uring::RingCorrupt>,
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
