//! Item 10, addresses that do not resolve or cannot be used: malformed strings, ports out
//! of range, names that do not exist, addresses not on this machine. Every one is an
//! `io::Error` with a message saying what is wrong (never a panic, never a hang), from
//! `TcpStream::connect`, `TcpListener::bind`, `UdpSocket::bind` and `send_to`, on every
//! driver; a resolvable address with nothing behind it is `ConnectionRefused`.

use std::io::ErrorKind;

use hiver_runtime::io::{TcpListener, TcpStream, UdpSocket};

use crate::support::{assert_no_fd_leak, drivers, open_fds, runtime, serial, within};

/// Strings that are no socket address (each with what it lacks).
const UNRESOLVABLE: &[&str] = &[
    "",                        // nothing
    "127.0.0.1",               // no port
    "127.0.0.1:99999",         // port out of range
    "127.0.0.1:-1",            // negative port
    "localhost:notaport",      // port not a number
    "[::1",                    // unclosed bracket
    "256.1.1.1:80",            // not an IPv4 address, and no such name
    "no.such.host.invalid:80", // a name that does not exist (RFC 6761)
];

#[test]
fn unresolvable_addresses_are_clear_errors() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 1);
        rt.block_on(within("bad addresses", async {
            let udp = UdpSocket::bind("127.0.0.1:0").await?;
            for &bad in UNRESOLVABLE {
                let e = TcpStream::connect(bad).await.expect_err(bad);
                println!("{driver}: connect {bad:?}: {:?}: {e}", e.kind());
                assert!(!e.to_string().is_empty(), "{bad:?}: a message");
                assert!(
                    TcpListener::bind(bad).await.is_err(),
                    "{driver}: bind {bad:?}"
                );
                assert!(
                    UdpSocket::bind(bad).await.is_err(),
                    "{driver}: udp bind {bad:?}"
                );
                assert!(
                    udp.send_to(b"x", bad).await.is_err(),
                    "{driver}: send_to {bad:?}"
                );
                assert!(
                    udp.connect(bad).await.is_err(),
                    "{driver}: udp connect {bad:?}"
                );
            }
            // An address of no interface here: the kernel's EADDRNOTAVAIL, named.
            let e = TcpListener::bind("192.0.2.1:0")
                .await
                .expect_err("TEST-NET-1");
            assert_eq!(e.kind(), ErrorKind::AddrNotAvailable, "{driver}: {e}");
            // Resolvable, but nothing listens: refused.
            let free = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
            let e = TcpStream::connect(free).await.expect_err("closed port");
            assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{driver}: {e}");
            Ok::<_, std::io::Error>(())
        }))
        .unwrap()
        .unwrap_or_else(|e| panic!("{driver}: {e}"));
        drop(rt);
        assert_no_fd_leak(before, format_args!("{driver}: bad addresses"));
    }
}
