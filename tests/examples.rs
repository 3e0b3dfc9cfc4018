//! The example servers as processes: each prints its address, serves, and on SIGINT or
//! SIGTERM shuts down gracefully and exits 0; `graceful` answers the request it is working
//! on when the signal comes, and closes its idle connections.
//!
//! `cargo test` builds the examples before it runs the tests; they are found beside this
//! test binary (`target/<profile>/examples/`).
#![cfg(target_os = "linux")]

#[path = "common/process.rs"]
mod process;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use process::{Server, STEP};

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(STEP)).unwrap();
    s
}

/// Reads until EOF (the server closed), bounded by the read timeout.
fn read_to_eof(s: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    s.read_to_end(&mut all)
        .expect("the server closes the connection (no timeout, no reset)");
    all
}

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: hiver\r\n\r\n";

#[test]
fn graceful_answers_the_request_in_flight_and_exits_0_on_sigint() {
    for driver in ["uring", "epoll"] {
        let mut server = Server::start(
            "graceful",
            &[
                "--addr",
                "127.0.0.1:0",
                "--workers",
                "2",
                "--driver",
                driver,
                "--work-ms",
                "300",
            ],
        );
        let addr = server.addr();
        // An idle keep-alive connection: closed by the shutdown.
        let mut idle = connect(addr);
        // A connection with an answered request, then idle.
        let mut answered = connect(addr);
        answered.write_all(REQUEST).unwrap();
        server.line("working on a request");
        let mut first = [0u8; 512];
        let n = answered.read(&mut first).unwrap();
        assert!(first[..n].starts_with(b"HTTP/1.1 200 OK"), "on {driver}");
        // The request in flight when the signal comes.
        let mut busy = connect(addr);
        busy.write_all(REQUEST).unwrap();
        server.line("working on a request");
        server.signal(libc::SIGINT);
        server.line("shutting down");
        let reply = read_to_eof(&mut busy);
        let text = String::from_utf8_lossy(&reply);
        assert!(
            text.starts_with("HTTP/1.1 200 OK") && text.ends_with("Hello, World!"),
            "on {driver}: the request in flight is answered in full, then the connection \
             closes: {text:?}"
        );
        assert!(
            read_to_eof(&mut idle).is_empty(),
            "on {driver}: idle closed"
        );
        assert!(read_to_eof(&mut answered).is_empty(), "on {driver}: closed");
        // The server closes lingering (it reads until our EOF): close our side.
        drop((busy, idle, answered));
        let (status, out) = server.exit_status();
        assert!(
            status.success(),
            "on {driver}: exit {status}; output {out:?}"
        );
        assert!(out.iter().any(|l| l == "drained"), "on {driver}: {out:?}");
    }
}

#[test]
fn example_servers_exit_0_on_sigint_and_sigterm() {
    let cases = [
        ("echo_server", libc::SIGINT),
        ("echo_server", libc::SIGTERM),
        ("http_server", libc::SIGTERM),
        ("graceful", libc::SIGTERM),
    ];
    for driver in ["uring", "epoll"] {
        for (name, sig) in cases {
            let mut server = Server::start(
                name,
                &[
                    "--addr",
                    "127.0.0.1:0",
                    "--workers",
                    "2",
                    "--driver",
                    driver,
                ],
            );
            let addr = server.addr();
            let mut c = connect(addr);
            if name == "echo_server" {
                c.write_all(b"ping").unwrap();
                let mut buf = [0u8; 4];
                c.read_exact(&mut buf).unwrap();
                assert_eq!(&buf, b"ping");
            } else {
                c.write_all(REQUEST).unwrap();
                let mut buf = [0u8; 512];
                let n = c.read(&mut buf).unwrap();
                assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK"));
            }
            drop(c);
            server.signal(sig);
            server.line("shutting down");
            let (status, out) = server.exit_status();
            assert!(
                status.success(),
                "{name} on {driver}, signal {sig}: exit {status}; output {out:?}"
            );
        }
    }
}
