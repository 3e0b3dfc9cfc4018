//! Rings leave nothing behind: fds and mappings return to their baseline. Its own test
//! binary, so that no other test opens fds meanwhile.
#![cfg(target_os = "linux")]

use hiver_sys::uring::{op, Ring, SetupOptions};

fn count(dir_or_file: &str) -> usize {
    if dir_or_file.ends_with("maps") {
        std::fs::read_to_string(dir_or_file)
            .unwrap()
            .lines()
            .count()
    } else {
        std::fs::read_dir(dir_or_file).unwrap().count()
    }
}

#[test]
fn rings_release_fds_and_mappings() {
    let churn = |n: usize| {
        for i in 0..n {
            let opts = if i % 2 == 0 {
                SetupOptions::default()
            } else {
                SetupOptions::default()
                    .no_sqarray(false)
                    .register_ring_fd(true)
            };
            let mut r = Ring::new(16, &opts).unwrap();
            r.setup_buf_ring(1, 8, 256).unwrap();
            r.register_files(&[-1; 4]).unwrap();
            // SAFETY: a NOP carries no pointer.
            unsafe { r.push(&op::nop()) }.unwrap();
            r.submit_and_wait(1).unwrap();
            r.reap(|_| ()).unwrap();
        }
    };
    churn(3); // warm up lazily created process state (thread-local, allocator arenas)
    let (fds, maps) = (count("/proc/self/fd"), count("/proc/self/maps"));
    churn(100);
    assert_eq!(count("/proc/self/fd"), fds, "fd leak");
    assert_eq!(count("/proc/self/maps"), maps, "mapping leak");
}
