//! The service of the hyper servers: `Hello, World!` (`text/plain`) to every request,
//! and the settings of hyper's HTTP/1 connections. hiver's `hyper_server` example and the
//! `hyper_hiver` and `hyper_tokio` servers of `perf/run` include this file with `#[path]`,
//! so they differ only in their runtime.

#![allow(dead_code)] // each server uses what it needs

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Request, Response};

/// A client that opened a connection must send each request head within this (hyper
/// arms the timer for every request; both runtimes' servers pay for it alike).
pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The body of every response.
pub(crate) const HELLO_BODY: &[u8] = b"Hello, World!";

/// Answers any request with `200 OK` and [`HELLO_BODY`] (hyper adds `content-length`
/// and `date`; keep-alive is hyper's default).
pub(crate) async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut res = Response::new(Full::new(Bytes::from_static(HELLO_BODY)));
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(res)
}

/// Whether a connection's error is routine for a server (the client went away, or sent
/// nothing before it closed): not worth a line on stderr.
pub(crate) fn is_routine(e: &hyper::Error) -> bool {
    use std::io::ErrorKind::{BrokenPipe, ConnectionReset};
    if e.is_incomplete_message() || e.is_canceled() {
        return true;
    }
    let io = std::error::Error::source(e).and_then(|s| s.downcast_ref::<std::io::Error>());
    io.is_some_and(|io| matches!(io.kind(), ConnectionReset | BrokenPipe))
}

/// Serves one connection with hyper's HTTP/1 server, [`hello`] to every request, on the
/// runtime `io` and `timer` come from; a routine end (see [`is_routine`]) is `Ok`.
pub(crate) async fn serve<I, T>(io: I, timer: T) -> std::io::Result<()>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + 'static,
    T: hyper::rt::Timer + Send + Sync + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(timer)
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let served = builder
        .serve_connection(io, hyper::service::service_fn(hello))
        .await;
    match served {
        Err(e) if !is_routine(&e) => Err(std::io::Error::other(e)),
        _ => Ok(()),
    }
}
