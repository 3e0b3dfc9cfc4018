//! Errors of the Unix-domain types reach the caller as the right `io::ErrorKind`, with the
//! path in the message, on each driver, and never as a panic: binding a path that exists
//! or whose directory does not; paths no socket address holds (too long, empty, with a NUL
//! byte); connecting or sending to nothing, or to a socket file nobody listens on; writing
//! to a peer that is gone (never a `SIGPIPE`); sending on an unconnected socket; and a
//! socket made outside a runtime.

use std::io::ErrorKind;

use hiver_runtime::io::{UnixDatagram, UnixListener, UnixStream};

use super::SockDir;
use crate::support::{drivers, run, serial};

/// Asserts that `err` is of `kind` and that its message contains `text`.
fn assert_err(err: std::io::Error, kind: ErrorKind, text: &str, what: &str) {
    assert_eq!(err.kind(), kind, "{what}: {err}");
    assert!(
        err.to_string().contains(text),
        "{what}: {err:?} should name {text:?}"
    );
}

#[test]
fn binding_a_taken_or_unreachable_or_impossible_path_fails_saying_which() {
    let _serial = serial();
    for driver in drivers() {
        let dir = SockDir::new("bind-errors");
        let (taken, lost) = (dir.path("taken"), dir.path("no-such-dir/x.sock"));
        run(driver, 1, "Unix bind errors", async {
            let _listener = UnixListener::bind(&taken).await?;
            let shown = taken.display().to_string();
            let err = UnixListener::bind(&taken).await.expect_err("taken");
            assert_err(
                err,
                ErrorKind::AddrInUse,
                &shown,
                "listener on a taken path",
            );
            let err = UnixDatagram::bind(&taken).await.expect_err("taken");
            assert_err(
                err,
                ErrorKind::AddrInUse,
                &shown,
                "datagram on a taken path",
            );
            let err = UnixListener::bind(&lost).await.expect_err("no directory");
            assert_err(err, ErrorKind::NotFound, "no-such-dir", "missing directory");

            let long = format!("/tmp/{}", "x".repeat(200));
            for bad in [long.as_str(), "", "/tmp/nul\0byte"] {
                let err = UnixListener::bind(bad).await.expect_err("no such address");
                assert_err(err, ErrorKind::InvalidInput, "Unix socket path", "bad path");
                let err = UnixStream::connect(bad).await.expect_err("no such address");
                assert_err(err, ErrorKind::InvalidInput, "connect", "bad path");
                let err = UnixDatagram::unbound()?.send_to(b"x", bad).await;
                let err = err.expect_err("no such address");
                assert_err(err, ErrorKind::InvalidInput, "send_to", "bad path");
            }
            Ok(())
        });
    }
}

#[test]
fn connecting_or_sending_to_nothing_or_to_a_dead_socket_file_fails() {
    let _serial = serial();
    for driver in drivers() {
        let dir = SockDir::new("connect-errors");
        let (nothing, dead, dgram) = (dir.path("nothing"), dir.path("dead"), dir.path("dg"));
        run(driver, 1, "Unix connect errors", async {
            drop(UnixListener::bind(&dead).await?);
            let shown = nothing.display().to_string();
            let err = UnixStream::connect(&nothing)
                .await
                .expect_err("nothing there");
            assert_err(err, ErrorKind::NotFound, &shown, "stream to nothing");
            let shown = dead.display().to_string();
            let err = UnixStream::connect(&dead)
                .await
                .expect_err("nobody listens");
            assert_err(
                err,
                ErrorKind::ConnectionRefused,
                &shown,
                "stream to a dead file",
            );

            let sock = UnixDatagram::bind(&dgram).await?;
            let err = sock.connect(&dead).await.expect_err("nobody bound");
            assert_err(
                err,
                ErrorKind::ConnectionRefused,
                &shown,
                "datagram connect",
            );
            let err = sock
                .send_to(b"x", &nothing)
                .await
                .expect_err("nothing there");
            assert_err(err, ErrorKind::NotFound, "nothing", "datagram to nothing");
            let err = sock.send(b"x").await.expect_err("not connected");
            assert_eq!(err.kind(), ErrorKind::NotConnected, "{driver}: {err}");
            Ok(())
        });
    }
}

#[test]
fn a_peer_that_is_gone_or_shut_is_broken_pipe_or_refused_never_a_signal() {
    let _serial = serial();
    for driver in drivers() {
        let dir = SockDir::new("gone");
        let (listen_path, a_path, b_path) = (dir.path("l"), dir.path("a"), dir.path("b"));
        run(driver, 1, "Unix peer gone", async {
            // A peer shut for reading.
            let (mut a, b) = UnixStream::pair()?;
            b.shutdown(std::net::Shutdown::Read)?;
            let err = a.write_all(b"anyone?").await.expect_err("peer shut");
            assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{driver}: {err}");

            // A peer closed (a blocking std socket: closed at once, not through a ring).
            let listener = UnixListener::bind(&listen_path).await?;
            let peer = std::os::unix::net::UnixStream::connect(&listen_path)?;
            let (mut ours, _) = listener.accept().await?;
            drop(peer);
            let mut buf = [0u8; 4];
            assert_eq!(ours.read(&mut buf).await?, 0, "{driver}: end of stream");
            let err = ours.write_all(b"anyone?").await.expect_err("peer gone");
            assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{driver}: {err}");
            let err = ours.write(b"again").await.expect_err("still gone");
            assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{driver}: {err}");

            let a = UnixDatagram::bind(&a_path).await?;
            let b = std::os::unix::net::UnixDatagram::bind(&b_path)?;
            a.connect(&b_path).await?;
            drop(b);
            let err = a.send(b"anyone?").await.expect_err("peer gone");
            assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{driver}: {err}");
            Ok(())
        });
    }
}

#[test]
fn sockets_made_outside_a_runtime_are_errors_not_panics() {
    let _serial = serial();
    for made in [
        UnixStream::pair().map(drop),
        UnixDatagram::pair().map(drop),
        UnixDatagram::unbound().map(drop),
    ] {
        let err = made.expect_err("no runtime on this thread");
        assert!(err.to_string().contains("no hiver runtime"), "{err}");
    }
}
