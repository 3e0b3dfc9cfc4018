//! Fuzz harnesses for the ring handling, run over [`SimRing`](crate::uring::sim::SimRing) (plain memory, no syscall).
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
//! - [`layout`](fn@layout) (F1): arbitrary [`RingLayout`](crate::uring::RingLayout)s (edits of the typical one, or random
//!   words) and region lengths. [`RingLayout::validate`](crate::uring::RingLayout::validate) never panics and accepts exactly
//!   the layouts that satisfy the documented rules (entries powers of two, `cq_entries >=
//!   sq_entries`, CQE size 16 or 32, every word 4-aligned and inside its region, the CQE
//!   array 8-aligned, both arrays inside their regions). Small layouts that
//!   [`SimRing::with_layout`](crate::uring::sim::SimRing::with_layout) accepts are then driven through pushes, kernel consumption,
//!   posts and drains: all of it over heap memory, so an access out of bounds is caught by
//!   miri or a sanitizer; when no two words or arrays overlap, SQEs and CQEs also come out
//!   exactly as they went in.
#![allow(unsafe_code)]

mod cq;
mod layout;
mod sq;

pub use cq::cq_reader;
pub use layout::layout;
pub use sq::sq_ops;

use std::io;

use super::enter::{enter_decision, EnterDecision};
use super::layout::{cqe_flags, enter_flags, sq_ring_flags, Cqe};

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
