//! A hand-written seccomp BPF filter that refuses `io_uring_setup` with `EPERM` and allows
//! every other system call, as a container runtime's default profile (Docker's, for one)
//! or a sandbox refuses io_uring; or with `ENOSYS`, as a kernel without io_uring does.

use std::io;
use std::mem::offset_of;

use libc::{c_ulong, seccomp_data, sock_filter, sock_fprog};

/// `AUDIT_ARCH_X86_64` (`EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE`, from
/// `linux/audit.h`; the libc crate does not export it).
#[cfg(target_arch = "x86_64")]
pub(crate) const AUDIT_ARCH: Option<u32> = Some(62 | 0x8000_0000 | 0x4000_0000);

/// `AUDIT_ARCH_AARCH64` (`EM_AARCH64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE`).
#[cfg(target_arch = "aarch64")]
pub(crate) const AUDIT_ARCH: Option<u32> = Some(183 | 0x8000_0000 | 0x4000_0000);

/// Any other architecture: no filter is installed and the tests assert nothing.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub(crate) const AUDIT_ARCH: Option<u32> = None;

/// `BPF_STMT` of `linux/filter.h` (libc's is an `unsafe fn`; this one needs no `unsafe`).
const fn stmt(code: u32, k: u32) -> sock_filter {
    sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    }
}

/// `BPF_JUMP` of `linux/filter.h`: `jt` / `jf` are how many instructions to skip.
const fn jump(code: u32, k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    }
}

/// The program, for the native architecture `arch`, failing `io_uring_setup` with `errno`.
fn program(arch: u32, errno: i32) -> [sock_filter; 6] {
    use libc::{BPF_ABS, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};
    let arch_off = offset_of!(seccomp_data, arch) as u32;
    let nr_off = offset_of!(seccomp_data, nr) as u32;
    let refuse = libc::SECCOMP_RET_ERRNO | (errno as u32 & libc::SECCOMP_RET_DATA);
    [
        // 0: A = seccomp_data.arch (the ABI the call came in through).
        stmt(BPF_LD | BPF_W | BPF_ABS, arch_off),
        // 1: native ABI? go on to 2; another one (e.g. i386 `int 0x80`, whose numbers
        //    differ) jumps over 3 instructions to 5, allow: only the native call is refused.
        jump(BPF_JMP | BPF_JEQ | BPF_K, arch, 0, 3),
        // 2: A = seccomp_data.nr (the system call number).
        stmt(BPF_LD | BPF_W | BPF_ABS, nr_off),
        // 3: io_uring_setup? go on to 4; anything else skips 1 instruction, to 5.
        //    (x32 calls carry __X32_SYSCALL_BIT in nr, so they never match: allowed.)
        jump(
            BPF_JMP | BPF_JEQ | BPF_K,
            libc::SYS_io_uring_setup as u32,
            0,
            1,
        ),
        // 4: fail the call with `errno` (EPERM as a refusing sandbox does, ENOSYS as a
        //    kernel without io_uring does).
        stmt(BPF_RET | BPF_K, refuse),
        // 5: run the call.
        stmt(BPF_RET | BPF_K, libc::SECCOMP_RET_ALLOW),
    ]
}

/// Installs the filter on every thread of this process (and, inherited, on every thread
/// and child created later). Irreversible: call it only in a throw-away child process.
///
/// Returns `Ok(false)`, installing nothing, on an architecture without an `AUDIT_ARCH`.
pub(crate) fn refuse_io_uring_setup(errno: i32) -> io::Result<bool> {
    let Some(arch) = AUDIT_ARCH else {
        return Ok(false);
    };
    // SAFETY: PR_SET_NO_NEW_PRIVS takes plain integers and touches no memory of ours; it
    // is what lets an unprivileged process install a seccomp filter.
    let r = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1 as c_ulong, 0, 0, 0) };
    if r != 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(
            e.kind(),
            format!("prctl(PR_SET_NO_NEW_PRIVS): {e}"),
        ));
    }
    let mut filter = program(arch, errno);
    let prog = sock_fprog {
        len: filter.len() as libc::c_ushort,
        filter: filter.as_mut_ptr(),
    };
    // Every argument goes as a full register-width integer (the kernel truncates). TSYNC
    // applies the filter to the other threads too (libtest's main thread); the call returns
    // 0 on success, -1 with errno on failure, or the id of a thread it could not synchronise.
    // SAFETY: `prog` points at `filter`, live for the call (the kernel copies the program).
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            c_ulong::from(libc::SECCOMP_SET_MODE_FILTER),
            libc::SECCOMP_FILTER_FLAG_TSYNC,
            &prog as *const sock_fprog,
        )
    };
    match r {
        0 => Ok(true),
        -1 => {
            let e = io::Error::last_os_error();
            Err(io::Error::new(
                e.kind(),
                format!("seccomp(SECCOMP_SET_MODE_FILTER): {e}"),
            ))
        }
        tid => Err(io::Error::other(format!(
            "seccomp(SECCOMP_SET_MODE_FILTER, TSYNC): thread {tid} could not be synchronised"
        ))),
    }
}

/// Calls `io_uring_setup(1, NULL)` directly and returns its error: the filter's errno
/// under the filter, `EFAULT` (the NULL parameters) without it.
pub(crate) fn raw_io_uring_setup_error() -> io::Error {
    // With a NULL `params` the kernel fails with EFAULT before creating anything (or the
    // filter fails the call first), so no file descriptor can be returned.
    // SAFETY: no memory of ours is read or written by the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_io_uring_setup,
            1 as c_ulong,
            std::ptr::null_mut::<libc::c_void>(),
        )
    };
    if r >= 0 {
        // Cannot happen with NULL params; close whatever came back rather than leak it.
        // SAFETY: `r` is a descriptor the kernel just returned to us and nothing else owns.
        unsafe { libc::close(r as libc::c_int) };
        return io::Error::other(format!("io_uring_setup(1, NULL) returned fd {r}"));
    }
    io::Error::last_os_error()
}
