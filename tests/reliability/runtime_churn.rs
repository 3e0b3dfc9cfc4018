//! Case 12, ring fd exhaustion and runtime churn:
//! (a) in a forked child whose `RLIMIT_NOFILE` equals its descriptor count (every slot
//!     below the limit taken), `build()` fails with an `io::Error` naming EMFILE for
//!     `IOUring`, `Epoll` and `Auto` (epoll needs a descriptor too), never a panic; once
//!     descriptors free up, the same builds succeed (the error really was the limit);
//! (b) sequential build / spawn / drop cycles leak no descriptor (liburing `teardowns.c`);
//! (c) `io_entries(0)` and `io_entries(u32::MAX)` are `InvalidInput` on every driver.

use std::io;
use std::time::Duration;

use hiver_runtime::{DriverType, Runtime};

use crate::forked::fork;
use crate::support::{assert_no_fd_leak, drivers, open_fds, scaled, serial, Progress};

fn build(driver: DriverType) -> io::Result<Runtime> {
    Runtime::builder()
        .worker_threads(2)
        .driver_type(driver)
        .build()
}

/// Whether `e`'s message names EMFILE (the hint the runtime adds to the kernel's text).
fn names_emfile(e: &io::Error) -> bool {
    e.to_string().contains("EMFILE")
}

fn hard_nofile() -> u64 {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `r` is a live, writable rlimit for the call.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) }, 0);
    r.rlim_max
}

/// The child: fill every descriptor slot up to a limit that equals the count, then build.
fn emfile_child() -> Result<String, String> {
    // What the fillers duplicate (not stdin, which CI may have closed).
    let null = std::fs::File::open("/dev/null").map_err(|e| format!("/dev/null: {e}"))?;
    let null_fd = std::os::fd::AsRawFd::as_raw_fd(&null);
    // The highest descriptor open now: the limit goes just above it, then every hole
    // below it is filled, so that no descriptor can be created.
    let max_fd = std::fs::read_dir("/proc/self/fd")
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .max()
        .unwrap_or(2);
    let limit = (max_fd + 1) as u64;
    let mut original = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `original` is a live, writable rlimit for the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut original) } != 0 {
        return Err(format!("getrlimit: {}", io::Error::last_os_error()));
    }
    let r = libc::rlimit {
        rlim_cur: limit,
        rlim_max: hard_nofile(),
    };
    // SAFETY: `r` is a live rlimit for the call; the kernel only reads it.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) } != 0 {
        return Err(format!("setrlimit: {}", io::Error::last_os_error()));
    }
    let mut fillers = Vec::new();
    loop {
        // SAFETY: dup of `null`, open for the whole loop; the result is owned by `fillers`.
        let fd = unsafe { libc::fcntl(null_fd, libc::F_DUPFD_CLOEXEC, 0) };
        if fd < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EMFILE) {
                return Err(format!("filling the table: {e}"));
            }
            break;
        }
        fillers.push(fd);
        if fillers.len() > 100_000 {
            return Err("the descriptor table never filled".into());
        }
    }
    let mut out = format!("limit {limit}, {} holes filled", fillers.len());
    for driver in [DriverType::IOUring, DriverType::Epoll, DriverType::Auto] {
        let r = std::panic::catch_unwind(|| build(driver));
        match r {
            Err(_) => return Err(format!("{driver}: build() panicked at the fd limit")),
            Ok(Ok(rt)) => {
                return Err(format!(
                    "{driver}: build() succeeded at the fd limit (driver {})",
                    rt.driver_type()
                ))
            }
            Ok(Err(e)) if driver == DriverType::Auto && !e.to_string().contains("io_uring") => {
                return Err(format!("Auto: the error drops io_uring's reason: {e}"))
            }
            Ok(Err(e)) if names_emfile(&e) => out.push_str(&format!("; {driver}: {e}")),
            Ok(Err(e)) => return Err(format!("{driver}: an error not naming EMFILE: {e}")),
        }
    }
    // Free the fillers and lift the limit back: the same builds now work (the limit was
    // the only obstacle). Closing the fillers alone is not enough when the table had few
    // holes below the highest descriptor: a two-worker runtime needs more slots than that.
    for fd in fillers.drain(..) {
        // SAFETY: each was dup'ed above and is closed once.
        unsafe { libc::close(fd) };
    }
    // SAFETY: `original` is the limit read above; the kernel only reads it.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &original) } != 0 {
        return Err(format!(
            "restoring RLIMIT_NOFILE: {}",
            io::Error::last_os_error()
        ));
    }
    for driver in [DriverType::IOUring, DriverType::Epoll] {
        let rt = build(driver).map_err(|e| format!("{driver} after freeing fds: {e}"))?;
        if rt.driver_type() != driver {
            return Err(format!("{driver}: got {}", rt.driver_type()));
        }
    }
    Ok(out)
}

#[test]
fn build_at_the_fd_limit_is_an_emfile_error_never_a_panic() {
    let _serial = serial();
    let report = fork(emfile_child).expect_ok("EMFILE child", Duration::from_secs(60));
    println!("{report}");
    for driver in ["io_uring:", "epoll:", "auto:"] {
        assert!(report.contains(driver), "{driver} missing from {report}");
    }
}

#[test]
fn sequential_build_drop_cycles_leak_no_descriptor() {
    let _serial = serial();
    // 1,000 cycles take well under a second per driver even in debug.
    let cycles = scaled(1000, 1000);
    for driver in drivers().into_iter().chain([DriverType::Auto]) {
        // A warm-up cycle: std and the runtime open nothing lasting on the second run.
        drop(build(driver).unwrap());
        let before = open_fds();
        let progress = Progress::arm(
            format!("{driver}: build/drop cycles"),
            Duration::from_secs(30),
        );
        for i in 0..cycles {
            let mut rt = build(driver).unwrap_or_else(|e| panic!("{driver}: cycle {i}: {e}"));
            let v = rt
                .block_on(async move { hiver_runtime::spawn(async move { i * 2 }).await })
                .unwrap()
                .unwrap();
            assert_eq!(v, i * 2);
            drop(rt);
            progress.tick();
        }
        drop(progress);
        assert_no_fd_leak(before, format_args!("{driver}: {cycles} build/drop cycles"));
        println!(
            "{driver}: {cycles} build/spawn/drop cycles, descriptor count unchanged ({before})"
        );
    }
}

#[test]
fn io_entries_zero_and_u32_max_are_invalid_input() {
    let _serial = serial();
    for driver in drivers().into_iter().chain([DriverType::Auto]) {
        for n in [0, 32769, u32::MAX] {
            let e = Runtime::builder()
                .worker_threads(1)
                .driver_type(driver)
                .io_entries(n)
                .build()
                .err()
                .unwrap_or_else(|| panic!("{driver}: io_entries({n}) built"));
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{driver}: {n}: {e}");
            assert!(e.to_string().contains("io_entries"), "{driver}: {n}: {e}");
            if n != 0 {
                assert!(e.to_string().contains("32768"), "{driver}: {n}: {e}");
            }
        }
        // The largest legal value is accepted.
        let rt = Runtime::builder()
            .worker_threads(1)
            .driver_type(driver)
            .io_entries(32768)
            .build()
            .unwrap_or_else(|e| panic!("{driver}: io_entries(32768): {e}"));
        if rt.driver_type() == DriverType::IOUring {
            assert_eq!(rt.capabilities().sq_entries, 32768);
        }
    }
}
