//! A kernel without an opcode: the call goes to the blocking pool, the others stay on the
//! ring.

use hiver_sys::uring::{opcode, Probe};

use crate::{DriverType, Runtime};

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("hiver-fs-unit-{name}-{}", std::process::id()))
}

#[test]
fn a_missing_opcode_sends_that_call_to_the_pool() {
    let mut rt = Runtime::builder()
        .worker_threads(1)
        .driver_type(DriverType::IOUring)
        .build()
        .expect("io_uring must be available on this machine");
    let path = temp("no-ftruncate");
    let len = rt
        .block_on(async {
            // This thread's ring "lacks" FTRUNCATE (and only that).
            let all: Vec<u8> = (0..=u8::MAX)
                .filter(|&op| op != opcode::FTRUNCATE)
                .collect();
            crate::driver::with_uring(|d| d.set_probe(Probe::from_ops(u8::MAX, &all)))
                .expect("block_on runs on an io_uring thread");
            let f = super::File::create(&path).await?;
            f.write_all_at(b"0123456789", 0).await?;
            f.set_len(4).await?;
            Ok::<_, std::io::Error>(f.metadata().await?.len())
        })
        .unwrap()
        .unwrap();
    assert_eq!(len, 4);
    assert!(
        rt.metrics().blocking_threads() >= 1,
        "set_len ran on the blocking pool"
    );
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn with_every_opcode_no_pool_thread_starts() {
    let mut rt = Runtime::builder()
        .worker_threads(1)
        .driver_type(DriverType::IOUring)
        .build()
        .expect("io_uring must be available on this machine");
    let path = temp("all-ring");
    rt.block_on(async {
        let f = super::File::create(&path).await?;
        f.write_all_at(b"0123456789", 0).await?;
        f.set_len(4).await?;
        super::remove_file(&path).await
    })
    .unwrap()
    .unwrap();
    assert_eq!(rt.metrics().blocking_threads(), 0);
}
