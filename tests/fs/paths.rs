//! Calls on directory entries: create_dir_all (nested, repeated, racing), create_dir,
//! rename (onto an existing file too), remove_file, remove_dir.

use std::io::ErrorKind;

use hiver_runtime::fs;

use crate::support::{drivers, run_body, serial, TempDir};

#[test]
fn create_dir_all_makes_every_missing_parent() {
    let _serial = serial();
    for driver in drivers() {
        let dir = TempDir::new("mkdirs");
        let base = dir.path().to_owned();
        run_body(driver, 1, "create_dir_all", async move {
            let deep = base.join("a/b/c/d");
            fs::create_dir_all(&deep).await?;
            assert!(fs::metadata(&deep).await?.is_dir(), "{driver}");
            // Again: nothing to do, no error; a path ending in a slash too.
            fs::create_dir_all(&deep).await?;
            fs::create_dir_all(base.join("a/b/e/")).await?;
            assert!(fs::metadata(base.join("a/b/e")).await?.is_dir(), "{driver}");
            // Many tasks creating overlapping trees at once all succeed.
            let handles: Vec<_> = (0..16)
                .map(|i| {
                    let p = base.join(format!("x/y/{}/z", i % 4));
                    hiver_runtime::spawn(async move { fs::create_dir_all(p).await })
                })
                .collect();
            for h in handles {
                h.await.expect("task")?;
            }
            assert!(
                fs::metadata(base.join("x/y/3/z")).await?.is_dir(),
                "{driver}"
            );
            // A file in the way is an error.
            fs::write(base.join("file"), b"").await?;
            let e = fs::create_dir_all(base.join("file/sub")).await.unwrap_err();
            assert_ne!(e.kind(), ErrorKind::NotFound, "{driver}: {e}");
            let e = fs::create_dir_all(base.join("file")).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{driver}: {e}");
            Ok(())
        });
    }
}

#[test]
fn create_rename_and_remove_entries() {
    let _serial = serial();
    for driver in drivers() {
        let dir = TempDir::new("entries");
        let base = dir.path().to_owned();
        run_body(driver, 1, "entries", async move {
            let d = base.join("d");
            fs::create_dir(&d).await?;
            let e = fs::create_dir(&d).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{driver}: {e}");
            let e = fs::create_dir(base.join("no/parent")).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotFound, "{driver}: {e}");

            let (a, b) = (d.join("a"), d.join("b"));
            fs::write(&a, b"first").await?;
            fs::rename(&a, &b).await?;
            assert_eq!(fs::read(&b).await?, b"first", "{driver}");
            assert_eq!(
                fs::metadata(&a).await.unwrap_err().kind(),
                ErrorKind::NotFound,
                "{driver}"
            );
            // Onto an existing file: replaced.
            fs::write(&a, b"second").await?;
            fs::rename(&a, &b).await?;
            assert_eq!(fs::read(&b).await?, b"second", "{driver}");
            let e = fs::rename(&a, &b).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotFound, "{driver}: {e}");
            assert!(
                e.to_string().contains("/d/a to ") && e.to_string().contains("/d/b"),
                "{driver}: {e}"
            );

            let e = fs::remove_dir(&d).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::DirectoryNotEmpty, "{driver}: {e}");
            let e = fs::remove_file(&d).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::IsADirectory, "{driver}: {e}");
            fs::remove_file(&b).await?;
            let e = fs::remove_file(&b).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotFound, "{driver}: {e}");
            fs::remove_dir(&d).await?;
            let e = fs::remove_dir(&d).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotFound, "{driver}: {e}");
            Ok(())
        });
    }
}
