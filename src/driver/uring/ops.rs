//! The operations sockets submit, each with the memory the kernel uses kept in its cell
//! (`payload`), and [`UringOp`], the handle a future or a socket holds.
//!
//! # Safety
//!
//! Each `start_*` function builds its SQE from pointers into the payload of a cell that the
//! in-flight table keeps until the final CQE (see `op.rs`); the payload is heap-allocated
//! inside an `Arc`, so those pointers stay valid wherever the handle moves. Self-referential
//! pointers (a message header naming the address and iovec beside it) are set after the
//! cell is allocated.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::task::{Context, Poll};

use hiver_sys::sockaddr::SockAddrBuf;
use hiver_sys::uring::op::{self as sqe, MsgHdr};
use hiver_sys::uring::{cqe_flags, Cqe, Sqe};

use super::buf::{Lent, BUF_LEN};
use super::limit::Permit;
use super::op::{Completed, Completion, Detached, OpCell, Payload};
#[cfg(debug_assertions)]
use super::sanitize::{self, Regions};
use super::{CqeCtx, InFlight, Remote, UringDriver};

/// `MSG_NOSIGNAL`: a send to a closed peer is `EPIPE`, never `SIGPIPE`.
pub(crate) const MSG_NOSIGNAL: u32 = 0x4000;
/// `MSG_TRUNC` in a received message's flags.
pub(crate) const MSG_TRUNC: i32 = 0x20;

/// A payload that may record what a completion lent it.
pub(crate) trait UringPayload: Payload {
    /// On the driver thread, at the final CQE, before the handle can see it.
    fn fill(&mut self, _done: &Completion, _ctx: &mut CqeCtx<'_>) {}

    /// Debug builds: adds the heap memory this payload owns that an SQE may name (the
    /// payload's own bytes in the cell count without it), for the submit-time check
    /// (`sanitize.rs`).
    #[cfg(debug_assertions)]
    fn regions(&self, _regions: &mut Regions) {}
}

impl<T: UringPayload> InFlight for OpCell<T> {
    fn on_cqe(&self, cqe: &Cqe, ctx: &mut CqeCtx<'_>) -> bool {
        if cqe.more() {
            // Single-shot operations post one CQE; a MORE here is not final.
            return false;
        }
        let done = Completion {
            res: cqe.res,
            flags: cqe.flags,
        };
        match self.complete(done, |p| p.fill(&done, ctx)) {
            Completed::Released | Completed::Wake(None) => {}
            Completed::Wake(Some(w)) => ctx.wake(w),
        }
        true
    }
}

/// The handle of one operation in flight on a ring.
pub(crate) struct UringOp<T: UringPayload> {
    cell: Arc<OpCell<T>>,
    user_data: u64,
    remote: Arc<Remote>,
    /// Dropping the handle leaves the operation running instead of cancelling it.
    keep_running: bool,
}

impl<T: UringPayload> UringOp<T> {
    /// Enters `payload` in `driver`'s table and pushes the SQE `prep` builds from it.
    ///
    /// # Safety
    ///
    /// `prep` must return an SQE whose pointers point into the payload it is given, or into
    /// memory the kernel copies at submission and that outlives this call.
    pub(super) unsafe fn start(
        driver: &mut UringDriver,
        payload: T,
        permit: Option<Permit>,
        prep: impl FnOnce(&mut T) -> Sqe,
    ) -> io::Result<UringOp<T>> {
        let cell = Arc::new(OpCell::new(payload));
        // SAFETY: nobody else sees the cell before it is entered in the table; the pointer
        // is the Arc's, stable for the cell's life.
        let sqe = prep(unsafe { &mut *cell.payload_ptr() });
        // Debug builds: every address the SQE names is inside this payload.
        #[cfg(debug_assertions)]
        {
            let payload = cell.payload_ptr();
            let mut regions = Regions::of(payload);
            // SAFETY: as above, the payload is still ours alone.
            unsafe { &*payload }.regions(&mut regions);
            sanitize::assert_sqe_in(&regions, &sqe);
        }
        // SAFETY: forwarded: the SQE names the payload, which the table keeps until the
        // final CQE.
        let user_data = unsafe { driver.start(cell.clone(), sqe, permit) }?;
        Ok(UringOp {
            cell,
            user_data,
            remote: driver.remote().clone(),
            keep_running: false,
        })
    }

    /// Dropping this handle will not cancel the operation (a send already promised to
    /// the caller); the driver still keeps its memory until the final CQE.
    pub(crate) fn keep_running(&mut self) {
        self.keep_running = true;
    }

    /// The completion, once it came.
    pub(crate) fn poll(&self, cx: &mut Context<'_>) -> Poll<Completion> {
        self.cell.poll(cx)
    }

    /// Whether the completion came.
    pub(crate) fn is_complete(&self) -> bool {
        self.cell.is_complete()
    }

    /// The payload, after `poll` returned `Ready`.
    pub(crate) fn with_payload<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        self.cell.with_payload(f)
    }

    /// Asks for cancellation (once); the handle stays and still sees the final CQE.
    pub(crate) fn cancel(&self) {
        if self.cell.cancel() {
            self.request_cancel();
        }
    }

    fn request_cancel(&self) {
        self.remote.cancel_from_anywhere(self.user_data);
    }
}

impl<T: UringPayload> Drop for UringOp<T> {
    fn drop(&mut self) {
        if let Detached::InFlight { cancel: true } = self.cell.detach() {
            if !self.keep_running {
                self.request_cancel();
            }
        }
    }
}

impl<T: UringPayload> std::fmt::Debug for UringOp<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UringOp")
            .field("user_data", &self.user_data)
            .field("complete", &self.is_complete())
            .finish()
    }
}

/// Marks `n` bytes the kernel wrote into `buf`'s spare capacity as part of it; an error
/// (never a panic, never bytes past the capacity) if the completion claims more than it
/// was given.
pub(crate) fn filled(buf: &mut Vec<u8>, n: usize) -> io::Result<()> {
    let len = buf.len().saturating_add(n);
    if len > buf.capacity() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "io_uring completion reports {n} bytes for a buffer with room for {}",
                buf.capacity() - buf.len()
            ),
        ));
    }
    // SAFETY: the kernel wrote `n` bytes into the spare capacity (the completion says so),
    // and `len` is within the capacity.
    unsafe { buf.set_len(len) };
    Ok(())
}

/// The error a negative `res` stands for.
pub(crate) fn result(done: Completion) -> io::Result<usize> {
    if done.res >= 0 {
        Ok(done.res as usize)
    } else {
        Err(errno(done.res))
    }
}

/// The error of a negative `res`: -errno in -4095..=-1 for every opcode we issue; anything
/// else is a bug of the kernel's, reported as `EIO` rather than negated (`i32::MIN`
/// cannot be).
pub(crate) fn errno(res: i32) -> io::Error {
    io::Error::from_raw_os_error(
        res.checked_neg()
            .unwrap_or(rustix::io::Errno::IO.raw_os_error()),
    )
}

/// A receive: into a provided buffer (`lent` after completion) or into `own`'s spare
/// capacity.
#[derive(Debug, Default)]
pub(crate) struct Recv {
    pub(crate) lent: Option<Lent>,
    pub(crate) own: Vec<u8>,
    provided: bool,
}

impl Payload for Recv {
    fn release(&mut self, _: Completion) {
        self.lent = None;
    }
}

impl UringPayload for Recv {
    #[cfg(debug_assertions)]
    fn regions(&self, regions: &mut Regions) {
        regions.add_vec(&self.own);
    }

    fn fill(&mut self, done: &Completion, ctx: &mut CqeCtx<'_>) {
        if !self.provided || done.flags & cqe_flags::BUFFER == 0 {
            return;
        }
        let bid = (done.flags >> cqe_flags::BUFFER_SHIFT) as u16;
        let len = done.res.max(0) as u32;
        self.lent = ctx.pool.lend(ctx.ring, bid, len);
    }
}

/// Receives up to `max` bytes from `fd` into a buffer of the worker's pool (or, without
/// one, into a buffer of its own).
pub(crate) fn recv_provided(
    driver: &mut UringDriver,
    fd: RawFd,
    max: usize,
    permit: Option<Permit>,
) -> io::Result<UringOp<Recv>> {
    let max = max.clamp(1, BUF_LEN as usize) as u32;
    let (pool, ring) = driver.pool();
    match pool.group(ring) {
        Some(group) => {
            let payload = Recv {
                provided: true,
                ..Recv::default()
            };
            // SAFETY: a provided-buffer receive names no memory of ours.
            unsafe {
                UringOp::start(driver, payload, permit, |_| {
                    sqe::recv_provided(fd, group, max, 0)
                })
            }
        }
        None => recv_into(driver, fd, Vec::with_capacity(max as usize), permit),
    }
}

/// Receives into `buf`'s spare capacity (the owned-buffer path, and the fallback when the
/// pool is empty).
pub(crate) fn recv_into(
    driver: &mut UringDriver,
    fd: RawFd,
    buf: Vec<u8>,
    permit: Option<Permit>,
) -> io::Result<UringOp<Recv>> {
    let payload = Recv {
        own: buf,
        ..Recv::default()
    };
    // SAFETY: the SQE names `own`'s spare capacity, inside the payload.
    unsafe {
        UringOp::start(driver, payload, permit, |p| {
            let spare = p.own.spare_capacity_mut();
            sqe::recv(fd, spare.as_mut_ptr().cast(), spare.len(), 0)
        })
    }
}

impl Recv {
    /// A receive into a provided buffer (the fuzz harness's: the driver's are made by
    /// [`recv_provided`]).
    #[cfg(any(test, fuzzing))]
    pub(crate) fn provided() -> Recv {
        Recv {
            provided: true,
            ..Recv::default()
        }
    }

    /// After completion: marks `n` received bytes of `own` initialized.
    pub(crate) fn set_own_len(&mut self, n: usize) -> io::Result<()> {
        filled(&mut self.own, n)
    }

    /// Whether this receive used the pool.
    pub(crate) fn was_provided(&self) -> bool {
        self.provided
    }
}

/// What a socket wants done when a send of its own completes (a write-side shutdown asked
/// for while the send was in flight). Holding it also keeps the socket, and so its fd, open
/// until then.
pub(crate) trait AfterSend: std::marker::Send + Sync {
    /// Called on the driver's thread at the send's final CQE.
    fn after_send(&self);
}

/// A send of `data`.
pub(crate) struct Send {
    pub(crate) data: Vec<u8>,
    after: Option<Arc<dyn AfterSend>>,
}

impl std::fmt::Debug for Send {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Send")
            .field("len", &self.data.len())
            .finish_non_exhaustive()
    }
}

impl Payload for Send {
    fn release(&mut self, _: Completion) {}
}

impl Drop for Send {
    fn drop(&mut self) {
        super::buf::send_bufs::give(std::mem::take(&mut self.data));
    }
}

impl UringPayload for Send {
    #[cfg(debug_assertions)]
    fn regions(&self, regions: &mut Regions) {
        regions.add_vec(&self.data);
    }

    fn fill(&mut self, _: &Completion, _: &mut CqeCtx<'_>) {
        if let Some(a) = self.after.take() {
            a.after_send();
        }
    }
}

/// `MSG_WAITALL`: a stream send is retried by the kernel until every byte went (or an
/// error), so its success means all of `data`.
pub(crate) const MSG_WAITALL: u32 = 0x100;

/// Sends `data` (at most `MAX_RW_COUNT` of it) on `fd`. With `after`, a send that the
/// writer does not wait for: the kernel retries it until all is sent, and `after` runs at
/// its end.
pub(crate) fn send(
    driver: &mut UringDriver,
    fd: RawFd,
    data: Vec<u8>,
    after: Option<Arc<dyn AfterSend>>,
    permit: Option<Permit>,
) -> io::Result<UringOp<Send>> {
    let flags = MSG_NOSIGNAL | if after.is_some() { MSG_WAITALL } else { 0 };
    // SAFETY: the SQE names `data`, inside the payload.
    unsafe {
        UringOp::start(driver, Send { data, after }, permit, |p| {
            sqe::send(fd, p.data.as_ptr(), p.data.len(), flags)
        })
    }
}

/// A connect to `addr`.
#[derive(Debug)]
pub(crate) struct Connect {
    addr: SockAddrBuf,
}

impl Payload for Connect {
    fn release(&mut self, _: Completion) {}
}
impl UringPayload for Connect {}

/// Connects `fd` to `addr` (any family).
pub(crate) fn connect(
    driver: &mut UringDriver,
    fd: RawFd,
    addr: SockAddrBuf,
    permit: Option<Permit>,
) -> io::Result<UringOp<Connect>> {
    let payload = Connect { addr };
    // SAFETY: the SQE names the address inside the payload.
    unsafe {
        UringOp::start(driver, payload, permit, |p| {
            sqe::connect(fd, p.addr.as_ptr(), p.addr.len())
        })
    }
}

/// `struct iovec`.
#[repr(C)]
#[derive(Debug)]
struct IoVec {
    base: *mut u8,
    len: usize,
}

const _: () =
    assert!(std::mem::size_of::<IoVec>() == std::mem::size_of::<std::io::IoSliceMut<'static>>());

/// A datagram received for a `recv_from` that was dropped, kept for the next one: the
/// bytes, the source (length 0 for an unnamed one), and whether the kernel truncated it.
pub(crate) type Kept = (Vec<u8>, SockAddrBuf, bool);

/// A datagram message: `recvmsg` (address and data written by the kernel) or `sendmsg`.
pub(crate) struct Msg {
    pub(crate) addr: SockAddrBuf,
    pub(crate) data: Vec<u8>,
    hdr: MsgHdr,
    iov: IoVec,
    /// Where a received datagram goes if nobody takes it.
    keep: Option<crate::channel::Sender<Kept>>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Msg")
            .field("addr", &self.addr)
            .field("len", &self.data.len())
            .finish_non_exhaustive()
    }
}

// SAFETY: the raw pointers in `hdr` and `iov` point into this same payload (module docs);
// they move with it and are used only by the kernel and under the cell's protocol.
unsafe impl std::marker::Send for Msg {}

impl Payload for Msg {
    fn release(&mut self, done: Completion) {
        if let (Some(keep), Ok(n)) = (self.keep.take(), result(done)) {
            self.finish_recv(n);
            let kept = (
                std::mem::take(&mut self.data),
                self.addr.clone(),
                self.truncated(),
            );
            // A closed channel: the socket is gone, and the datagram with it.
            let _ = keep.try_send(kept);
        }
    }
}
impl UringPayload for Msg {
    #[cfg(debug_assertions)]
    fn regions(&self, regions: &mut Regions) {
        regions.add_vec(&self.data);
    }
}

impl Msg {
    /// Whether the received datagram was longer than the buffer.
    pub(crate) fn truncated(&self) -> bool {
        self.hdr.flags & MSG_TRUNC != 0
    }

    /// After a `recvmsg` was taken by its handle: nothing to keep.
    pub(crate) fn taken(&mut self) {
        self.keep = None;
    }

    /// After a `recvmsg`: the `n` bytes received are initialized; the address length is set.
    pub(crate) fn finish_recv(&mut self, n: usize) {
        let n = n.min(self.data.capacity());
        // SAFETY: the kernel wrote `n` bytes (at most the capacity it was given).
        unsafe { self.data.set_len(n) };
        self.addr.set_len(self.hdr.namelen);
    }

    fn point(&mut self, to_kernel: bool) {
        self.iov = IoVec {
            base: self.data.as_mut_ptr(),
            len: if to_kernel {
                self.data.len()
            } else {
                self.data.capacity()
            },
        };
        self.hdr = MsgHdr {
            name: self.addr.as_mut_ptr(),
            namelen: if to_kernel {
                self.addr.len()
            } else {
                SockAddrBuf::new().len()
            },
            iov: (&mut self.iov as *mut IoVec).cast(),
            iovlen: 1,
            ..MsgHdr::default()
        };
    }
}

/// Receives one datagram of at most `cap` bytes from `fd`, with its source address.
pub(crate) fn recv_msg(
    driver: &mut UringDriver,
    fd: RawFd,
    cap: usize,
    keep: crate::channel::Sender<Kept>,
    permit: Option<Permit>,
) -> io::Result<UringOp<Msg>> {
    let payload = Msg {
        addr: SockAddrBuf::new(),
        data: Vec::with_capacity(cap),
        hdr: MsgHdr::default(),
        iov: IoVec {
            base: std::ptr::null_mut(),
            len: 0,
        },
        keep: Some(keep),
    };
    // SAFETY: the header, the iovec and the buffers it names are all inside the payload.
    unsafe {
        UringOp::start(driver, payload, permit, |p| {
            p.point(false);
            sqe::recvmsg(fd, &mut p.hdr, 0)
        })
    }
}

/// `MSG_DONTWAIT`: the ring answers `EAGAIN` instead of retrying the operation itself.
pub(crate) const MSG_DONTWAIT: u32 = 0x40;

/// Sends `data` as one datagram to `addr` (or to the connected peer when `None`). With
/// `dontwait`, a send that would block completes with `EAGAIN`, having sent nothing.
pub(crate) fn send_msg(
    driver: &mut UringDriver,
    fd: RawFd,
    data: Vec<u8>,
    addr: Option<SockAddrBuf>,
    dontwait: bool,
    permit: Option<Permit>,
) -> io::Result<UringOp<Msg>> {
    let flags = MSG_NOSIGNAL | if dontwait { MSG_DONTWAIT } else { 0 };
    let named = addr.is_some();
    let addr = addr.unwrap_or_default();
    let payload = Msg {
        addr,
        data,
        hdr: MsgHdr::default(),
        iov: IoVec {
            base: std::ptr::null_mut(),
            len: 0,
        },
        keep: None,
    };
    // SAFETY: the header, the iovec and the buffers it names are all inside the payload.
    unsafe {
        UringOp::start(driver, payload, permit, |p| {
            p.point(true);
            if !named {
                p.hdr.name = std::ptr::null_mut();
                p.hdr.namelen = 0;
            }
            sqe::sendmsg(fd, &p.hdr, flags)
        })
    }
}

/// Arms a multishot accept on `listener` feeding `events`.
pub(crate) fn accept_multishot(
    driver: &mut UringDriver,
    fd: RawFd,
    accept: Arc<super::accept::MultishotAccept>,
) -> io::Result<u64> {
    const SOCK_CLOEXEC: u32 = 0o2000000;
    let sqe = sqe::accept_multishot(fd, SOCK_CLOEXEC);
    #[cfg(debug_assertions)]
    sanitize::assert_sqe_in(&Regions::default(), &sqe);
    // SAFETY: a multishot accept without an address buffer names no memory.
    unsafe { driver.start(accept, sqe, None) }
}
