//! Errors: their kind, the path in their message, never a panic; outside a runtime too.

use std::future::Future;
use std::io::ErrorKind;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use hiver_runtime::fs::{self, File, OpenOptions};

use crate::support::{drivers, run_body, serial, TempDir};

#[test]
fn create_new_on_an_existing_file_is_already_exists() {
    let _serial = serial();
    for driver in drivers() {
        let dir = TempDir::new("exists");
        let path = dir.join("f");
        run_body(driver, 1, "create_new", async move {
            drop(File::create_new(&path).await?);
            let e = File::create_new(&path).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{driver}: {e}");
            assert!(
                e.to_string().contains(path.to_str().unwrap()),
                "{driver}: {e}"
            );
            let e = OpenOptions::new()
                .write(true)
                .create(true)
                .create_new(true)
                .open(&path)
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{driver}: {e}");
            Ok(())
        });
    }
}

#[test]
fn opening_a_missing_file_is_not_found_naming_the_path() {
    let _serial = serial();
    for driver in drivers() {
        let dir = TempDir::new("missing");
        let path = dir.join("no/such/file");
        run_body(driver, 1, "missing", async move {
            let e = File::open(&path).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotFound, "{driver}: {e}");
            let msg = e.to_string();
            assert!(
                msg.starts_with("open ") && msg.contains(path.to_str().unwrap()),
                "{driver}: {msg}"
            );
            // The kernel's error is kept as the source.
            let has_source = e.get_ref().and_then(|i| i.source()).is_some();
            assert!(has_source, "{driver}");
            for e in [
                fs::read(&path).await.unwrap_err(),
                fs::metadata(&path).await.unwrap_err(),
                fs::remove_file(&path).await.unwrap_err(),
                fs::create_dir(&path).await.unwrap_err(),
            ] {
                assert_eq!(e.kind(), ErrorKind::NotFound, "{driver}: {e}");
                assert!(e.to_string().contains("no/such/file"), "{driver}: {e}");
            }
            Ok(())
        });
    }
}

#[test]
fn bad_input_is_an_error_never_a_panic() {
    let _serial = serial();
    for driver in drivers() {
        let dir = TempDir::new("bad");
        let path = dir.join("f");
        run_body(driver, 1, "bad input", async move {
            for opts in [
                OpenOptions::new(),
                OpenOptions::new().read(true).create(true).clone(),
                OpenOptions::new().append(true).truncate(true).clone(),
            ] {
                let e = opts.open(&path).await.unwrap_err();
                assert_eq!(e.kind(), ErrorKind::InvalidInput, "{driver}: {opts:?}: {e}");
            }
            let e = File::open("nul\0byte").await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{driver}: {e}");
            let f = File::create(&path).await?;
            // Offsets beyond i64::MAX; reading a write-only file.
            let e = f.read_at(&mut [0u8; 4], u64::MAX).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{driver}: {e}");
            let e = f.write_at(b"x", 1 << 63).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{driver}: {e}");
            let (r, buf) = f.read_at_owned(Vec::with_capacity(4), u64::MAX).await;
            assert_eq!(
                (r.unwrap_err().kind(), buf.capacity()),
                (ErrorKind::InvalidInput, 4)
            );
            assert!(f.set_len(u64::MAX).await.is_err(), "{driver}");
            assert!(
                f.read_at(&mut [0u8; 4], 0).await.is_err(),
                "{driver}: write-only"
            );
            let mut ro = File::open(&path).await?;
            assert!(ro.write(b"x").await.is_err(), "{driver}: read-only");
            assert!(ro.set_len(0).await.is_err(), "{driver}: read-only");
            let e = fs::read_to_string({
                fs::write(&path, [0xff, 0xfe]).await?;
                &path
            })
            .await
            .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidData, "{driver}: {e}");
            Ok(())
        });
    }
}

#[test]
fn outside_a_runtime_every_call_is_an_error() {
    // Opens descriptors: not while another test counts them.
    let _serial = serial();
    let mut cx = Context::from_waker(Waker::noop());
    let mut open = pin!(File::open("/dev/null"));
    match open.as_mut().poll(&mut cx) {
        Poll::Ready(Err(e)) => assert!(e.to_string().contains("no hiver runtime"), "{e}"),
        other => panic!("expected an error, got {other:?}"),
    }
    let mut read = pin!(fs::read("/dev/null"));
    assert!(matches!(read.as_mut().poll(&mut cx), Poll::Ready(Err(_))));
    let f = File::from_std(std::fs::File::open("/dev/null").unwrap());
    let mut buf = [0u8; 4];
    let mut read_at = pin!(f.read_at(&mut buf, 0));
    assert!(matches!(
        read_at.as_mut().poll(&mut cx),
        Poll::Ready(Err(_))
    ));
}

#[test]
fn files_and_their_futures_are_send_and_sync() {
    // Opens descriptors: not while another test counts them.
    let _serial = serial();
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let f = File::from_std(std::fs::File::open("/dev/null").unwrap());
    send_sync(&f);
    send_sync(&OpenOptions::new());
    let mut buf = [0u8; 1];
    send(&f.read_at(&mut buf, 0));
    send(&f.metadata());
    send(&fs::read("/dev/null"));
    send(&fs::create_dir_all("/tmp"));
    let mut g = File::from_std(std::fs::File::open("/dev/null").unwrap());
    send(&g.read(&mut buf));
}
