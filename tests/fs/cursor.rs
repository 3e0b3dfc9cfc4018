//! The cursor calls use and move the kernel's file position, as std's do: reads and writes
//! in sequence, `seek` from the start, the end and the current position, append mode.

use std::io::SeekFrom;

use hiver_runtime::fs::{self, File, OpenOptions};

use crate::support::{drivers, run_body, serial, TempDir};

#[test]
fn reads_and_writes_move_the_position_and_seek_sets_it() {
    let _serial = serial();
    for driver in drivers() {
        let dir = TempDir::new("seek");
        let path = dir.join("f");
        run_body(driver, 1, "cursor", async move {
            let mut f = File::options()
                .read(true)
                .write(true)
                .create(true)
                .open(&path)
                .await?;
            f.write_all(b"0123456789").await?;
            assert_eq!(f.seek(SeekFrom::Current(0)).await?, 10, "{driver}");
            assert_eq!(f.seek(SeekFrom::Start(2)).await?, 2);
            let mut buf = [0u8; 3];
            assert_eq!(f.read(&mut buf).await?, 3);
            assert_eq!(&buf, b"234", "{driver}");
            assert_eq!(f.seek(SeekFrom::Current(-2)).await?, 3);
            assert_eq!(f.read(&mut buf).await?, 3);
            assert_eq!(&buf, b"345", "{driver}");
            assert_eq!(f.seek(SeekFrom::End(-1)).await?, 9);
            assert_eq!(f.read(&mut buf).await?, 1);
            assert_eq!(f.read(&mut buf).await?, 0, "{driver}: at the end");
            // Overwrite in the middle, then past the end (a hole).
            f.seek(SeekFrom::Start(4)).await?;
            f.write_all(b"ab").await?;
            f.seek(SeekFrom::Start(12)).await?;
            f.write_all(b"z").await?;
            assert_eq!(fs::read(&path).await?, b"0123ab6789\0\0z", "{driver}");
            let e = f.seek(SeekFrom::Current(-100)).await.unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{driver}");
            // A file from std keeps its position.
            let mut std_file = std::fs::File::open(&path)?;
            std::io::Seek::seek(&mut std_file, SeekFrom::Start(11))?;
            let mut g = File::from_std(std_file);
            let mut rest = Vec::new();
            g.read_to_end(&mut rest).await?;
            assert_eq!(rest, b"\0z", "{driver}");
            Ok(())
        });
    }
}

#[test]
fn append_mode_writes_at_the_end() {
    let _serial = serial();
    for driver in drivers() {
        let dir = TempDir::new("append");
        let path = dir.join("log");
        run_body(driver, 1, "append", async move {
            fs::write(&path, b"start\n").await?;
            let mut a = OpenOptions::new().append(true).open(&path).await?;
            let mut b = OpenOptions::new()
                .read(true)
                .append(true)
                .open(&path)
                .await?;
            a.write_all(b"a1\n").await?;
            b.write_all(b"b1\n").await?;
            a.write_all(b"a2\n").await?;
            // Seeking does not change where an append goes.
            b.seek(SeekFrom::Start(0)).await?;
            b.write_all(b"b2\n").await?;
            assert_eq!(
                fs::read_to_string(&path).await?,
                "start\na1\nb1\na2\nb2\n",
                "{driver}"
            );
            // After an append the position is the end.
            assert_eq!(b.seek(SeekFrom::Current(0)).await?, 18, "{driver}");
            // A positional write on an append-mode file appends too (Linux's pwrite).
            if cfg!(target_os = "linux") {
                a.write_at(b"p\n", 0).await?;
                assert!(
                    fs::read_to_string(&path).await?.ends_with("b2\np\n"),
                    "{driver}"
                );
            }
            Ok(())
        });
    }
}
