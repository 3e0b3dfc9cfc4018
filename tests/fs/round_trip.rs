//! Bytes written come back, byte for byte, at sizes 0, 1, 64 KiB and 3 MiB, through every
//! way of writing and reading a whole file.

use hiver_runtime::fs::{self, File};

use crate::support::{drivers, first_diff, pattern, run_body, serial, TempDir};

const SIZES: [usize; 4] = [0, 1, 64 * 1024, 3 * 1024 * 1024];

#[test]
fn whole_file_calls_round_trip_every_size() {
    let _serial = serial();
    for driver in drivers() {
        let dir = TempDir::new("whole");
        let base = dir.path().to_owned();
        run_body(driver, 1, "fs::write then fs::read", async move {
            for (i, &size) in SIZES.iter().enumerate() {
                let path = base.join(format!("f{size}"));
                let data = pattern(size, i as u8);
                fs::write(&path, &data).await?;
                let got = fs::read(&path).await?;
                assert_eq!(
                    first_diff(&got, &data),
                    None,
                    "{driver}: fs::read of {size} bytes"
                );
                assert_eq!(fs::metadata(&path).await?.len(), size as u64);
                // A rewrite with less replaces all of it.
                fs::write(&path, b"short").await?;
                assert_eq!(fs::read_to_string(&path).await?, "short");
            }
            Ok(())
        });
    }
}

#[test]
fn cursor_writes_and_reads_round_trip_every_size() {
    let _serial = serial();
    for driver in drivers() {
        let dir = TempDir::new("cursor-rt");
        let base = dir.path().to_owned();
        run_body(driver, 1, "write_all then read_to_end", async move {
            for (i, &size) in SIZES.iter().enumerate() {
                let path = base.join(format!("c{size}"));
                let data = pattern(size, 0x40 ^ i as u8);
                let mut f = File::create(&path).await?;
                f.write_all(&data).await?;
                f.flush().await?;
                drop(f);
                let mut f = File::open(&path).await?;
                let mut got = Vec::new();
                assert_eq!(f.read_to_end(&mut got).await?, size, "{driver}");
                assert_eq!(first_diff(&got, &data), None, "{driver}: {size} bytes");
                // At the end now: nothing more.
                assert_eq!(f.read(&mut [0u8; 16]).await?, 0, "{driver}");
            }
            Ok(())
        });
    }
}

#[test]
fn positional_calls_round_trip_every_size() {
    let _serial = serial();
    for driver in drivers() {
        let dir = TempDir::new("at-rt");
        let base = dir.path().to_owned();
        run_body(driver, 1, "write_all_at then read_exact_at", async move {
            for (i, &size) in SIZES.iter().enumerate() {
                let path = base.join(format!("p{size}"));
                let data = pattern(size, 0x80 ^ i as u8);
                let f = File::options()
                    .read(true)
                    .write(true)
                    .create(true)
                    .open(&path)
                    .await?;
                f.write_all_at(&data, 0).await?;
                let mut got = vec![0u8; size];
                f.read_exact_at(&mut got, 0).await?;
                assert_eq!(first_diff(&got, &data), None, "{driver}: {size} bytes");
                // The owned forms: one call each way, no copy on io_uring.
                let (n, back) = f.write_at_owned(data.clone(), 0).await;
                assert_eq!((n?, back.len()), (size, size), "{driver}");
                let (n, owned) = f.read_at_owned(Vec::with_capacity(size + 1), 0).await;
                assert_eq!(n?, size, "{driver}: one owned read of {size} bytes");
                assert_eq!(
                    first_diff(&owned, &data),
                    None,
                    "{driver}: owned {size} bytes"
                );
            }
            Ok(())
        });
    }
}
