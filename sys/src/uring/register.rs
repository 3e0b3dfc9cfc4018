//! `io_uring_register` calls: registered files, an eventfd for completions, the ring fd
//! itself, and provided-buffer rings.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use rustix::io_uring::{
    io_uring_buf_reg, io_uring_ptr, io_uring_register, io_uring_rsrc_update, IoringRegisterOp,
};

use super::buf_ring::BufRing;
use super::mmap::step_error;
use super::Ring;

impl Ring {
    fn register(
        &self,
        op: IoringRegisterOp,
        arg: *const std::ffi::c_void,
        nr: u32,
        step: &str,
    ) -> io::Result<u32> {
        // The kernel keeps no pointer to `arg` except for buffer rings, whose memory the
        // Ring keeps until unregistered.
        // SAFETY: every caller passes `arg` pointing to what `op` reads or writes, live.
        unsafe { io_uring_register(self.as_fd(), op, arg, nr) }
            .map_err(|e| step_error(e.into(), step))
    }

    /// Registers a file table (`IORING_REGISTER_FILES`): `fds[i]` becomes fixed file `i`
    /// (use [`Sqe::fixed_file`](super::Sqe::fixed_file)); -1 leaves a slot empty (sparse).
    ///
    /// # Errors
    ///
    /// The kernel's errno (`EBUSY`: a table is registered already; `EMFILE`: too many).
    pub fn register_files(&mut self, fds: &[RawFd]) -> io::Result<()> {
        let n =
            u32::try_from(fds.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        self.register(
            IoringRegisterOp::RegisterFiles,
            fds.as_ptr().cast(),
            n,
            "IORING_REGISTER_FILES",
        )
        .map(drop)
    }

    /// Replaces fixed-file slots from `offset` on with `fds` (-1 clears a slot); returns how
    /// many were updated.
    ///
    /// # Errors
    ///
    /// The kernel's errno (`ENXIO`: no table registered; `EINVAL`: out of range).
    pub fn update_files(&mut self, offset: u32, fds: &[RawFd]) -> io::Result<u32> {
        let n =
            u32::try_from(fds.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let mut up = io_uring_rsrc_update::default();
        up.offset = offset;
        up.data = io_uring_ptr::new(fds.as_ptr().cast_mut().cast());
        self.register(
            IoringRegisterOp::RegisterFilesUpdate,
            (&up as *const io_uring_rsrc_update).cast(),
            n,
            "IORING_REGISTER_FILES_UPDATE",
        )
    }

    /// Drops the registered file table.
    ///
    /// # Errors
    ///
    /// `ENXIO` when none is registered.
    pub fn unregister_files(&mut self) -> io::Result<()> {
        self.register(
            IoringRegisterOp::UnregisterFiles,
            std::ptr::null(),
            0,
            "IORING_UNREGISTER_FILES",
        )
        .map(drop)
    }

    /// Makes the kernel signal `eventfd` for each completion (`IORING_REGISTER_EVENTFD`).
    ///
    /// # Errors
    ///
    /// The kernel's errno (`EBUSY`: one is registered already).
    pub fn register_eventfd(&mut self, eventfd: BorrowedFd<'_>) -> io::Result<()> {
        let fd: i32 = eventfd.as_raw_fd();
        self.register(
            IoringRegisterOp::RegisterEventfd,
            (&fd as *const i32).cast(),
            1,
            "IORING_REGISTER_EVENTFD",
        )
        .map(drop)
    }

    /// Removes the registered eventfd.
    ///
    /// # Errors
    ///
    /// `ENXIO` when none is registered.
    pub fn unregister_eventfd(&mut self) -> io::Result<()> {
        self.register(
            IoringRegisterOp::UnregisterEventfd,
            std::ptr::null(),
            0,
            "IORING_UNREGISTER_EVENTFD",
        )
        .map(drop)
    }

    pub(crate) fn register_ring_fd(&mut self) -> io::Result<u32> {
        let mut up = io_uring_rsrc_update::default();
        up.offset = u32::MAX; // let the kernel pick a slot
        up.data = io_uring_ptr::new(self.as_raw_fd() as usize as *mut std::ffi::c_void);
        let p = (&mut up as *mut io_uring_rsrc_update).cast_const().cast();
        let n = self.register(
            IoringRegisterOp::RegisterRingFds,
            p,
            1,
            "IORING_REGISTER_RING_FDS",
        )?;
        if n != 1 || up.offset >= 16 {
            return Err(io::Error::other(
                "io_uring: IORING_REGISTER_RING_FDS returned no slot",
            ));
        }
        Ok(up.offset)
    }

    pub(crate) fn unregister_ring_fd(&mut self, index: u32) -> io::Result<()> {
        let mut up = io_uring_rsrc_update::default();
        up.offset = index;
        self.register(
            IoringRegisterOp::UnregisterRingFds,
            (&up as *const io_uring_rsrc_update).cast(),
            1,
            "IORING_UNREGISTER_RING_FDS",
        )
        .map(drop)
    }

    /// Sets up a provided-buffer ring for group `bgid` (`IORING_REGISTER_PBUF_RING`, Linux
    /// 5.19): `entries` buffers (a power of two, at most 32768) of `buf_len` bytes each,
    /// all handed to the kernel. Receives with [`Sqe::buffer_select`](super::Sqe::buffer_select)
    /// then pick from it; see [`BufRing`] for taking and recycling buffers.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for bad sizes or a group already set up; the kernel's errno otherwise.
    pub fn setup_buf_ring(
        &mut self,
        bgid: u16,
        entries: u16,
        buf_len: u32,
    ) -> io::Result<&mut BufRing> {
        if self.buf_rings.iter().any(|b| b.group() == bgid) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("io_uring: buffer group {bgid} exists already"),
            ));
        }
        let mut ring = BufRing::new(bgid, entries, buf_len)?;
        let mut reg = io_uring_buf_reg::default();
        reg.ring_addr = io_uring_ptr::new(ring.ring_addr().cast());
        reg.ring_entries = u32::from(entries);
        reg.bgid = bgid;
        self.register(
            IoringRegisterOp::RegisterPbufRing,
            (&reg as *const io_uring_buf_reg).cast(),
            1,
            "IORING_REGISTER_PBUF_RING",
        )?;
        ring.provide_all();
        self.buf_rings.push(ring);
        Ok(self.buf_rings.last_mut().expect("just pushed"))
    }

    pub(crate) fn unregister_buf_ring(&mut self, bgid: u16) -> io::Result<()> {
        let mut reg = io_uring_buf_reg::default();
        reg.bgid = bgid;
        self.register(
            IoringRegisterOp::UnregisterPbufRing,
            (&reg as *const io_uring_buf_reg).cast(),
            1,
            "IORING_UNREGISTER_PBUF_RING",
        )
        .map(drop)
    }

    fn buf_ring_index(&self, bgid: u16) -> io::Result<usize> {
        self.buf_rings
            .iter()
            .position(|b| b.group() == bgid)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("io_uring: no buffer group {bgid}"),
                )
            })
    }

    /// Removes the buffer ring of group `bgid` from the kernel but never frees its memory:
    /// for buffers still read by someone when the ring goes away.
    ///
    /// # Errors
    ///
    /// `NotFound` when no such group exists; the kernel's errno otherwise (the memory is
    /// leaked either way).
    pub fn leak_buf_ring(&mut self, bgid: u16) -> io::Result<()> {
        let pos = self.buf_ring_index(bgid)?;
        let ring = self.buf_rings.swap_remove(pos);
        let r = self.unregister_buf_ring(bgid);
        std::mem::forget(ring);
        r
    }

    /// Removes the buffer ring of group `bgid` and frees its memory.
    ///
    /// # Errors
    ///
    /// `NotFound` when no such group exists; the kernel's errno otherwise (the memory is
    /// then kept).
    pub fn remove_buf_ring(&mut self, bgid: u16) -> io::Result<()> {
        let pos = self.buf_ring_index(bgid)?;
        self.unregister_buf_ring(bgid)?;
        self.buf_rings.swap_remove(pos);
        Ok(())
    }
}
