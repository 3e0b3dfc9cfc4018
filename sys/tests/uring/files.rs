//! The file opcodes against the real kernel: mkdirat, openat, write, fsync, statx,
//! ftruncate (where probed), renameat, unlinkat, close, one step at a time.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;

use hiver_sys::uring::{at_flags, fsync_flags, op, opcode, statx_mask, Statx};

use super::{by_ud, complete, push_all, ring};

fn c(path: &std::path::Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).unwrap()
}

/// Submits one SQE and returns its result.
fn one(r: &mut hiver_sys::uring::Ring, sqe: hiver_sys::uring::Sqe) -> i32 {
    // SAFETY: every caller keeps what the SQE names alive until `complete` returns.
    unsafe { push_all(r, &[sqe.user_data(7)]) };
    by_ud(&complete(r, 1), 7).res
}

#[test]
fn a_file_made_written_described_renamed_and_removed_through_the_ring() {
    let mut r = ring(8);
    let probe = r.probe().unwrap();
    let dir = std::env::temp_dir().join(format!("hiver-sys-files-{}", std::process::id()));
    let (d, f, g) = (c(&dir), c(&dir.join("f")), c(&dir.join("g")));

    assert_eq!(
        one(&mut r, op::mkdirat(at_flags::FDCWD, d.as_ptr(), 0o755)),
        0
    );
    let flags =
        (rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CREATE | rustix::fs::OFlags::CLOEXEC)
            .bits();
    let fd = one(
        &mut r,
        op::openat(at_flags::FDCWD, f.as_ptr(), flags, 0o600),
    );
    assert!(fd >= 0, "openat: {fd}");
    let data = b"written by the ring";
    assert_eq!(
        one(&mut r, op::write(fd, data.as_ptr(), data.len(), 0)),
        data.len() as i32
    );
    assert_eq!(one(&mut r, op::fsync(fd, fsync_flags::DATASYNC)), 0);
    let mut st = Statx::default();
    let mask = statx_mask::BASIC_STATS;
    assert_eq!(
        one(
            &mut r,
            op::statx(fd, c"".as_ptr(), at_flags::EMPTY_PATH, mask, &mut st)
        ),
        0
    );
    assert_eq!(st.size, data.len() as u64);
    assert_eq!(u32::from(st.mode) & 0o170777, 0o100600);
    assert_ne!(st.mask & statx_mask::MTIME, 0);
    if probe.is_supported(opcode::FTRUNCATE) {
        assert_eq!(one(&mut r, op::ftruncate(fd, 7)), 0);
        assert_eq!(std::fs::read(dir.join("f")).unwrap(), b"written");
    }
    assert_eq!(one(&mut r, op::close(fd)), 0);
    let rename = op::renameat(at_flags::FDCWD, f.as_ptr(), at_flags::FDCWD, g.as_ptr(), 0);
    assert_eq!(one(&mut r, rename), 0);
    assert!(dir.join("g").exists() && !dir.join("f").exists());
    // A directory with an entry cannot be removed; the entry, then the directory, can.
    assert_eq!(
        one(
            &mut r,
            op::unlinkat(at_flags::FDCWD, d.as_ptr(), at_flags::REMOVEDIR)
        ),
        -(rustix::io::Errno::NOTEMPTY.raw_os_error())
    );
    assert_eq!(one(&mut r, op::unlinkat(at_flags::FDCWD, g.as_ptr(), 0)), 0);
    assert_eq!(
        one(
            &mut r,
            op::unlinkat(at_flags::FDCWD, d.as_ptr(), at_flags::REMOVEDIR)
        ),
        0
    );
    assert!(!dir.exists());
}
