//! HTTP/1.1 plaintext, the protocol half of every HTTP benchmark server: hiver's
//! `http_server` example and the tokio and monoio peers in `benches/src/bin/` include this
//! file with `#[path]`, so the servers differ only in their runtime. Nothing here is async
//! or knows a runtime.
//!
//! - `Parser` reads one request from the start of a byte buffer, incrementally: after
//!   `Parse::Partial` it is called again with the same bytes plus the ones read since,
//!   and scans only the new ones for the end of the head. It checks the request line and
//!   the header lines, honours `Content-Length` (the body is skipped, never interpreted),
//!   and reports malformed input as `Parse::Invalid`.
//! - `Conn` is one connection's input buffer: it starts at `READ_BUF_SIZE` bytes, grows by
//!   doubling up to `MAX_REQUEST_SIZE` for a request that does not fit, answers every
//!   complete (pipelined) request in it in order into one output buffer, and says when the
//!   connection must be closed (`Connection: close`, HTTP/1.0 without keep-alive, or a
//!   `400 Bad Request` after malformed input); the server then closes lingering
//!   (`LINGER_BYTES`).
//!
//! Every request is answered `200 OK` with `Hello, World!` (no `Date` header: the servers
//! send the same fixed bytes). Not supported, answered 400: `Transfer-Encoding` (chunked
//! bodies), obsolete line folding, a bare LF as line end, versions other than 1.0 and 1.1,
//! and requests (head and body) larger than `MAX_REQUEST_SIZE`.
//!
//! The tests are `benches/tests/http_protocol.rs` (examples' own tests do not run).

#![allow(dead_code)] // each server uses the half it needs

use std::ops::Range;

/// The size of a connection's read buffer, the same for every server.
pub(crate) const READ_BUF_SIZE: usize = 4096;

/// The largest request (head and body) a connection buffers; a larger one is answered 400.
pub(crate) const MAX_REQUEST_SIZE: usize = 64 * 1024;

/// After `Next::Close` a server shuts its side down (`shutdown(Write)`) and reads and
/// discards at most this many more bytes, until the client closes (a lingering close): a
/// socket closed with unread input sends a reset, which can destroy the response (the
/// `400`, or the answers before a `Connection: close`) before the client has read it.
pub(crate) const LINGER_BYTES: usize = 256 * 1024;

/// The most header lines a request may have.
pub(crate) const MAX_HEADERS: usize = 100;

/// The body of every `200 OK`.
pub(crate) const HELLO_BODY: &[u8] = b"Hello, World!";

/// The response to a keep-alive HTTP/1.1 request.
pub(crate) const HELLO: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!";

/// The response to a request that asked for the connection to be closed (or an HTTP/1.0
/// request without keep-alive).
pub(crate) const HELLO_CLOSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nHello, World!";

/// The response to an HTTP/1.0 request that asked for keep-alive.
pub(crate) const HELLO_KEEP_ALIVE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\n\r\nHello, World!";

/// The response to malformed input; the connection is closed after it.
pub(crate) const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// The HTTP version of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    Http10,
    Http11,
}

/// A complete request at the start of the parsed buffer. Ranges are offsets into that
/// buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    /// Bytes of the whole request, head and body: where the next pipelined request starts.
    pub(crate) len: usize,
    /// Bytes of the head, up to and including the empty line (blank lines before the
    /// request line, which a server should ignore, are counted in).
    pub(crate) head_len: usize,
    pub(crate) method: Range<usize>,
    pub(crate) target: Range<usize>,
    pub(crate) version: Version,
    pub(crate) content_length: usize,
    /// Whether the connection stays open after the response.
    pub(crate) keep_alive: bool,
    pub(crate) headers: usize,
}

impl Request {
    /// The method's bytes, from the buffer this request was parsed from.
    pub(crate) fn method<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        &buf[self.method.clone()]
    }

    /// The request target's bytes, from the buffer this request was parsed from.
    pub(crate) fn target<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        &buf[self.target.clone()]
    }

    /// The body's bytes, from the buffer this request was parsed from.
    pub(crate) fn body<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        &buf[self.head_len..self.len]
    }
}

/// What is wrong with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Error {
    /// A line ends in LF without CR.
    BareLf,
    /// The request line is not `METHOD SP TARGET SP VERSION`.
    RequestLine,
    /// The version is not `HTTP/1.0` or `HTTP/1.1`.
    Version,
    /// A header line has no colon, an empty or invalid name, or starts with whitespace
    /// (obsolete line folding).
    HeaderName,
    /// A header value holds a control character.
    HeaderValue,
    /// More than `MAX_HEADERS` header lines.
    TooManyHeaders,
    /// `Content-Length` is not a number, or two of them differ.
    ContentLength,
    /// `Transfer-Encoding` is not supported.
    TransferEncoding,
    /// The request is larger than `MAX_REQUEST_SIZE`.
    TooLarge,
}

/// The outcome of parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parse {
    /// A whole request, head and body, is at the start of the buffer.
    Complete(Request),
    /// More bytes are needed.
    Partial,
    /// The input is malformed: answer `BAD_REQUEST` and close.
    Invalid(Error),
}

/// An incremental parser of the request at the start of a buffer. After `Partial`, call
/// `parse` again with the same bytes plus the new ones; after `Complete` it is ready for
/// the next request (whose bytes start at the old start plus `Request::len`).
#[derive(Debug, Default)]
pub(crate) struct Parser {
    /// Bytes already scanned for the end of the head without finding it.
    scanned: usize,
    /// A parsed head whose body is still incomplete.
    head: Option<Request>,
}

/// Parses the request at the start of `buf` with a fresh parser.
pub(crate) fn parse(buf: &[u8]) -> Parse {
    Parser::new().parse(buf)
}

impl Parser {
    pub(crate) fn new() -> Parser {
        Parser::default()
    }

    /// Parses the request at the start of `buf`.
    pub(crate) fn parse(&mut self, buf: &[u8]) -> Parse {
        match self.head.take() {
            Some(req) if buf.len() >= req.len => {
                self.scanned = 0;
                return Parse::Complete(req);
            }
            Some(req) => {
                self.head = Some(req);
                return Parse::Partial;
            }
            None => {}
        }
        let head_len = match find_head_end(buf, self.scanned) {
            Err(e) => return Parse::Invalid(e),
            Ok(None) => {
                self.scanned = buf.len();
                return if buf.len() >= MAX_REQUEST_SIZE {
                    Parse::Invalid(Error::TooLarge)
                } else {
                    Parse::Partial
                };
            }
            Ok(Some(end)) => end,
        };
        let req = match parse_head(&buf[..head_len]) {
            Ok(req) => req,
            Err(e) => return Parse::Invalid(e),
        };
        if req.len > MAX_REQUEST_SIZE {
            return Parse::Invalid(Error::TooLarge);
        }
        if buf.len() >= req.len {
            self.scanned = 0;
            Parse::Complete(req)
        } else {
            self.head = Some(req);
            Parse::Partial
        }
    }
}

/// The offset just past the `\r\n\r\n` that ends the head, scanning from `from`. Blank
/// lines before the request line are skipped. A LF not preceded by CR is an error.
fn find_head_end(buf: &[u8], from: usize) -> Result<Option<usize>, Error> {
    let skip = leading_blank_lines(buf);
    let mut i = from.max(skip);
    while let Some(p) = buf[i..].iter().position(|&b| b == b'\n') {
        let nl = i + p;
        if nl == 0 || buf[nl - 1] != b'\r' {
            return Err(Error::BareLf);
        }
        if nl >= skip + 3 && buf[nl - 2] == b'\n' {
            return Ok(Some(nl + 1));
        }
        i = nl + 1;
    }
    Ok(None)
}

/// Bytes of the `\r\n` pairs at the start of `buf`.
fn leading_blank_lines(buf: &[u8]) -> usize {
    let mut n = 0;
    while buf[n..].starts_with(b"\r\n") {
        n += 2;
    }
    n
}

/// `tchar` of RFC 9110: the bytes of a method or a header name.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses a complete head (blank lines, request line, header lines, empty line).
fn parse_head(head: &[u8]) -> Result<Request, Error> {
    let start = leading_blank_lines(head);
    // Every line ends in CRLF (checked while scanning); drop the final empty line.
    let body = &head[start..head.len() - 2];
    let mut lines = body
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| &l[..l.len() - 1]);
    let request_line = lines.next().ok_or(Error::RequestLine)?;

    let mut parts = request_line.splitn(3, |&b| b == b' ');
    let method = parts.next().unwrap_or_default();
    let target = parts.next().ok_or(Error::RequestLine)?;
    let version = parts.next().ok_or(Error::RequestLine)?;
    if method.is_empty() || !method.iter().all(|&b| is_token(b)) {
        return Err(Error::RequestLine);
    }
    if target.is_empty() || !target.iter().all(|&b| b.is_ascii_graphic()) {
        return Err(Error::RequestLine);
    }
    let version = match version {
        b"HTTP/1.1" => Version::Http11,
        b"HTTP/1.0" => Version::Http10,
        v if v.starts_with(b"HTTP/") && v.iter().all(|b| b.is_ascii_graphic()) => {
            return Err(Error::Version)
        }
        _ => return Err(Error::RequestLine),
    };
    let method_start = start;
    let target_start = method_start + method.len() + 1;

    let mut content_length: Option<usize> = None;
    let mut close = false;
    let mut keep_alive_token = false;
    let mut headers = 0;
    for line in lines {
        headers += 1;
        if headers > MAX_HEADERS {
            return Err(Error::TooManyHeaders);
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(Error::HeaderName)?;
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| is_token(b)) {
            return Err(Error::HeaderName);
        }
        let value = trim_ows(&line[colon + 1..]);
        if !value
            .iter()
            .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80)
        {
            return Err(Error::HeaderValue);
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = parse_content_length(value)?;
            if content_length.is_some_and(|m| m != n) {
                return Err(Error::ContentLength);
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Err(Error::TransferEncoding);
        } else if name.eq_ignore_ascii_case(b"connection") {
            for option in value.split(|&b| b == b',').map(trim_ows) {
                if option.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if option.eq_ignore_ascii_case(b"keep-alive") {
                    keep_alive_token = true;
                }
            }
        }
    }
    let content_length = content_length.unwrap_or(0);
    let keep_alive = !close && (version == Version::Http11 || keep_alive_token);
    Ok(Request {
        len: head.len().saturating_add(content_length),
        head_len: head.len(),
        method: method_start..method_start + method.len(),
        target: target_start..target_start + target.len(),
        version,
        content_length,
        keep_alive,
        headers,
    })
}

/// `value` without its leading and trailing spaces and tabs.
fn trim_ows(value: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !is_ows(b)).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &value[start..end]
}

/// A `Content-Length` value: one or more digits, no sign, no list, no overflow.
fn parse_content_length(value: &[u8]) -> Result<usize, Error> {
    if value.is_empty() {
        return Err(Error::ContentLength);
    }
    value.iter().try_fold(0usize, |n, &b| {
        if !b.is_ascii_digit() {
            return Err(Error::ContentLength);
        }
        n.checked_mul(10)
            .and_then(|n| n.checked_add(usize::from(b - b'0')))
            .ok_or(Error::ContentLength)
    })
}

/// Appends the response to `req` to `out`.
pub(crate) fn write_response(req: &Request, method: &[u8], out: &mut Vec<u8>) {
    let full = if !req.keep_alive {
        HELLO_CLOSE
    } else if req.version == Version::Http10 {
        HELLO_KEEP_ALIVE
    } else {
        HELLO
    };
    if method == b"HEAD" {
        out.extend_from_slice(&full[..full.len() - HELLO_BODY.len()]);
    } else {
        out.extend_from_slice(full);
    }
}

/// What a server does after `Conn::process`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Write the output (if any), then read more.
    Read,
    /// Write the output (if any), then close the connection.
    Close,
}

/// One connection's input: a buffer, the unconsumed bytes in it, and the parser of the
/// request they start.
///
/// A server's loop, with a runtime whose `read` takes a borrowed slice:
///
/// ```text
/// loop {
///     let n = stream.read(conn.spare()).await?;
///     if n == 0 { break }
///     conn.filled(n);
///     out.clear();
///     let next = conn.process(&mut out);
///     if !out.is_empty() { stream.write_all(&out).await? }
///     if next == Next::Close { break }
/// }
/// // Lingering close: shut down the write side, then read into `conn.discard()` until
/// // EOF, an error or `LINGER_BYTES`.
/// ```
///
/// A runtime that reads into owned buffers takes the buffer with `take_buffer`, reads into
/// the range `read_range` returned, and gives it back with `put_buffer`.
#[derive(Debug)]
pub(crate) struct Conn {
    buf: Box<[u8]>,
    /// The first byte not yet consumed by a complete request.
    start: usize,
    /// The end of the bytes received.
    end: usize,
    parser: Parser,
}

impl Default for Conn {
    fn default() -> Conn {
        Conn::new()
    }
}

impl Conn {
    /// A connection with a `READ_BUF_SIZE` buffer.
    pub(crate) fn new() -> Conn {
        Conn {
            buf: vec![0; READ_BUF_SIZE].into_boxed_slice(),
            start: 0,
            end: 0,
            parser: Parser::new(),
        }
    }

    /// Makes room for a read (moves unconsumed bytes to the front, doubles the buffer if
    /// they fill it, up to `MAX_REQUEST_SIZE`) and returns the range of the buffer to read
    /// into. Never empty after `process` returned `Next::Read`.
    pub(crate) fn read_range(&mut self) -> Range<usize> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() && self.buf.len() < MAX_REQUEST_SIZE {
            let mut bigger = vec![0; (self.buf.len() * 2).min(MAX_REQUEST_SIZE)];
            bigger[..self.end].copy_from_slice(&self.buf[..self.end]);
            self.buf = bigger.into_boxed_slice();
        }
        self.end..self.buf.len()
    }

    /// The part of the buffer to read into (see `read_range`).
    pub(crate) fn spare(&mut self) -> &mut [u8] {
        let range = self.read_range();
        &mut self.buf[range]
    }

    /// Lends the whole buffer out, for a runtime that reads into owned buffers; give it
    /// back with `put_buffer` before any other call.
    pub(crate) fn take_buffer(&mut self) -> Box<[u8]> {
        std::mem::take(&mut self.buf)
    }

    /// Gives back the buffer `take_buffer` lent.
    pub(crate) fn put_buffer(&mut self, buf: Box<[u8]>) {
        self.buf = buf;
    }

    /// Records that `n` bytes were read into the range `read_range` returned.
    pub(crate) fn filled(&mut self, n: usize) {
        self.end += n;
        assert!(self.end <= self.buf.len(), "filled past the read range");
    }

    /// For a lingering close after `Next::Close`: drops every received byte and returns
    /// the whole buffer to read (and discard) into.
    pub(crate) fn discard(&mut self) -> &mut [u8] {
        self.start = 0;
        self.end = 0;
        self.parser = Parser::new();
        &mut self.buf
    }

    /// The current size of the buffer.
    pub(crate) fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// The received bytes not yet consumed by a complete request.
    pub(crate) fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Answers every complete request in the buffer, in order, appending the responses to
    /// `out`, and says what to do next. After `Next::Close` the connection must not be
    /// read again.
    pub(crate) fn process(&mut self, out: &mut Vec<u8>) -> Next {
        while self.start < self.end {
            let input = &self.buf[self.start..self.end];
            match self.parser.parse(input) {
                Parse::Complete(req) => {
                    write_response(&req, req.method(input), out);
                    self.start += req.len;
                    if !req.keep_alive {
                        return Next::Close;
                    }
                }
                Parse::Partial => return Next::Read,
                Parse::Invalid(_) => {
                    out.extend_from_slice(BAD_REQUEST);
                    return Next::Close;
                }
            }
        }
        Next::Read
    }
}
