//! Counting this process's descriptors, for the tests that assert nothing leaked and
//! nothing was closed twice.
//!
//! Only descriptors that outlive a call are counted. A thread of the previous test may
//! still be exiting when the next test counts: glibc opens
//! `/proc/sys/vm/overcommit_memory` for a moment while it frees that thread's malloc
//! arena, and std reads `/proc` and `/sys` files the same way. So entries under `/proc`
//! and `/sys`, and entries that vanish between the directory listing and their
//! `readlink`, are left out; the runtime never keeps such a file open.

#![allow(dead_code)] // not every test binary uses every helper

use std::cell::RefCell;

thread_local! {
    /// What this thread's last [`open_fds`] saw, for [`assert_no_fd_leak`]'s message.
    static SEEN: RefCell<String> = const { RefCell::new(String::new()) };
}

/// The descriptors open in this process now (see the module docs for what is left out).
pub(crate) fn open_fds() -> usize {
    let (count, list) = fd_list();
    SEEN.with(|s| *s.borrow_mut() = list);
    count
}

/// Asserts that exactly `before` descriptors (an earlier [`open_fds`]) are open: nothing
/// leaked, nothing closed twice. The message lists both sets.
pub(crate) fn assert_no_fd_leak(before: usize, what: impl std::fmt::Display) {
    let (now, list) = fd_list();
    assert_eq!(
        now,
        before,
        "{what}: {before} descriptors open before, {now} after dropping everything; \
         before: {}; now: {list}",
        SEEN.with(|s| s.borrow().clone()),
    );
}

/// The number of lasting descriptors and a list of them with what each names.
fn fd_list() -> (usize, String) {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return (0, "(no /proc/self/fd)".into());
    };
    let mut fds: Vec<(u32, String)> = dir
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_str()?.parse().ok()?;
            let target = std::fs::read_link(e.path()).ok()?;
            let target = target.display().to_string();
            let transient = target.starts_with("/proc/") || target.starts_with("/sys/");
            (!transient).then_some((n, target))
        })
        .collect();
    fds.sort();
    let list = fds
        .iter()
        .map(|(n, t)| format!("{n}->{t}"))
        .collect::<Vec<_>>()
        .join(" ");
    (fds.len(), list)
}
