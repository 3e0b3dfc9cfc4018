//! Buffer safety of operations dropped in flight (RELIABILITY.md case 18 b), under the
//! fence allocator (`alloc.rs`): every allocation of this binary, the runtime's included,
//! has pages of its own that become `PROT_NONE` when freed. A kernel write into a driver
//! buffer freed before its operation's final CQE fails that CQE with `-EFAULT`, which the
//! io_uring driver counts ([`RuntimeMetrics::io_efault_completions`]): each test drops
//! reads, receives, accepts, `recv_from`s and file reads in flight while a peer produces
//! data, then checks that the data is consistent and that the count is still 0. The epoll
//! driver runs the same tests for parity. `control.rs` shows the fence does catch a late
//! kernel write (a raw ring, without the runtime).
//!
//! Memory only grows under the fence (nothing is reused): the operation counts are modest.
#![cfg(target_os = "linux")]

mod alloc;
mod control;
#[path = "../common/drivers.rs"]
mod drivers;
#[path = "../common/fds.rs"]
mod fds;
mod support;

mod accept;
mod file;
mod tcp;
mod udp;

#[global_allocator]
static FENCE: alloc::Fence = alloc::Fence;

use hiver_runtime::RuntimeMetrics;

/// After each test: no completion came back `-EFAULT` and every free was fenced.
pub(crate) fn assert_no_efault(what: &str) {
    let s = alloc::stats();
    let maps = std::fs::read_to_string("/proc/self/maps")
        .map(|m| m.lines().count())
        .unwrap_or(0);
    eprintln!(
        "{what}: fence: {} allocations, {} frees, {} MiB of address space, {maps} mappings; \
         EFAULT completions {}",
        s.allocs,
        s.frees,
        s.used_mib,
        RuntimeMetrics::io_efault_completions()
    );
    assert_eq!(s.failures, 0, "{what}: frees the fence could not protect");
    assert_eq!(
        RuntimeMetrics::io_efault_completions(),
        0,
        "{what}: io_uring completions with EFAULT: the kernel wrote into freed memory"
    );
}
