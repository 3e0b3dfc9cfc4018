//! Which path the calls take: on io_uring every call is a ring operation and no
//! blocking-pool thread ever starts; on epoll (and kqueue) they run on the blocking pool.
//! `set_len` needs the kernel's `IORING_OP_FTRUNCATE` (Linux 6.9) to stay on the ring:
//! where the probe lacks it, the io_uring run leaves `set_len` out (it goes to the pool
//! there, as the `fs` module documents).

use std::io::SeekFrom;

use hiver_runtime::fs::{self, File};
use hiver_runtime::DriverType;

use crate::support::{drivers, run, serial, total, TempDir};

/// One of every call (`set_len` only when `set_len` is true); the number of ring
/// operations it makes at least.
async fn every_call(base: std::path::PathBuf, set_len: bool) -> std::io::Result<u64> {
    let mut ops = 0;
    let mut count = |n: u64| ops += n;
    fs::create_dir_all(base.join("a/b")).await?;
    count(1);
    fs::create_dir(base.join("c")).await?;
    count(1);
    let path = base.join("a/b/f");
    fs::write(&path, b"0123456789").await?; // open, write
    count(2);
    let mut f = File::options().read(true).write(true).open(&path).await?;
    count(1);
    let mut buf = [0u8; 4];
    f.read_exact_at(&mut buf, 2).await?;
    f.read(&mut buf).await?;
    f.write_all(b"xy").await?;
    f.seek(SeekFrom::Start(0)).await?; // lseek: no operation
    f.write_at(b"z", 9).await?;
    let (_, v) = f.read_at_owned(Vec::with_capacity(8), 0).await;
    let (_, _) = f.write_at_owned(v, 20).await;
    count(6);
    f.sync_all().await?;
    f.sync_data().await?;
    if set_len {
        f.set_len(5).await?;
        count(1);
    }
    f.metadata().await?;
    count(3);
    drop(f); // close through the ring: not counted as an operation
    fs::metadata(&path).await?;
    fs::symlink_metadata(&path).await?;
    fs::read(&path).await?; // open, statx, reads
    fs::read_to_string(&path).await?;
    count(2 + 3 + 3);
    fs::rename(&path, base.join("g")).await?;
    fs::remove_file(base.join("g")).await?;
    fs::remove_dir(base.join("c")).await?;
    count(3);
    Ok(ops)
}

#[test]
fn io_uring_runs_every_call_on_the_ring_and_epoll_on_the_pool() {
    let _serial = serial();
    for driver in drivers() {
        let dir = TempDir::new("paths");
        let base = dir.path().to_owned();
        let set_len = driver != DriverType::IOUring || kernel_has_ftruncate();
        if !set_len {
            eprintln!(
                "{driver}: this kernel's io_uring lacks FTRUNCATE (Linux 6.9): set_len, which \
                 runs on the blocking pool here, is left out of the ring-only check"
            );
        }
        let (ops, m) = run(driver, 1, "every call", every_call(base, set_len));
        let submitted = total(&m, |w| w.io_submitted);
        match driver {
            DriverType::IOUring => {
                assert_eq!(
                    m.blocking_threads(),
                    0,
                    "{driver}: no blocking-pool thread (every call made has its opcode here)"
                );
                assert!(
                    submitted >= ops,
                    "{driver}: {submitted} ring operations for {ops} calls"
                );
            }
            _ => {
                assert!(
                    m.blocking_threads() >= 1,
                    "{driver}: the blocking pool ran them"
                );
                assert_eq!(submitted, 0, "{driver}: no ring");
            }
        }
    }
}

/// Whether this kernel's io_uring has `IORING_OP_FTRUNCATE`: the probe of a ring of our own
/// (the runtime's rings are made by the same kernel; the runtime does not publish its probe).
#[cfg(target_os = "linux")]
fn kernel_has_ftruncate() -> bool {
    use hiver_sys::uring::{opcode, Ring, SetupOptions};
    let ring = Ring::new(4, &SetupOptions::default()).expect("an io_uring ring for the probe");
    let probe = ring.probe().expect("the io_uring probe");
    probe.is_supported(opcode::FTRUNCATE)
}

/// No io_uring off Linux: never asked there.
#[cfg(not(target_os = "linux"))]
fn kernel_has_ftruncate() -> bool {
    false
}
