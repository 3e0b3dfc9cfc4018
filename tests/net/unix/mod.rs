//! Unix-domain sockets on each driver: `UnixListener`, `UnixStream` (and its halves) and
//! `UnixDatagram`, with the behaviours the TCP and UDP tests check: streaming and echo,
//! halves, owned and vectored I/O, shutdown, addresses, cancel safety, and errors. Each
//! test makes its socket files in a directory of its own, removed at the end.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

mod cancel;
mod datagram;
mod errors;
mod stream;

/// A fresh directory for one test's socket files, removed when dropped.
pub(crate) struct SockDir(PathBuf);

impl SockDir {
    pub(crate) fn new(test: &str) -> SockDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("hiver-{}-{test}-{n}", std::process::id()));
        // Left by an earlier run of a process with the same id: start clean.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the test's socket directory");
        SockDir(dir)
    }

    /// The path of socket `name` in this directory.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.0
    }
}

impl Drop for SockDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Sockets cross threads once (accepted in one task, moved into another): the types and
/// their futures are `Send`.
#[test]
fn unix_types_and_futures_are_send() {
    use hiver_runtime::io::{
        OwnedReadHalf, OwnedWriteHalf, UnixDatagram, UnixListener, UnixStream,
    };
    fn send<T: Send>(_: &T) {}
    fn send_sync<T: Send + Sync>() {}
    send_sync::<UnixListener>();
    send_sync::<UnixStream>();
    send_sync::<UnixDatagram>();
    send_sync::<OwnedReadHalf<UnixStream>>();
    send_sync::<OwnedWriteHalf<UnixStream>>();
    send(&UnixListener::bind("/unused"));
    send(&UnixStream::connect("/unused"));
    send(&UnixDatagram::bind("/unused"));
    fn futures(l: &UnixListener, s: &mut UnixStream, d: &UnixDatagram) {
        send(&l.accept());
        let mut buf = [0u8; 1];
        send(&s.read(&mut buf));
        send(&s.write(b"x"));
        send(&d.recv_from(&mut buf));
        send(&d.send_to(b"x", "/unused"));
    }
    let _ = futures;
}
