//! Opens an io_uring, reports what the kernel offers, and round-trips a NOP.
//!
//! ```text
//! cargo run --example uring_probe
//! ```
//!
//! Exits 1 with the kernel's reason when io_uring is unavailable (seccomp, sysctl
//! `kernel.io_uring_disabled`, an old kernel): the runtime then falls back to epoll.

#[cfg(target_os = "linux")]
fn main() {
    if let Err(e) = linux::run() {
        eprintln!("io_uring unavailable: {e}");
        std::process::exit(1);
    }
}

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("io_uring is Linux-only; this platform uses kqueue.");
}

#[cfg(target_os = "linux")]
mod linux {
    use std::time::Instant;

    use hiver_sys::uring::{features, op, opcode, setup_flags, Ring, SetupOptions};

    const FEATURES: &[(&str, u32)] = &[
        ("SINGLE_MMAP", features::SINGLE_MMAP),
        ("NODROP", features::NODROP),
        ("SUBMIT_STABLE", features::SUBMIT_STABLE),
        ("FAST_POLL", features::FAST_POLL),
        ("EXT_ARG", features::EXT_ARG),
        ("NATIVE_WORKERS", features::NATIVE_WORKERS),
        ("CQE_SKIP", features::CQE_SKIP),
        ("LINKED_FILE", features::LINKED_FILE),
        ("REG_REG_RING", features::REG_REG_RING),
        ("RECVSEND_BUNDLE", features::RECVSEND_BUNDLE),
        ("MIN_TIMEOUT", features::MIN_TIMEOUT),
    ];

    const SETUP: &[(&str, u32)] = &[
        ("SQPOLL", setup_flags::SQPOLL),
        ("CQSIZE", setup_flags::CQSIZE),
        ("CLAMP", setup_flags::CLAMP),
        ("SUBMIT_ALL", setup_flags::SUBMIT_ALL),
        ("COOP_TASKRUN", setup_flags::COOP_TASKRUN),
        ("TASKRUN_FLAG", setup_flags::TASKRUN_FLAG),
        ("SINGLE_ISSUER", setup_flags::SINGLE_ISSUER),
        ("DEFER_TASKRUN", setup_flags::DEFER_TASKRUN),
        ("NO_SQARRAY", setup_flags::NO_SQARRAY),
    ];

    const NEEDED: &[(&str, u8)] = &[
        ("NOP", opcode::NOP),
        ("ACCEPT", opcode::ACCEPT),
        ("CONNECT", opcode::CONNECT),
        ("RECV", opcode::RECV),
        ("SEND", opcode::SEND),
        ("READ", opcode::READ),
        ("WRITE", opcode::WRITE),
        ("CLOSE", opcode::CLOSE),
        ("SHUTDOWN", opcode::SHUTDOWN),
        ("TIMEOUT", opcode::TIMEOUT),
        ("LINK_TIMEOUT", opcode::LINK_TIMEOUT),
        ("ASYNC_CANCEL", opcode::ASYNC_CANCEL),
        ("POLL_ADD", opcode::POLL_ADD),
        ("MSG_RING", opcode::MSG_RING),
    ];

    fn names(bits: u32, table: &[(&str, u32)]) -> String {
        let known: Vec<&str> = table
            .iter()
            .filter(|(_, b)| bits & b != 0)
            .map(|(n, _)| *n)
            .collect();
        let rest = table.iter().fold(bits, |acc, (_, b)| acc & !b);
        let mut s = known.join(" ");
        if rest != 0 {
            s.push_str(&format!(" +{rest:#x}"));
        }
        s
    }

    pub(crate) fn run() -> std::io::Result<()> {
        let mut ring = Ring::new(8, &SetupOptions::default())?;
        println!(
            "ring: {} SQ entries, {} CQ entries",
            ring.entries(),
            ring.cq_entries()
        );
        println!("setup flags: {}", names(ring.setup_flags(), SETUP));
        println!("features:    {}", names(ring.features(), FEATURES));
        let probe = ring.probe()?;
        println!(
            "opcodes: {} supported, last known {}",
            probe.supported().count(),
            probe.last_op()
        );
        for (name, op) in NEEDED {
            let ok = if probe.is_supported(*op) { "yes" } else { "NO" };
            println!("  {name:<13} {ok}");
        }
        let start = Instant::now();
        // SAFETY: a NOP carries no pointer.
        unsafe { ring.push(&op::nop().user_data(0xC0FFEE)) }?;
        ring.submit_and_wait(1)?;
        let mut got = None;
        ring.reap(|cqe| got = Some(cqe))?;
        let cqe = got.ok_or_else(|| std::io::Error::other("no completion for the NOP"))?;
        println!(
            "NOP round trip: user_data {:#x}, res {}, {:?}, {} io_uring_enter call(s)",
            cqe.user_data,
            cqe.res,
            start.elapsed(),
            ring.enter_count()
        );
        Ok(())
    }
}
