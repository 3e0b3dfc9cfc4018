//! The `layout` harness (see the module docs of `harness`).
#![allow(unsafe_code)]

use std::collections::VecDeque;

use crate::uring::layout::Sqe;
use crate::uring::op;
use crate::uring::region::RingLayout;
use crate::uring::sim::SimRing;
use crate::uring::sq::PushError;

use super::*;

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
/// [module docs](crate::uring::harness).
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
