//! `accept` when the process is out of descriptors, on each driver: it returns `EMFILE`
//! (promptly, twice in a row: no hang, no crash, the connection not lost), and once
//! descriptors are available again the next `accept` returns the connection that waited.
//!
//! How: a std client connects (its handshake completes in the listener's backlog) while
//! descriptors are plentiful; then the soft `RLIMIT_NOFILE` is lowered to the lowest free
//! descriptor number, so that no new descriptor can be made; a guard puts the limit back
//! even if the test fails. Nothing else may open descriptors meanwhile: the binary-wide
//! lock is held.

use std::io::{self, Read};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

use hiver_runtime::io::TcpListener;

use crate::support::{
    assert_no_fd_leak, drivers, open_fds, runtime, serial, set_nofile_soft, within, NofileGuard,
};

/// The lowest descriptor number not in use (where the next descriptor would go).
fn lowest_free_fd() -> u64 {
    let probe = std::fs::File::open("/dev/null").expect("open /dev/null");
    probe.as_raw_fd() as u64
}

fn is_emfile(r: &io::Result<SocketAddr>) -> bool {
    matches!(r, Err(e) if e.raw_os_error() == Some(libc::EMFILE))
}

#[test]
fn accept_returns_emfile_then_the_waiting_connection() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 1);
        // The runtime's own descriptors (the caller's driver included) are made now.
        let listener = rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .unwrap()
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let mut client = std::net::TcpStream::connect(addr).unwrap();

        let (first, second) = {
            let _restore = NofileGuard::new();
            set_nofile_soft(lowest_free_fd()).expect("lower RLIMIT_NOFILE");
            rt.block_on(async {
                let first = within("accept under EMFILE", listener.accept()).await;
                let second = within("accept under EMFILE again", listener.accept()).await;
                (first.map(|(_, a)| a), second.map(|(_, a)| a))
            })
            .unwrap()
            // `_restore` puts the limit back here, before any assertion.
        };
        assert!(is_emfile(&first), "{driver}: first accept: {first:?}");
        assert!(is_emfile(&second), "{driver}: second accept: {second:?}");

        // Descriptors again: the connection that waited is accepted, and works.
        rt.block_on(within("accept after EMFILE", async move {
            let (mut stream, peer) = listener.accept().await.unwrap();
            assert_eq!(
                peer,
                client.local_addr().unwrap(),
                "{driver}: the waiting client"
            );
            assert_eq!(stream.peer_addr().unwrap(), peer);
            stream.write_all(b"after EMFILE").await.unwrap();
            let mut buf = [0u8; 12];
            // The bytes are in the client's receive queue: this read does not block.
            client.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"after EMFILE");
            drop((stream, listener, client));
        }))
        .unwrap();
        drop(rt);
        assert_no_fd_leak(before, driver);
    }
}
