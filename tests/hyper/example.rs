//! The `hyper_server` example as a process (`cargo test` builds it first, with the
//! `hyper` feature on): asked by `curl` (two requests on one kept-alive connection) and by
//! hyper's own HTTP/1 client running on hiver; then stopped by SIGTERM, it exits 0.

use std::process::Command;

use bytes::Bytes;
use hiver_runtime::compat::HyperIo;
use hiver_runtime::io::TcpStream;
use http_body_util::{BodyExt, Empty};

#[path = "../common/process.rs"]
mod process;

use crate::support::{drivers, runtime, within};
use process::{Server, STEP};

fn flag(driver: hiver_runtime::DriverType) -> &'static str {
    match driver {
        hiver_runtime::DriverType::IOUring => "uring",
        hiver_runtime::DriverType::Epoll => "epoll",
        other => panic!("no example flag for {other}"),
    }
}

/// `curl -v` asking twice on one connection: both answers, and curl's word that it kept
/// the connection for the second.
fn curl_twice(addr: std::net::SocketAddr) {
    let url = format!("http://{addr}/");
    let out = Command::new("curl")
        // -q first: no ~/.curlrc; no proxy from the environment for a loopback address.
        .args(["-q", "-sS", "-v", "--noproxy", "*", "--max-time"])
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .arg(STEP.as_secs().to_string())
        .args([&url, &url])
        .output()
        .expect("curl must be installed (Debian: apt-get install -y curl)");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "curl failed: {stderr}");
    assert_eq!(
        stdout, "Hello, World!Hello, World!",
        "curl's stderr: {stderr}"
    );
    assert!(
        stderr.contains("Re-using existing connection")
            || stderr.contains("Reusing existing connection")
            || stderr.contains("Re-using existing http: connection"),
        "the second request went on the same connection: {stderr}"
    );
    assert_eq!(
        stderr.matches("Connected to").count(),
        1,
        "one connection for both: {stderr}"
    );
}

#[test]
fn hyper_server_answers_curl_and_hypers_client_then_exits_0_on_sigterm() {
    // The in-process tests count this process's descriptors: not while ours are open.
    let _serial = crate::support::serial();
    for driver in drivers() {
        let mut server = Server::start(
            "hyper_server",
            &[
                "--addr",
                "127.0.0.1:0",
                "--workers",
                "2",
                "--driver",
                flag(driver),
            ],
        );
        let addr = server.addr();
        curl_twice(addr);
        // hyper's client, on hiver, on the same driver: three requests, one connection.
        let mut rt = runtime(driver, 1);
        rt.block_on(within("hyper client", async {
            let stream = TcpStream::connect(addr).await.unwrap();
            let (mut send, conn) = hyper::client::conn::http1::handshake(HyperIo::new(stream))
                .await
                .unwrap();
            let conn = hiver_runtime::spawn(conn);
            for _ in 0..3 {
                send.ready().await.unwrap();
                let req = hyper::Request::get("/")
                    .header("host", "hiver")
                    .body(Empty::<Bytes>::new())
                    .unwrap();
                let res = send.send_request(req).await.unwrap();
                assert_eq!(res.status(), 200, "on {driver}");
                assert_eq!(res.headers()["content-type"], "text/plain");
                let body = res.into_body().collect().await.unwrap().to_bytes();
                assert_eq!(body, "Hello, World!", "on {driver}");
            }
            drop(send);
            conn.await.unwrap().unwrap();
        }))
        .unwrap();
        drop(rt);
        server.signal(libc::SIGTERM);
        server.line("shutting down");
        let (status, out) = server.exit_status();
        assert!(
            status.success(),
            "on {driver}: exit {status}; output {out:?}"
        );
    }
}
