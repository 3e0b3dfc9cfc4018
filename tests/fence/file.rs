//! File reads (`read_at`, `read_at_owned`) dropped in flight: every completed read has the
//! file's bytes, and the file reads back whole afterwards.

use std::pin::pin;

use hiver_runtime::fs::File;

use crate::support::{attempt_turning, drivers, pattern, pattern_at, run, serial};

const LEN: usize = 1 << 20;
const READS: usize = 4_000;
const SEED: u8 = 0x33;

#[test]
fn file_reads_dropped_in_flight() {
    let _serial = serial();
    let path = std::env::temp_dir().join(format!("hiver-fence-{}", std::process::id()));
    std::fs::write(&path, pattern(LEN, SEED)).expect("test file");
    for driver in drivers() {
        let path = path.clone();
        run(driver, "file reads dropped in flight", async move {
            let file = File::open(&path).await?;
            let mut buf = vec![0u8; 64 * 1024];
            let (mut dropped, mut done) = (0, 0);
            // Every third read is dropped right after its first poll (file reads from the
            // page cache mostly complete within one driver turn).
            for i in 0..READS {
                let off = (i * 7919 * 13) % LEN;
                let len = [1, 512, 4096, 65536][i % 4];
                let check = |bytes: &[u8]| {
                    for (k, b) in bytes.iter().enumerate() {
                        assert_eq!(*b, pattern_at(off + k, SEED), "{driver}: at {}", off + k);
                    }
                };
                if i % 2 == 0 {
                    let r = {
                        let read = pin!(file.read_at(&mut buf[..len], off as u64));
                        attempt_turning(read, i % 3 != 2).await
                    };
                    match r {
                        Some(r) => {
                            let n = r?;
                            check(&buf[..n]);
                            done += 1;
                        }
                        None => dropped += 1,
                    }
                } else {
                    let read = pin!(file.read_at_owned(Vec::with_capacity(len), off as u64));
                    match attempt_turning(read, i % 3 != 2).await {
                        Some((r, v)) => {
                            let n = r?;
                            check(&v[..n]);
                            done += 1;
                        }
                        None => dropped += 1,
                    }
                }
            }
            // The whole file, afterwards.
            let mut all = vec![0u8; LEN];
            file.read_exact_at(&mut all, 0).await?;
            assert!(all == pattern(LEN, SEED), "{driver}: the file reads back");
            eprintln!("{driver}: {dropped} file reads dropped in flight, {done} completed");
            Ok(())
        });
    }
    let _ = std::fs::remove_file(&path);
}
