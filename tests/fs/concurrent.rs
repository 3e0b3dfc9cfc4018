//! Many positional reads of one file at once, from tasks on two workers, each checking
//! its bytes; and many files opened and dropped (every descriptor closed).

use std::sync::Arc;

use hiver_runtime::fs::{self, File};
use hiver_runtime::DriverType;

use crate::support::{drivers, open_fds, pattern, run, serial, TempDir};

#[test]
fn many_concurrent_read_at_on_one_file_from_two_workers() {
    const LEN: usize = 4 << 20;
    const TASKS: usize = 32;
    const READS: usize = 64;
    const CHUNK: usize = 8192;
    let _serial = serial();
    for driver in drivers() {
        let dir = TempDir::new("concurrent");
        let path = dir.join("f");
        let (_, m) = run(driver, 2, "concurrent read_at", async move {
            let data = Arc::new(pattern(LEN, 11));
            fs::write(&path, &*data).await?;
            let f = Arc::new(File::open(&path).await?);
            let mut handles = Vec::new();
            for t in 0..TASKS {
                let (f, data) = (f.clone(), data.clone());
                let h = hiver_runtime::spawn_on(t % 2, async move {
                    let mut buf = vec![0u8; CHUNK];
                    for i in 0..READS {
                        let off = (t * 7919 + i * 104_729) % (LEN - CHUNK);
                        f.read_exact_at(&mut buf, off as u64).await?;
                        assert!(
                            buf[..] == data[off..off + CHUNK],
                            "task {t}, read {i}: wrong bytes at {off}"
                        );
                    }
                    Ok::<_, std::io::Error>(std::thread::current().name().map(String::from))
                })?;
                handles.push(h);
            }
            let mut threads = std::collections::BTreeSet::new();
            for h in handles {
                threads.insert(h.await.expect("reader task")?);
            }
            assert_eq!(threads.len(), 2, "{driver}: readers ran on both workers");
            Ok(())
        });
        if driver == DriverType::IOUring {
            for (i, w) in m.workers().iter().enumerate() {
                assert!(
                    w.io_submitted >= (TASKS / 2 * READS) as u64,
                    "{driver}: worker {i} submitted {} operations",
                    w.io_submitted
                );
            }
            assert_eq!(m.blocking_threads(), 0, "{driver}: no pool thread");
        }
    }
}

#[test]
fn files_dropped_are_closed_while_the_runtime_runs() {
    let _serial = serial();
    for driver in drivers() {
        let dir = TempDir::new("closing");
        let base = dir.path().to_owned();
        run(driver, 1, "closing", async move {
            let before = open_fds();
            let mut files = Vec::new();
            for i in 0..200 {
                files.push(File::create(base.join(format!("f{i}"))).await?);
            }
            assert!(open_fds() >= before + 200, "{driver}: 200 files open");
            drop(files);
            // Closes go through the ring at the worker's next turn: give it turns until
            // they are done (bounded: a leak fails here).
            for _ in 0..10_000 {
                if open_fds() <= before {
                    break;
                }
                hiver_runtime::yield_now().await;
            }
            assert_eq!(open_fds(), before, "{driver}: every dropped file closed");
            Ok(())
        });
    }
}
