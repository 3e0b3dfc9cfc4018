//! The driver's completion handling against an adversarial kernel: the production
//! [`handle_cqe`], in-flight [`Table`], operation cells, multishot accept and buffer pool,
//! fed completions whose `user_data`, `res`, flags and buffer ids come from fuzz input,
//! interleaved with what handles do (poll, take the result, drop), buffers given back and
//! recycled.
//!
//! What must hold, whatever the input:
//! - nothing panics (debug assertions included), nothing is freed twice (ASan in the fuzz
//!   build), and no completion reaches an operation it was not addressed to: a stale
//!   `user_data` (a finished operation's) or a made-up one finds nothing;
//! - an operation's final CQE takes it out of the table, once; a multishot's other CQEs
//!   leave it there;
//! - a buffer is lent to at most one reader at a time, whatever buffer ids the kernel
//!   names, and when everything is dropped and recycled every buffer is back in the ring
//!   and the table is empty.
//!
//! The kernel's side is played here: a CQE that says "accepted" carries a descriptor this
//! harness opened (a kernel hands out fresh descriptors; a made-up number would close one
//! of the fuzzer's own). Used by the `completions` fuzz target and by the unit test below
//! (deterministic inputs in every `cargo test`).

use std::io;
use std::os::fd::IntoRawFd;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use hiver_sys::uring::{cqe_flags, BufRing, Cqe, Sqe};

use super::accept::{AcceptEvent, MultishotAccept};
use super::buf::{BufPool, Lent, GROUP};
use super::op::{Multishot, OpCell};
use super::ops::{self, Recv};
use super::{handle_cqe, CqeCtx, CqeRing, InFlight, Table, UringStats, CANCEL, CLOSE, WAKE};
use crate::channel::{unbounded, Receiver};

/// Buffers of the harness's ring: few, so that the input reaches every one of them.
const BUFS: u16 = 8;
const BUF_LEN: u32 = 64;
/// Operations alive at once, at most.
const MAX_LIVE: usize = 16;

/// The ring as completion handling sees it: an unregistered buffer ring, and a count of
/// the SQEs pushed (a multishot accept's cancels).
struct FuzzRing {
    bufs: BufRing,
    pushed: usize,
}

impl CqeRing for FuzzRing {
    fn buf_ring(&mut self, bgid: u16) -> Option<&mut BufRing> {
        (bgid == GROUP).then_some(&mut self.bufs)
    }

    unsafe fn push(&mut self, _sqe: &Sqe) -> io::Result<()> {
        self.pushed += 1;
        Ok(())
    }
}

/// The fuzz input, read a few bytes at a time; zeros once it runs out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | u64::from(self.u32()) << 32
    }

    fn done(&self) -> bool {
        self.0.is_empty()
    }
}

/// What the handle side holds of an operation.
enum Handle {
    Recv {
        cell: Arc<OpCell<Recv>>,
        user_data: u64,
    },
    Accept {
        armed: Arc<Multishot>,
        events: Receiver<AcceptEvent>,
        user_data: u64,
    },
}

impl Handle {
    fn user_data(&self) -> u64 {
        match self {
            Handle::Recv { user_data, .. } | Handle::Accept { user_data, .. } => *user_data,
        }
    }
}

/// What one run went through (the unit test checks the paths are reached).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Seen {
    /// Buffers a reader took.
    pub(crate) lent: usize,
    /// Connections the accept entries queued.
    pub(crate) accepted: usize,
    /// Operations ended by a CQE.
    pub(crate) ended: usize,
    /// CQEs that named nothing in flight (stale or made up).
    pub(crate) unknown: usize,
    /// Cancels a full accept queue pushed.
    pub(crate) cancels_pushed: usize,
}

/// Runs the harness over `data` (see the module docs for what it checks).
pub(crate) fn completions(data: &[u8]) -> Seen {
    let mut seen = Seen::default();
    let mut input = Input(data);
    let mut ring = FuzzRing {
        bufs: BufRing::unregistered(GROUP, BUFS, BUF_LEN).expect("a small anonymous mapping"),
        pushed: 0,
    };
    let mut pool = BufPool::ready();
    let mut table = Table::default();
    let mut stats = UringStats::default();
    let mut wakers = Vec::new();
    let mut live: Vec<Handle> = Vec::new();
    // Every accept entry ever made: a CQE for one of them carries a real descriptor.
    let mut accepts: Vec<Arc<dyn InFlight>> = Vec::new();
    // Operations whose handle went away while in flight: the driver owns them until their
    // final CQE.
    let mut detached: Vec<u64> = Vec::new();
    // user_data of operations that ended: nothing may reach anything through them again.
    let mut stale: Vec<u64> = Vec::new();
    let mut held: Vec<Lent> = Vec::new();
    let mut cx = Context::from_waker(Waker::noop());

    while !input.done() {
        match input.u8() % 10 {
            0 if live.len() < MAX_LIVE => {
                let cell = Arc::new(OpCell::new(Recv::provided()));
                let user_data = table.insert(cell.clone(), None);
                live.push(Handle::Recv { cell, user_data });
            }
            1 if live.len() < MAX_LIVE => {
                let room = usize::from(input.u8() % 64);
                let mut recv = Recv::default();
                recv.own = Vec::with_capacity(room);
                let cell = Arc::new(OpCell::new(recv));
                let user_data = table.insert(cell.clone(), None);
                live.push(Handle::Recv { cell, user_data });
            }
            2 if live.len() < MAX_LIVE => {
                let (tx, events) = unbounded();
                let armed = Arc::new(Multishot::new());
                assert!(armed.try_arm());
                let entry: Arc<dyn InFlight> = Arc::new(MultishotAccept {
                    events: tx,
                    armed: armed.clone(),
                });
                let user_data = table.insert(entry.clone(), None);
                accepts.push(entry);
                live.push(Handle::Accept {
                    armed,
                    events,
                    user_data,
                });
            }
            3..=5 => {
                let cqe = arbitrary_cqe(&mut input, &live, &detached, &stale, &table, &accepts);
                let known = table.get(cqe.user_data).is_some();
                // A finished operation's user_data never reaches the slot's next user.
                assert!(
                    !(known && stale.contains(&cqe.user_data)),
                    "a stale user_data reached an operation in flight"
                );
                if known
                    && cqe.res >= 0
                    && accepts.iter().any(|a| {
                        table
                            .get(cqe.user_data)
                            .is_some_and(|op| Arc::ptr_eq(a, op))
                    })
                {
                    seen.accepted += 1;
                }
                if !known && ![WAKE, CANCEL, CLOSE].contains(&cqe.user_data) {
                    seen.unknown += 1;
                } else if known && !cqe.more() {
                    seen.ended += 1;
                }
                deliver(
                    &cqe,
                    &mut table,
                    &mut ring,
                    &mut pool,
                    &mut wakers,
                    &mut stats,
                );
                if !cqe.more() && ![WAKE, CANCEL, CLOSE].contains(&cqe.user_data) {
                    // A final CQE takes its operation out of the table; one for nothing
                    // in flight changes nothing.
                    assert!(table.get(cqe.user_data).is_none());
                    if let Some(i) = detached.iter().position(|&u| u == cqe.user_data) {
                        assert!(known, "a detached operation was in the table");
                        stale.push(detached.swap_remove(i));
                    }
                }
            }
            6 if !live.is_empty() => {
                let i = usize::from(input.u8()) % live.len();
                let before = held.len();
                let over = take_result(&live[i], &mut cx, &mut held);
                seen.lent += held.len() - before;
                if over {
                    stale.push(live.swap_remove(i).user_data());
                }
            }
            7 if !live.is_empty() => {
                let i = usize::from(input.u8()) % live.len();
                let h = live.swap_remove(i);
                let user_data = h.user_data();
                drop_handle(h);
                if table.get(user_data).is_some() {
                    detached.push(user_data);
                } else {
                    stale.push(user_data);
                }
            }
            8 if !held.is_empty() => {
                let i = usize::from(input.u8()) % held.len();
                drop(held.swap_remove(i));
            }
            9 => pool.recycle(&mut ring),
            _ => {}
        }
        for (i, l) in held.iter().enumerate() {
            assert!(
                held[i + 1..].iter().all(|m| m.bid() != l.bid()),
                "buffer {} lent twice at once",
                l.bid()
            );
        }
        for w in wakers.drain(..) {
            w.wake();
        }
    }

    // The kernel ends everything still in flight, then the handles and buffers go.
    let pending: Vec<u64> = live
        .iter()
        .map(Handle::user_data)
        .chain(detached.iter().copied())
        .collect();
    for user_data in pending {
        let end = Cqe {
            user_data,
            res: -rustix::io::Errno::CANCELED.raw_os_error(),
            flags: 0,
        };
        deliver(
            &end,
            &mut table,
            &mut ring,
            &mut pool,
            &mut wakers,
            &mut stats,
        );
    }
    drop(live);
    drop(held);
    drop(accepts);
    pool.recycle(&mut ring);
    assert_eq!(
        table.live, 0,
        "every operation left the table at its final CQE"
    );
    assert_eq!(pool.lent(), 0, "every lent buffer came back");
    assert_eq!(
        ring.bufs.available(),
        usize::from(BUFS),
        "all buffers in the ring"
    );
    seen.cancels_pushed = ring.pushed;
    seen
}

/// A CQE as an adversarial kernel might post it.
fn arbitrary_cqe(
    input: &mut Input<'_>,
    live: &[Handle],
    detached: &[u64],
    stale: &[u64],
    table: &Table,
    accepts: &[Arc<dyn InFlight>],
) -> Cqe {
    let pick = |input: &mut Input<'_>, from: &[u64]| -> Option<u64> {
        (!from.is_empty()).then(|| from[usize::from(input.u8()) % from.len()])
    };
    let live_ids: Vec<u64> = live.iter().map(Handle::user_data).collect();
    let user_data = match input.u8() % 8 {
        0..=3 => pick(input, &live_ids),
        4 => pick(input, detached),
        5 => pick(input, stale),
        6 => Some([WAKE, CANCEL, CLOSE][usize::from(input.u8() % 3)]),
        _ => None,
    }
    .unwrap_or_else(|| input.u64());
    let mut res = match input.u8() % 6 {
        0 => 0,
        1 => i32::from(input.u8() % 80),
        2 => -rustix::io::Errno::CANCELED.raw_os_error(),
        3 => -rustix::io::Errno::NOBUFS.raw_os_error(),
        4 => -i32::from(input.u8()),
        _ => input.u32() as i32,
    };
    let mut flags = 0;
    if input.u8() % 3 == 0 {
        flags |= cqe_flags::MORE;
    }
    if input.u8() % 2 == 0 {
        let bid = match input.u8() % 4 {
            0 => input.u16(),
            _ => u16::from(input.u8()) % (BUFS + 2),
        };
        flags |= cqe_flags::BUFFER | u32::from(bid) << cqe_flags::BUFFER_SHIFT;
    }
    if input.u8() % 8 == 0 {
        flags |= input.u32() & !(cqe_flags::MORE | cqe_flags::BUFFER);
    }
    // An accept's success is a descriptor the kernel just made: open one.
    let is_accept = table
        .get(user_data)
        .is_some_and(|op| accepts.iter().any(|a| Arc::ptr_eq(a, op)));
    if is_accept && res >= 0 {
        res = fresh_fd();
    }
    Cqe {
        user_data,
        res,
        flags,
    }
}

/// A descriptor the harness owns, handed over as if the kernel had accepted it.
fn fresh_fd() -> i32 {
    rustix::event::eventfd(0, rustix::event::EventfdFlags::CLOEXEC)
        .expect("an eventfd for an accepted connection")
        .into_raw_fd()
}

fn deliver(
    cqe: &Cqe,
    table: &mut Table,
    ring: &mut FuzzRing,
    pool: &mut BufPool,
    wakers: &mut Vec<Waker>,
    stats: &mut UringStats,
) {
    let mut ctx = CqeCtx {
        ring,
        pool,
        wakers,
        defer: true,
    };
    let _ = handle_cqe(cqe, table, &mut ctx, stats);
}

/// The handle side taking a completed result; `true` if the operation is over for it.
fn take_result(h: &Handle, cx: &mut Context<'_>, held: &mut Vec<Lent>) -> bool {
    match h {
        Handle::Recv { cell, .. } => {
            let Poll::Ready(done) = cell.poll(cx) else {
                return false;
            };
            cell.with_payload(|p| {
                if let Some(lent) = p.lent.take() {
                    // What a reader does: look at the bytes, keep the buffer a while.
                    let _ = lent.bytes().iter().fold(0u8, |a, b| a ^ b);
                    held.push(lent);
                } else if let Ok(n) = ops::result(done) {
                    if !p.was_provided() {
                        // More than the buffer's room is an error, not a panic.
                        let _ = p.set_own_len(n);
                    }
                }
            });
            true
        }
        Handle::Accept { events, armed, .. } => {
            while let Ok(event) = events.try_recv() {
                drop(event);
            }
            !armed.is_armed()
        }
    }
}

/// The handle goes away (the driver keeps what is in flight until its final CQE).
fn drop_handle(h: Handle) {
    match h {
        Handle::Recv { cell, .. } => {
            let _ = cell.detach();
        }
        Handle::Accept { events, .. } => {
            // The listener is gone: its queue closes, connections still coming are closed.
            drop(events);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::completions;

    /// Deterministic inputs through the harness: a fixed-seed generator's bytes of many
    /// lengths (the fuzz target explores further).
    #[test]
    fn arbitrary_completions_break_nothing() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut total = super::Seen::default();
        for run in 0..2000 {
            let len = (next() % 512) as usize + run % 7;
            let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let s = completions(&data);
            total.lent += s.lent;
            total.accepted += s.accepted;
            total.ended += s.ended;
            total.unknown += s.unknown;
        }
        // The paths worth checking were all reached.
        assert!(total.lent > 100, "{total:?}");
        assert!(total.accepted > 100, "{total:?}");
        assert!(total.ended > 1000, "{total:?}");
        assert!(total.unknown > 1000, "{total:?}");
    }

    /// Found by the fuzz target: an accept's CQE with `res == i32::MIN` was negated
    /// (overflow); it is now an `EIO` error.
    #[test]
    fn an_accept_error_of_i32_min_is_eio_not_an_overflow() {
        completions(&[
            2, 3, 0, 1, 107, 3, 0, 5, 107, 107, 1, 107, 107, 107, 107, 107, 44, 44, 44, 44, 44, 44,
            44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 0, 0, 0, 209, 44, 44, 44, 107, 128, 2, 3, 0, 0,
            0, 0, 0, 0, 0, 44, 44, 44, 44, 2, 157, 0, 0, 0, 0, 209, 44, 44, 44, 107, 0, 0, 0, 128,
            2, 3, 0, 0, 0, 0, 0, 0, 0, 44, 9, 0, 0, 0, 2, 157, 0, 255, 38, 0,
        ]);
    }

    /// Every input the fuzz target kept (`fuzz/corpus/completions`, minimized with
    /// `-merge=1`), replayed.
    #[test]
    fn the_fuzz_corpus_replays() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/completions");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).expect("the corpus directory") {
            let data = std::fs::read(entry.expect("a corpus entry").path()).expect("a seed");
            completions(&data);
            n += 1;
        }
        assert!(n > 0, "no seed in {}", dir.display());
    }

    #[test]
    fn empty_and_short_inputs() {
        completions(&[]);
        completions(&[0]);
        completions(&[0, 3, 0, 0]);
        completions(&[2, 3, 0, 0, 0, 7, 0]);
    }
}
