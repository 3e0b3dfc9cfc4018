//! Metadata of files, directories and links; `set_len` growing and shrinking; `sync_all`
//! and `sync_data`.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime};

use hiver_runtime::fs::{self, File, OpenOptions};

use crate::support::{drivers, pattern, run_body, serial, TempDir};

#[test]
fn metadata_reports_size_type_mode_and_times() {
    let _serial = serial();
    for driver in drivers() {
        let dir = TempDir::new("meta");
        let base = dir.path().to_owned();
        run_body(driver, 1, "metadata", async move {
            let path = base.join("f");
            let before = SystemTime::now() - Duration::from_secs(2);
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .mode(0o600)
                .open(&path)
                .await?;
            f.write_all_at(&pattern(12_345, 1), 0).await?;
            let after = SystemTime::now() + Duration::from_secs(2);
            for m in [f.metadata().await?, fs::metadata(&path).await?] {
                assert_eq!(m.len(), 12_345, "{driver}");
                assert!(m.is_file() && !m.is_dir() && !m.is_symlink(), "{driver}");
                assert_eq!(m.mode() & 0o777, 0o600, "{driver}");
                assert_eq!(m.permissions().mode() & 0o777, 0o600, "{driver}");
                let mtime = m.modified()?;
                assert!(
                    before <= mtime && mtime <= after,
                    "{driver}: mtime {mtime:?}"
                );
                assert!(m.accessed()? >= before, "{driver}");
            }
            let d = fs::metadata(&base).await?;
            assert!(d.is_dir() && !d.is_file(), "{driver}");
            let link = base.join("link");
            std::os::unix::fs::symlink(&path, &link)?;
            assert!(fs::symlink_metadata(&link).await?.is_symlink(), "{driver}");
            let through = fs::metadata(&link).await?;
            assert!(through.is_file() && through.len() == 12_345, "{driver}");
            Ok(())
        });
    }
}

#[test]
fn set_len_grows_with_zeros_and_shrinks() {
    let _serial = serial();
    for driver in drivers() {
        let dir = TempDir::new("set-len");
        let path = dir.join("f");
        run_body(driver, 1, "set_len", async move {
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .open(&path)
                .await?;
            f.write_all_at(b"abcdef", 0).await?;
            f.set_len(100_000).await?;
            assert_eq!(f.metadata().await?.len(), 100_000, "{driver}");
            let mut tail = [0xffu8; 16];
            f.read_exact_at(&mut tail, 99_984).await?;
            assert_eq!(tail, [0u8; 16], "{driver}: the extension reads as zeros");
            f.set_len(3).await?;
            assert_eq!(fs::read(&path).await?, b"abc", "{driver}");
            f.set_len(0).await?;
            assert!(fs::metadata(&path).await?.is_empty(), "{driver}");
            Ok(())
        });
    }
}

#[test]
fn sync_all_and_sync_data_succeed_after_writes() {
    let _serial = serial();
    for driver in drivers() {
        let dir = TempDir::new("sync");
        let path = dir.join("f");
        run_body(driver, 1, "sync", async move {
            let mut f = File::create(&path).await?;
            f.write_all(&pattern(200_000, 2)).await?;
            f.sync_data().await?;
            f.write_all(b"more").await?;
            f.sync_all().await?;
            assert_eq!(fs::metadata(&path).await?.len(), 200_004, "{driver}");
            Ok(())
        });
    }
}
