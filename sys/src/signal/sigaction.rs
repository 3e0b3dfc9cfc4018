//! `rt_sigaction` as a raw syscall (rustix has no `sigaction`), with the `SA_RESTORER`
//! trampoline the kernel makes a handler return through.
//!
//! The kernel's `struct sigaction` is not libc's: handler, flags, restorer, then a mask of
//! `_NSIG / 8 = 8` bytes, the size passed as the syscall's fourth argument. On x86_64 the
//! kernel refuses to deliver to a handler without `SA_RESTORER` (there is no vDSO
//! trampoline); aarch64 has one, but takes ours as musl and glibc do. The trampoline is the
//! exact instruction sequence of glibc's `__restore_rt`, which debuggers and unwinders
//! recognise as a signal frame.
//!
//! # Safety
//!
//! The syscall reads `act` (a live, initialised `KernelSigaction`) and writes nothing (`oact`
//! is null). The trampoline is only ever entered by the kernel, as a handler's return
//! address, with the stack pointing at the signal frame that `rt_sigreturn` consumes.
//!
//! # References
//!
//! rt_sigaction(2), sigreturn(2); Linux `include/linux/signal_types.h`,
//! `arch/x86/kernel/signal.c`; musl `src/signal/sigaction.c`, `src/signal/x86_64/restore.s`,
//! `src/signal/aarch64/restore.s`.
#![allow(unsafe_code)]

use std::io;

/// A handler with the one-argument C signature (no `SA_SIGINFO`).
pub(super) type Handler = extern "C" fn(i32);

/// Installs `handler` for `signal` with `SA_RESTART` (interrupted syscalls resume) and
/// `SA_ONSTACK` (it runs on the thread's alternate stack when there is one); the signal is
/// blocked while its handler runs.
///
/// # Safety
///
/// `handler` must be async-signal-safe: it may run at any instruction of any thread.
///
/// # Errors
///
/// The kernel's error (`EINVAL` for a signal that cannot be caught); `Unsupported` on
/// architectures without a trampoline here.
pub(super) unsafe fn install(signal: i32, handler: Handler) -> io::Result<()> {
    imp::install(signal, handler)
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
mod imp {
    use std::ffi::c_ulong;
    use std::io;
    use std::ptr;

    use static_assertions::{const_assert, const_assert_eq};

    use super::Handler;

    const SA_RESTORER: c_ulong = 0x0400_0000;
    const SA_ONSTACK: c_ulong = 0x0800_0000;
    const SA_RESTART: c_ulong = 0x1000_0000;

    /// The kernel's `struct sigaction` on x86_64 and aarch64.
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: c_ulong,
        restorer: usize,
        /// Signals blocked while the handler runs, besides the signal itself.
        mask: u64,
    }

    const_assert_eq!(std::mem::size_of::<KernelSigaction>(), 32);
    const_assert_eq!(std::mem::offset_of!(KernelSigaction, mask), 24);
    const_assert!(std::mem::size_of::<c_ulong>() == 8);

    /// `sizeof(sigset_t)` in the kernel: 64 signals.
    const SIGSET_SIZE: usize = 8;

    #[cfg(target_arch = "x86_64")]
    const SYS_RT_SIGACTION: usize = 13;
    #[cfg(target_arch = "aarch64")]
    const SYS_RT_SIGACTION: usize = 134;

    // `rt_sigreturn` is syscall 15 on x86_64 and 139 on aarch64.
    #[cfg(target_arch = "x86_64")]
    std::arch::global_asm!(
        ".pushsection .text.__hiver_sys_restore_rt,\"ax\",@progbits",
        ".globl __hiver_sys_restore_rt",
        ".hidden __hiver_sys_restore_rt",
        ".type __hiver_sys_restore_rt, @function",
        ".p2align 4",
        "__hiver_sys_restore_rt:",
        "    mov rax, 15",
        "    syscall",
        ".size __hiver_sys_restore_rt, . - __hiver_sys_restore_rt",
        ".popsection",
    );
    #[cfg(target_arch = "aarch64")]
    std::arch::global_asm!(
        ".pushsection .text.__hiver_sys_restore_rt,\"ax\",%progbits",
        ".globl __hiver_sys_restore_rt",
        ".hidden __hiver_sys_restore_rt",
        ".type __hiver_sys_restore_rt, %function",
        ".p2align 2",
        "__hiver_sys_restore_rt:",
        "    mov x8, #139",
        "    svc #0",
        ".size __hiver_sys_restore_rt, . - __hiver_sys_restore_rt",
        ".popsection",
    );

    extern "C" {
        /// The trampoline above: never called from Rust, only its address is taken.
        fn __hiver_sys_restore_rt();
    }

    pub(super) fn install(signal: i32, handler: Handler) -> io::Result<()> {
        let restorer: unsafe extern "C" fn() = __hiver_sys_restore_rt;
        let act = KernelSigaction {
            handler: handler as usize,
            flags: SA_RESTORER | SA_RESTART | SA_ONSTACK,
            restorer: restorer as usize,
            mask: 0,
        };
        // SAFETY: `act` is live and initialised for the call, `oact` is null (module
        // `# Safety`); the caller vouched for the handler (`install`'s contract).
        let ret = unsafe { rt_sigaction(signal, &act, ptr::null_mut()) };
        if ret < 0 {
            let errno = i32::try_from(-ret).unwrap_or(i32::MAX);
            return Err(io::Error::from_raw_os_error(errno));
        }
        Ok(())
    }

    /// The raw syscall: 0, or a negated errno.
    ///
    /// # Safety
    ///
    /// `act` is null or points at a valid `KernelSigaction` whose handler is
    /// async-signal-safe; `old` is null or writable for one `KernelSigaction`.
    unsafe fn rt_sigaction(
        signal: i32,
        act: *const KernelSigaction,
        old: *mut KernelSigaction,
    ) -> isize {
        let ret: isize;
        // Linux syscall ABI. x86_64: number in rax, arguments in rdi, rsi, rdx, r10; rcx and
        // r11 clobbered. aarch64: number in x8, arguments in x0 to x3, the result in x0.
        // SAFETY: the registers follow the ABI above; the pointers obey this function's
        // contract.
        unsafe {
            #[cfg(target_arch = "x86_64")]
            std::arch::asm!(
                "syscall",
                inlateout("rax") SYS_RT_SIGACTION as isize => ret,
                in("rdi") signal as isize,
                in("rsi") act,
                in("rdx") old,
                in("r10") SIGSET_SIZE,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack, preserves_flags),
            );
            #[cfg(target_arch = "aarch64")]
            std::arch::asm!(
                "svc #0",
                in("x8") SYS_RT_SIGACTION,
                inlateout("x0") signal as isize => ret,
                in("x1") act,
                in("x2") old,
                in("x3") SIGSET_SIZE,
                options(nostack, preserves_flags),
            );
        }
        ret
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
mod imp {
    use std::io;

    use super::Handler;

    pub(super) fn install(_signal: i32, _handler: Handler) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "catching signals needs x86_64 or aarch64 on Linux: hiver-sys has no \
             rt_sigaction trampoline for this architecture",
        ))
    }
}
