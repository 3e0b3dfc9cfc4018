//! The io_uring driver: one ring per worker. Operations are pushed to the SQ while tasks
//! run and reach the kernel in one `io_uring_enter` per scheduler turn (the worker's
//! [`turn`](UringDriver::turn) or [`park`](UringDriver::park)); completions are matched to
//! their operation through the in-flight table and wake its task. Other threads wake a
//! parked worker through an eventfd that a multishot `POLL_ADD` keeps armed on the ring,
//! and cancel operations of this ring through its [`Remote`].
//!
//! # Safety
//!
//! Every SQE this driver submits names memory owned by an entry of the in-flight table
//! (`ops`), which holds a reference to it until the operation's final CQE, or names no
//! memory at all (cancels, the eventfd poll). When the driver is dropped it cancels what is
//! in flight and waits, bounded, for the final CQEs; entries still in flight after that are
//! leaked, never freed, so the kernel cannot write into freed memory.
#![allow(unsafe_code)]

pub(crate) mod accept;
pub(crate) mod buf;
pub(crate) mod file_ops;
#[cfg(any(test, fuzzing))]
pub(crate) mod fuzz;
pub(crate) mod limit;
pub(crate) mod op;
pub(crate) mod ops;
#[cfg(debug_assertions)]
pub(crate) mod sanitize;

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use hiver_sys::uring::{features, op as sqe, BufRing, Cqe, Ring, SetupOptions, Sqe};
use rustix::event::{eventfd, EventfdFlags};

use super::{DriverConfig, Unparker};
use crate::channel::{unbounded, Receiver, Sender};
use buf::BufPool;
use limit::Permit;

/// user_data of the waker poll: no operation slot ever has it.
const WAKE: u64 = u64::MAX;
/// user_data of cancel requests (their CQEs are counted by outcome).
const CANCEL: u64 = u64::MAX - 1;
/// user_data of close requests (their CQEs are ignored).
const CLOSE: u64 = u64::MAX - 2;
const POLLIN: u32 = 0x1;

/// The opcodes the driver issues: a kernel without one of them is refused (and `Auto`
/// falls back to epoll).
const NEEDED: &[u8] = &[
    hiver_sys::uring::opcode::NOP,
    hiver_sys::uring::opcode::POLL_ADD,
    hiver_sys::uring::opcode::ASYNC_CANCEL,
    hiver_sys::uring::opcode::ACCEPT,
    hiver_sys::uring::opcode::CONNECT,
    hiver_sys::uring::opcode::RECV,
    hiver_sys::uring::opcode::SEND,
    hiver_sys::uring::opcode::RECVMSG,
    hiver_sys::uring::opcode::SENDMSG,
];

/// The eventfd counter is drained once every this many wake-ups (each write posts a CQE
/// through the multishot poll whether or not the counter is drained, so draining on every
/// wake would only add a `read` syscall per wake).
const DRAIN_EVERY: u64 = 1024;

/// How long dropping a driver waits for the final CQEs of cancelled operations.
const DROP_GRACE: Duration = Duration::from_secs(1);

/// What handling a completion needs of the ring: the buffer ring whose buffer a receive's
/// CQE names, and room for an SQE (a multishot's cancel). The driver's [`Ring`], or the
/// fuzz harness's stand-in (`fuzz.rs`), which plays the kernel with arbitrary CQEs.
pub(crate) trait CqeRing {
    /// The buffer ring of group `bgid`, if set up.
    fn buf_ring(&mut self, bgid: u16) -> Option<&mut BufRing>;

    /// Queues `sqe`.
    ///
    /// # Safety
    ///
    /// As [`Ring::push`]: the memory `sqe` names stays valid until its final CQE.
    unsafe fn push(&mut self, sqe: &Sqe) -> io::Result<()>;
}

impl CqeRing for Ring {
    fn buf_ring(&mut self, bgid: u16) -> Option<&mut BufRing> {
        Ring::buf_ring(self, bgid)
    }

    unsafe fn push(&mut self, sqe: &Sqe) -> io::Result<()> {
        // SAFETY: forwarded from the caller.
        unsafe { Ring::push(self, sqe) }
    }
}

/// One CQE's view for an in-flight entry: the ring (to lend the buffer a receive filled)
/// and where to put wakers.
pub(crate) struct CqeCtx<'a> {
    pub(crate) ring: &'a mut dyn CqeRing,
    pub(crate) pool: &'a mut BufPool,
    wakers: &'a mut Vec<Waker>,
    defer: bool,
}

impl CqeCtx<'_> {
    /// Wakes now, or after the whole batch with `defer_wakeup`.
    pub(crate) fn wake(&mut self, w: Waker) {
        if self.defer {
            self.wakers.push(w);
        } else {
            w.wake();
        }
    }
}

/// An entry of the in-flight table.
pub(crate) trait InFlight: Send + Sync {
    /// Handles one CQE of this operation; `true` if it was the last, which is exactly when
    /// the CQE has no `MORE` (the driver has already taken the entry out of its table).
    fn on_cqe(&self, cqe: &Cqe, ctx: &mut CqeCtx<'_>) -> bool;
}

/// What other threads use to reach this ring: cancel requests.
pub(crate) struct Remote {
    cancels: Sender<u64>,
    unparker: Unparker,
}

impl Remote {
    /// Cancels the operation with `user_data` of this ring: at once when the calling thread
    /// owns the ring, else through the owner.
    pub(crate) fn cancel_from_anywhere(self: &Arc<Self>, user_data: u64) {
        let local = super::with_uring(|d| {
            let mine = Arc::ptr_eq(d.remote(), self);
            if mine {
                d.cancel(user_data);
            }
            mine
        });
        if local != Some(true) {
            self.cancel(user_data);
        }
    }

    /// Asks the owner to cancel the operation with `user_data` (from any thread).
    pub(crate) fn cancel(&self, user_data: u64) {
        // A closed channel: the driver is gone and cancelled everything already.
        if self.cancels.try_send(user_data).is_ok() {
            self.unparker.unpark();
        }
    }
}

struct Slot {
    generation: u32,
    op: Option<Arc<dyn InFlight>>,
    /// The operation's place under its socket's `max_ops_per_fd`, freed at its final CQE.
    permit: Option<Permit>,
}

/// The in-flight table: `user_data` = generation << 32 | index, so that a late cancel of
/// a finished operation never hits the next user of its slot.
#[derive(Default)]
struct Table {
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
}

impl Table {
    fn insert(&mut self, op: Arc<dyn InFlight>, permit: Option<Permit>) -> u64 {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    op: None,
                    permit: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.op = Some(op);
        slot.permit = permit;
        self.live += 1;
        u64::from(slot.generation) << 32 | u64::from(index)
    }

    fn get(&self, user_data: u64) -> Option<&Arc<dyn InFlight>> {
        let slot = self.slots.get((user_data & 0xffff_ffff) as usize)?;
        if u64::from(slot.generation) != user_data >> 32 {
            return None;
        }
        slot.op.as_ref()
    }

    fn remove(&mut self, user_data: u64) -> Option<Arc<dyn InFlight>> {
        let index = (user_data & 0xffff_ffff) as u32;
        let slot = self.slots.get_mut(index as usize)?;
        if u64::from(slot.generation) != user_data >> 32 {
            return None;
        }
        let op = slot.op.take()?;
        slot.permit = None;
        // Generations wrap after 2^32 uses of one slot; the slot's user_data then repeats,
        // long after any cancel naming its old use completed.
        slot.generation = slot.generation.wrapping_add(1);
        // The top generation would make user_data collide with WAKE/CANCEL/CLOSE: skip it.
        if slot.generation == u32::MAX {
            slot.generation = 0;
        }
        self.free.push(index);
        self.live -= 1;
        Some(op)
    }
}

/// Operation completions, on every io_uring driver of the process, whose result was
/// `-EFAULT`: the kernel found an address the operation named unmapped or protected. The
/// driver only names memory it keeps alive until the final CQE, so this stays 0; a test
/// whose allocator protects freed memory (`tests/fence`) reads it through
/// [`RuntimeMetrics::io_efault_completions`](crate::RuntimeMetrics::io_efault_completions).
pub(crate) static EFAULT_COMPLETIONS: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(0);

/// Counters of the driver, read into the worker's metrics.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct UringStats {
    pub(crate) submitted: u64,
    pub(crate) completions: u64,
    pub(crate) in_flight: u64,
    pub(crate) cancels: u64,
    pub(crate) cancels_done: u64,
    pub(crate) cancels_late: u64,
    pub(crate) starved: u64,
    pub(crate) overflow: u64,
    /// The most completions taken in one go.
    pub(crate) max_batch: u64,
}

pub(crate) struct UringDriver {
    ring: Ring,
    eventfd: Arc<OwnedFd>,
    wake_armed: bool,
    wakes: u64,
    ops: Table,
    pool: BufPool,
    remote: Arc<Remote>,
    cancels: Receiver<u64>,
    cqes: Vec<Cqe>,
    wakers: Vec<Waker>,
    defer_wakeup: bool,
    submit_wait: bool,
    stats: UringStats,
    /// The opcodes this kernel supports (file operations check theirs before submitting).
    probe: hiver_sys::uring::Probe,
}

impl UringDriver {
    pub(crate) fn new(config: &DriverConfig) -> io::Result<UringDriver> {
        let opts = SetupOptions::default()
            .defer_taskrun(config.defer_wakeup)
            .register_ring_fd(true);
        let ring = Ring::new(config.entries, &opts)?;
        if ring.features() & features::EXT_ARG == 0 {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "io_uring lacks IORING_FEAT_EXT_ARG (needs Linux 5.11)",
            ));
        }
        let probe = ring.probe()?;
        #[cfg(test)]
        let probe = match config.fake_missing_op {
            Some(gone) => {
                let ops: Vec<u8> = probe.supported().filter(|&op| op != gone).collect();
                hiver_sys::uring::Probe::from_ops(probe.last_op(), &ops)
            }
            None => probe,
        };
        if let Some(op) = probe.first_missing(NEEDED) {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("io_uring lacks opcode {op}, which the driver needs"),
            ));
        }
        let eventfd = Arc::new(eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?);
        let (tx, rx) = unbounded();
        let mut d = UringDriver {
            ring,
            remote: Arc::new(Remote {
                cancels: tx,
                unparker: Unparker::EventFd(eventfd.clone()),
            }),
            eventfd,
            wake_armed: false,
            wakes: 0,
            ops: Table::default(),
            #[cfg(not(test))]
            pool: BufPool::new(),
            #[cfg(test)]
            pool: BufPool::with_count(config.test_buffers.unwrap_or(buf::COUNT)),
            cancels: rx,
            cqes: Vec::with_capacity(64),
            wakers: Vec::new(),
            defer_wakeup: config.defer_wakeup,
            submit_wait: config.submit_wait,
            stats: UringStats::default(),
            probe,
        };
        d.arm_wake()?;
        d.ring.submit()?;
        tracing::debug!(
            flags = format_args!("{:#x}", d.ring.setup_flags()),
            entries = d.ring.entries(),
            "io_uring driver ready"
        );
        Ok(d)
    }

    /// What the ring was granted.
    pub(crate) fn capabilities(&self) -> super::Capabilities {
        super::Capabilities {
            driver: super::DriverType::IOUring,
            setup_flags: self.ring.setup_flags(),
            features: self.ring.features(),
            sq_entries: self.ring.entries(),
            cq_entries: self.ring.cq_entries(),
            buffer_ring: Some((self.pool.count(), buf::BUF_LEN)),
            fallback: None,
        }
    }

    /// Whether submissions wait for a completion in the same enter (`submit_wait`).
    pub(crate) fn submit_wait(&self) -> bool {
        self.submit_wait
    }

    /// Whether the kernel supports opcode `op`.
    pub(crate) fn supports(&self, op: u8) -> bool {
        self.probe.is_supported(op)
    }

    /// Replaces the probe (tests: a kernel without some opcode).
    #[cfg(test)]
    pub(crate) fn set_probe(&mut self, probe: hiver_sys::uring::Probe) {
        self.probe = probe;
    }

    pub(crate) fn remote(&self) -> &Arc<Remote> {
        &self.remote
    }

    pub(crate) fn stats(&mut self) -> UringStats {
        UringStats {
            in_flight: self.ops.live as u64,
            starved: self.pool.starved,
            // Backlog flushes (the CQ was full; with FEAT_NODROP nothing is lost) and
            // completions the kernel dropped (without NODROP).
            overflow: self.ring.overflow_flushes() + u64::from(self.ring.cq().overflow()),
            ..self.stats
        }
    }

    pub(crate) fn pool(&mut self) -> (&mut BufPool, &mut Ring) {
        (&mut self.pool, &mut self.ring)
    }

    /// Pushes one SQE, submitting first when the SQ is full. Never drops it.
    ///
    /// # Safety
    ///
    /// The memory `sqe` names must stay valid until the operation's final CQE (the caller
    /// keeps it in an in-flight entry) or until the SQE is consumed, for memory the kernel
    /// copies at submission.
    pub(crate) unsafe fn push(&mut self, sqe: &Sqe) -> io::Result<()> {
        loop {
            // SAFETY: forwarded from the caller.
            match unsafe { self.ring.push(sqe) } {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // A full SQ: hand it to the kernel, and take completions out of the
                    // way if the kernel pushes back.
                    match self.ring.submit() {
                        Ok(_) => {}
                        Err(e) if is_busy(&e) => self.process()?,
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Starts operation `op`: enters it in the table and pushes the SQE `prep` builds
    /// (given the operation's user_data). Returns the user_data.
    ///
    /// # Safety
    ///
    /// Every pointer in the SQE must point into memory `op` owns (kept until its final
    /// CQE), or into memory the kernel copies at submission that lives until `push` returns.
    pub(crate) unsafe fn start(
        &mut self,
        op: Arc<dyn InFlight>,
        sqe: Sqe,
        permit: Option<Permit>,
    ) -> io::Result<u64> {
        let user_data = self.ops.insert(op, permit);
        let sqe = sqe.user_data(user_data);
        // SAFETY: forwarded from the caller; the table holds `op` until the final CQE.
        if let Err(e) = unsafe { self.push(&sqe) } {
            self.ops.remove(user_data);
            return Err(e);
        }
        self.stats.submitted += 1;
        Ok(user_data)
    }

    /// Closes `fd` through the ring (after whatever is queued before it), or gives it back
    /// when the SQ cannot take it.
    pub(crate) fn close(&mut self, fd: OwnedFd) -> Result<(), OwnedFd> {
        let sqe = sqe::close(fd.as_raw_fd()).user_data(CLOSE);
        // SAFETY: a close names no memory; the fd's ownership passes to the kernel's close
        // below, once the SQE is queued.
        match unsafe { self.push(&sqe) } {
            Ok(()) => {
                let _ = std::os::fd::IntoRawFd::into_raw_fd(fd);
                Ok(())
            }
            Err(_) => Err(fd),
        }
    }

    /// Asks the kernel to cancel the operation with `user_data` (this thread only).
    pub(crate) fn cancel(&mut self, user_data: u64) {
        if self.ops.get(user_data).is_none() {
            return;
        }
        let sqe = sqe::async_cancel(user_data, 0).user_data(CANCEL);
        self.stats.cancels += 1;
        // SAFETY: a cancel names no memory.
        if let Err(e) = unsafe { self.push(&sqe) } {
            tracing::error!(error = %e, "could not submit an io_uring cancel");
        }
    }

    fn arm_wake(&mut self) -> io::Result<()> {
        if !self.wake_armed {
            let sqe = sqe::poll_add_multi(self.eventfd.as_raw_fd(), POLLIN).user_data(WAKE);
            // SAFETY: a poll names no memory; the eventfd lives as long as the ring (both in
            // self, and the ring is dropped, cancelling the poll, before the Arc's last use).
            unsafe { self.push(&sqe) }?;
            self.wake_armed = true;
        }
        Ok(())
    }

    pub(crate) fn unparker(&self) -> Unparker {
        Unparker::EventFd(self.eventfd.clone())
    }

    /// Work to do before entering: buffers readers gave back, cancels from other threads,
    /// the waker poll.
    fn prepare(&mut self) -> io::Result<()> {
        self.pool.recycle(&mut self.ring);
        while let Ok(user_data) = self.cancels.try_recv() {
            self.cancel(user_data);
        }
        self.arm_wake()
    }

    /// Blocks until a completion, an unpark, or the timeout; submits what is queued in the
    /// same enter.
    pub(crate) fn park(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.prepare()?;
        match timeout {
            Some(t) if t.is_zero() => self.ring.submit().map(drop)?,
            Some(t) => self.ring.submit_and_wait_timeout(1, t).map(drop)?,
            None => self.ring.submit_and_wait(1).map(drop)?,
        }
        self.process()
    }

    /// Between two batches of tasks: submits what they queued and takes the completions
    /// that are ready, without waiting (no kernel entry when there is nothing to submit and
    /// no task work pending).
    pub(crate) fn turn(&mut self) -> io::Result<()> {
        self.prepare()?;
        self.ring.submit()?;
        self.process()
    }

    /// Handles every ready CQE.
    fn process(&mut self) -> io::Result<()> {
        let mut cqes = std::mem::take(&mut self.cqes);
        let reaped = self.ring.reap(|c| cqes.push(c));
        self.stats.max_batch = self.stats.max_batch.max(cqes.len() as u64);
        let mut woke = 0;
        let mut rearm = false;
        for cqe in cqes.drain(..) {
            let mut ctx = CqeCtx {
                ring: &mut self.ring,
                pool: &mut self.pool,
                wakers: &mut self.wakers,
                defer: self.defer_wakeup,
            };
            if let Some(more) = handle_cqe(&cqe, &mut self.ops, &mut ctx, &mut self.stats) {
                woke += 1;
                rearm |= !more;
            }
        }
        self.cqes = cqes;
        for w in self.wakers.drain(..) {
            w.wake();
        }
        if woke > 0 {
            let before = self.wakes;
            self.wakes += woke;
            // A poll that ended (no MORE) is re-armed on a drained counter; otherwise the
            // counter is only drained now and then, keeping it far from overflow.
            if rearm || before / DRAIN_EVERY != self.wakes / DRAIN_EVERY {
                let mut buf = [0u8; 8];
                // EAGAIN: already drained.
                let _ = rustix::io::read(&*self.eventfd, &mut buf);
            }
        }
        if rearm {
            self.wake_armed = false;
        }
        reaped.map(drop)
    }

    pub(crate) fn kernel_entries(&self) -> u64 {
        self.ring.enter_count()
    }
}

/// Handles one CQE: counts a cancel's, ignores a close's, hands an operation's to its
/// in-flight entry (taking the entry out of the table at its final CQE). For the waker
/// poll's CQE returns `Some(more)`, the caller counting the wake-up. Whatever the kernel
/// put in it (an unknown or stale `user_data`, any flags, any buffer id), nothing panics
/// and nothing of another operation is touched: `fuzz.rs` drives this with arbitrary CQEs.
fn handle_cqe(
    cqe: &Cqe,
    ops: &mut Table,
    ctx: &mut CqeCtx<'_>,
    stats: &mut UringStats,
) -> Option<bool> {
    match cqe.user_data {
        WAKE => return Some(cqe.more()),
        CANCEL => {
            // 0: the operation was found and cancelled; -ENOENT/-EALREADY: it had
            // completed or was running (its result then stands).
            if cqe.res == 0 {
                stats.cancels_done += 1;
            } else {
                stats.cancels_late += 1;
            }
        }
        CLOSE => {}
        ud => {
            stats.completions += 1;
            if cqe.res == -rustix::io::Errno::FAULT.raw_os_error() {
                EFAULT_COMPLETIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::error!(
                    user_data = ud,
                    "io_uring completion with EFAULT: an operation named memory that was gone"
                );
            }
            // The last CQE of an operation (no MORE) takes it out of the table; a
            // multishot's others leave it there.
            let op = if cqe.more() {
                ops.get(ud).cloned()
            } else {
                ops.remove(ud)
            };
            let Some(op) = op else {
                tracing::error!(
                    user_data = ud,
                    "io_uring completion for no operation in flight"
                );
                return None;
            };
            let last = op.on_cqe(cqe, ctx);
            debug_assert_eq!(
                last,
                !cqe.more(),
                "an operation ends on its CQE without MORE"
            );
        }
    }
    None
}

/// `EBUSY`/`EAGAIN` from a submit: the kernel wants completions reaped first.
fn is_busy(e: &io::Error) -> bool {
    let busy = [rustix::io::Errno::BUSY, rustix::io::Errno::AGAIN].map(|e| e.raw_os_error());
    e.raw_os_error().is_some_and(|c| busy.contains(&c))
}

impl Drop for UringDriver {
    fn drop(&mut self) {
        // Hand the kernel what is queued (closes of sockets dropped at shutdown among it),
        // cancel everything in flight, then wait (bounded) for the final CQEs, so that the
        // memory operations name can be freed.
        self.cancels.close();
        if let Err(e) = self.ring.submit().and_then(|_| self.process()) {
            tracing::error!(error = %e, "io_uring submit at shutdown failed");
        }
        if self.ops.live > 0 {
            let sqe = sqe::async_cancel(0, hiver_sys::uring::cancel_flags::ANY).user_data(CANCEL);
            // SAFETY: a cancel names no memory.
            if unsafe { self.push(&sqe) }.is_ok() {
                let deadline = Instant::now() + DROP_GRACE;
                while self.ops.live > 0 {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    if self.ring.submit_and_wait_timeout(1, left).is_err()
                        || self.process().is_err()
                    {
                        break;
                    }
                }
            }
        }
        if self.ops.live > 0 {
            tracing::warn!(
                in_flight = self.ops.live,
                "io_uring operations did not finish at shutdown: their memory is leaked"
            );
            for slot in self.ops.slots.drain(..) {
                std::mem::forget(slot.op);
            }
        }
        self.pool.close(&mut self.ring);
    }
}
