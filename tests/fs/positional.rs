//! `read_at` / `write_at` at offsets, holes, the end of the file, short counts, and the
//! owned forms' buffer rules; the file position is never touched.

use std::io::SeekFrom;

use hiver_runtime::fs::File;

use crate::support::{drivers, pattern, run_body, serial, TempDir};

#[test]
fn reads_and_writes_land_at_their_offsets() {
    let _serial = serial();
    for driver in drivers() {
        let dir = TempDir::new("offsets");
        let path = dir.join("f");
        run_body(driver, 1, "offsets", async move {
            let mut f = File::options()
                .read(true)
                .write(true)
                .create(true)
                .open(&path)
                .await?;
            let far = (1 << 20) + 3;
            assert_eq!(f.write_at(b"tail", far).await?, 4);
            assert_eq!(f.write_at(b"head", 0).await?, 4);
            assert_eq!(f.write_at(b"mid", 4096).await?, 3);
            assert_eq!(f.metadata().await?.len(), far + 4, "{driver}");
            let mut buf = [0xffu8; 8];
            assert_eq!(f.read_at(&mut buf, 4094).await?, 8);
            assert_eq!(&buf, b"\0\0mid\0\0\0", "{driver}: a hole reads as zeros");
            // Over the end: a short count; past it: 0.
            assert_eq!(f.read_at(&mut buf, far + 1).await?, 3, "{driver}");
            assert_eq!(&buf[..3], b"ail");
            assert_eq!(f.read_at(&mut buf, far + 100).await?, 0, "{driver}");
            // An empty buffer reads and writes nothing.
            assert_eq!(f.read_at(&mut [], 0).await?, 0);
            assert_eq!(f.write_at(&[], 0).await?, 0);
            // None of it moved the file position.
            assert_eq!(f.seek(SeekFrom::Current(0)).await?, 0, "{driver}");
            Ok(())
        });
    }
}

#[test]
fn owned_forms_use_the_spare_capacity_and_give_the_buffer_back() {
    let _serial = serial();
    for driver in drivers() {
        let dir = TempDir::new("owned");
        let path = dir.join("f");
        run_body(driver, 1, "owned forms", async move {
            let f = File::options()
                .read(true)
                .write(true)
                .create(true)
                .open(&path)
                .await?;
            let data = pattern(10_000, 3);
            let (n, data) = f.write_at_owned(data, 0).await;
            assert_eq!(n?, 10_000, "{driver}");
            assert_eq!(data, pattern(10_000, 3), "{driver}: the buffer comes back");
            // Appends after what the buffer holds, up to its capacity.
            let mut buf = Vec::with_capacity(100);
            buf.extend_from_slice(b"prefix");
            let (n, buf) = f.read_at_owned(buf, 500).await;
            assert_eq!(n?, 94, "{driver}");
            assert_eq!(&buf[..6], b"prefix");
            assert_eq!(&buf[6..], &data[500..594], "{driver}");
            // No spare capacity: nothing read, the buffer as it was.
            let full = vec![1u8; 8];
            let (n, full) = f.read_at_owned(full, 0).await;
            assert_eq!((n?, full), (0, vec![1u8; 8]), "{driver}");
            // At the end of the file: 0, the buffer unchanged.
            let (n, empty) = f.read_at_owned(Vec::with_capacity(10), 10_000).await;
            assert_eq!((n?, empty.len()), (0, 0), "{driver}");
            let (n, nothing) = f.write_at_owned(Vec::new(), 0).await;
            assert_eq!((n?, nothing.len()), (0, 0));
            Ok(())
        });
    }
}

#[test]
fn a_large_borrowed_read_is_capped_and_the_exact_form_loops() {
    let _serial = serial();
    for driver in drivers() {
        let dir = TempDir::new("cap");
        let path = dir.join("f");
        run_body(driver, 1, "2 MiB cap", async move {
            let data = pattern(5 << 20, 9);
            hiver_runtime::fs::write(&path, &data).await?;
            let f = File::open(&path).await?;
            let mut buf = vec![0u8; 5 << 20];
            let n = f.read_at(&mut buf, 0).await?;
            assert!(
                n > 0 && n <= 2 << 20,
                "{driver}: one borrowed read returns at most 2 MiB, got {n}"
            );
            assert_eq!(&buf[..n], &data[..n]);
            f.read_exact_at(&mut buf, 0).await?;
            assert!(buf == data, "{driver}: read_exact_at loops to the end");
            // A request far larger than the file allocates no more than the cap.
            let mut huge = vec![0u8; 64 << 20];
            assert_eq!(f.read_at(&mut huge, (5 << 20) - 10).await?, 10, "{driver}");
            Ok(())
        });
    }
}
