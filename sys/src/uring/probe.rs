//! `IORING_REGISTER_PROBE`: which opcodes this kernel supports, read as bytes.
//!
//! rustix types the probe's ops as an enum that ends before what new kernels report, so the
//! buffer is read through hiver's own integer structs ([`ProbeHeader`], [`ProbeOp`]).
#![allow(unsafe_code)]

use std::io;
use std::os::fd::AsFd;

use rustix::io_uring::{io_uring_register, IoringRegisterOp};

use super::layout::{ProbeHeader, ProbeOp, OP_SUPPORTED};
use super::mmap::step_error;
use super::Ring;

/// The set of opcodes the kernel supports.
///
/// ```
/// use hiver_sys::uring::{opcode, Probe};
/// let p = Probe::from_ops(3, &[opcode::NOP, opcode::READV]);
/// assert!(p.is_supported(opcode::NOP) && !p.is_supported(opcode::WRITEV));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    last_op: u8,
    supported: [u64; 4],
}

impl Probe {
    /// A probe listing `ops` as supported (for tests and for faking a missing opcode).
    pub fn from_ops(last_op: u8, ops: &[u8]) -> Probe {
        let mut p = Probe {
            last_op,
            supported: [0; 4],
        };
        for &op in ops {
            p.supported[usize::from(op / 64)] |= 1 << (op % 64);
        }
        p
    }

    /// Decodes a probe buffer as the kernel filled it: a header, then `ops_len` entries.
    /// Entries past the buffer are ignored; nothing here can index out of bounds.
    pub fn decode(bytes: &[u8]) -> Probe {
        let hdr = std::mem::size_of::<ProbeHeader>();
        let op_size = std::mem::size_of::<ProbeOp>();
        let last_op = bytes.first().copied().unwrap_or(0);
        let ops_len = bytes.get(1).copied().map_or(0, usize::from);
        let mut ops = Vec::new();
        for entry in bytes
            .get(hdr..)
            .unwrap_or(&[])
            .chunks_exact(op_size)
            .take(ops_len)
        {
            let flags = u16::from_ne_bytes([entry[2], entry[3]]);
            if flags & OP_SUPPORTED != 0 {
                ops.push(entry[0]);
            }
        }
        Probe::from_ops(last_op, &ops)
    }

    /// The highest opcode the kernel knows of.
    pub fn last_op(&self) -> u8 {
        self.last_op
    }

    /// Whether `op` is supported.
    pub fn is_supported(&self, op: u8) -> bool {
        self.supported[usize::from(op / 64)] & (1 << (op % 64)) != 0
    }

    /// Every supported opcode, ascending.
    pub fn supported(&self) -> impl Iterator<Item = u8> + '_ {
        (0..=255u8).filter(|&op| self.is_supported(op))
    }

    /// The first of `ops` the kernel lacks, if any.
    pub fn first_missing(&self, ops: &[u8]) -> Option<u8> {
        ops.iter().copied().find(|&op| !self.is_supported(op))
    }
}

impl Ring {
    /// Asks the kernel which opcodes it supports (`IORING_REGISTER_PROBE`, Linux 5.6).
    ///
    /// # Errors
    ///
    /// The kernel's errno, with the step named (`EINVAL` before 5.6).
    pub fn probe(&self) -> io::Result<Probe> {
        const OPS: usize = 256;
        let len = std::mem::size_of::<ProbeHeader>() + OPS * std::mem::size_of::<ProbeOp>();
        let mut buf = vec![0u64; len / 8];
        // SAFETY: `buf` is zeroed (as the kernel requires), 8-aligned, and large enough for
        // a header and OPS entries; the kernel writes only within it during the call.
        unsafe {
            io_uring_register(
                self.as_fd(),
                IoringRegisterOp::RegisterProbe,
                buf.as_mut_ptr().cast(),
                OPS as u32,
            )
        }
        .map_err(|e| step_error(e.into(), "IORING_REGISTER_PROBE"))?;
        let bytes: Vec<u8> = buf.iter().flat_map(|w| w.to_ne_bytes()).collect();
        Ok(Probe::decode(&bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_is_total() {
        assert_eq!(Probe::decode(&[]).supported().count(), 0);
        let mut b = vec![0u8; 16 + 3 * 8];
        b[0] = 62;
        b[1] = 200; // claims more entries than the buffer holds
        b[16] = 0;
        b[18] = 1; // op 0 supported
        b[24] = 1; // op 1 listed, not supported
        b[32] = 255;
        b[34] = 1; // an opcode rustix has no name for
        let p = Probe::decode(&b);
        assert_eq!(p.supported().collect::<Vec<_>>(), [0, 255]);
        assert_eq!(p.last_op(), 62);
        assert_eq!(p.first_missing(&[0, 1]), Some(1));
    }
}
