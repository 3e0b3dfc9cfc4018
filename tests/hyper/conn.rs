//! hyper's connections in process: a server and a client, both on hiver.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use hiver_runtime::compat::{HyperExecutor, HyperIo, HyperTimer};
use hiver_runtime::io::{TcpListener, TcpStream, UnixStream};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};

use crate::support::{assert_no_fd_leak, drivers, open_fds, runtime, serial, within};

/// Answers with the request's path, so that each answer can be told apart.
async fn echo_path(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = format!("you asked for {}", req.uri().path());
    Ok(Response::new(Full::new(Bytes::from(body))))
}

fn get(path: &str) -> Request<Empty<Bytes>> {
    Request::get(path)
        .header("host", "hiver")
        .body(Empty::new())
        .expect("a request")
}

async fn body_of(res: Response<Incoming>) -> String {
    let bytes = res.into_body().collect().await.expect("a body").to_bytes();
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

#[test]
fn http1_keep_alive_requests_on_one_tcp_connection() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 2);
        rt.block_on(within("http1", async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = hiver_runtime::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                hyper::server::conn::http1::Builder::new()
                    .timer(HyperTimer)
                    .serve_connection(HyperIo::new(stream), service_fn(echo_path))
                    .await
            });
            let stream = TcpStream::connect(addr).await.unwrap();
            let (mut send, conn) = hyper::client::conn::http1::handshake(HyperIo::new(stream))
                .await
                .unwrap();
            let client_conn = hiver_runtime::spawn(conn);
            for i in 0..100 {
                send.ready().await.unwrap();
                let res = send.send_request(get(&format!("/{i}"))).await.unwrap();
                assert_eq!(res.status(), 200, "on {driver}");
                assert_eq!(
                    body_of(res).await,
                    format!("you asked for /{i}"),
                    "on {driver}"
                );
            }
            drop(send);
            client_conn.await.unwrap().unwrap();
            server.await.unwrap().unwrap();
        }))
        .unwrap();
        drop(rt);
        assert_no_fd_leak(before, driver);
    }
}

#[test]
fn http2_concurrent_streams_through_the_executor() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 2);
        rt.block_on(within("http2", async {
            let (client, server) = UnixStream::pair().unwrap();
            let server = hiver_runtime::spawn(async move {
                hyper::server::conn::http2::Builder::new(HyperExecutor)
                    .timer(HyperTimer)
                    .serve_connection(HyperIo::new(server), service_fn(echo_path))
                    .await
            });
            let (send, conn) = hyper::client::conn::http2::Builder::new(HyperExecutor)
                .timer(HyperTimer)
                .handshake(HyperIo::new(client))
                .await
                .unwrap();
            let client_conn = hiver_runtime::spawn(conn);
            // 50 requests at once on the one connection, each its own task.
            let asks: Vec<_> = (0..50)
                .map(|i| {
                    let mut send = send.clone();
                    hiver_runtime::spawn(async move {
                        send.ready().await.unwrap();
                        let res = send.send_request(get(&format!("/{i}"))).await.unwrap();
                        body_of(res).await
                    })
                })
                .collect();
            for (i, ask) in asks.into_iter().enumerate() {
                assert_eq!(
                    ask.await.unwrap(),
                    format!("you asked for /{i}"),
                    "on {driver}"
                );
            }
            drop(send);
            client_conn.await.unwrap().unwrap();
            // The client closed its socket when its connection ended: a last frame the
            // server sends then (its GOAWAY) may find no peer.
            if let Err(e) = server.await.unwrap() {
                let io =
                    std::error::Error::source(&e).and_then(|s| s.downcast_ref::<std::io::Error>());
                assert!(
                    io.is_some_and(|io| matches!(
                        io.kind(),
                        std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
                    )),
                    "on {driver}: {e:?}"
                );
            }
        }))
        .unwrap();
        drop(rt);
        assert_no_fd_leak(before, driver);
    }
}

#[test]
fn the_header_read_timeout_runs_on_hivers_timer() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 1);
        rt.block_on(within("timeout", async {
            let (client, server) = UnixStream::pair().unwrap();
            let timeout = Duration::from_millis(100);
            let started = hiver_runtime::Instant::now();
            // The client connects and says nothing: the server gives up after the timeout.
            let served = hyper::server::conn::http1::Builder::new()
                .timer(HyperTimer)
                .header_read_timeout(timeout)
                .serve_connection(HyperIo::new(server), service_fn(echo_path))
                .await;
            let took = started.elapsed();
            let err = served.expect_err("a timeout");
            assert!(err.is_timeout(), "on {driver}: {err}");
            assert!(
                took >= timeout && took < timeout * 10,
                "on {driver}: gave up after {took:?}, not about {timeout:?}"
            );
            drop(client);
        }))
        .unwrap();
        drop(rt);
        assert_no_fd_leak(before, driver);
    }
}

#[test]
fn the_timer_resets_a_sleep_in_place() {
    use hyper::rt::Timer;
    let _serial = serial();
    for driver in drivers() {
        let mut rt = runtime(driver, 1);
        rt.block_on(within("reset", async {
            let timer = HyperTimer;
            let start = timer.now();
            let mut sleep = timer.sleep(Duration::from_secs(3600));
            timer.reset(&mut sleep, start + Duration::from_millis(20));
            sleep.await;
            let took = timer.now() - start;
            assert!(
                took >= Duration::from_millis(20) && took < Duration::from_secs(2),
                "on {driver}: the reset sleep ended after {took:?}"
            );
        }))
        .unwrap();
    }
}

// What hyper asks of the types (checked at compile time).
const _: fn() = || {
    fn io<T: hyper::rt::Read + hyper::rt::Write + Send + Unpin + 'static>() {}
    fn timer<T: hyper::rt::Timer + Clone + Send + Sync + 'static>() {}
    io::<HyperIo<TcpStream>>();
    io::<HyperIo<UnixStream>>();
    timer::<HyperTimer>();
};
