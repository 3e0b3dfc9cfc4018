//! Tests of the HTTP/1.1 plaintext protocol code that hiver's `http_server` example and the
//! tokio and monoio peer servers share (`examples/support/http.rs`; examples' own tests do
//! not run, so they live here).

#[path = "../../examples/support/http.rs"]
mod http;

use http::{
    parse, Conn, Error, Next, Parse, Parser, Request, Version, BAD_REQUEST, HELLO, HELLO_CLOSE,
    HELLO_KEEP_ALIVE, MAX_REQUEST_SIZE, READ_BUF_SIZE,
};

const GET: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n";

fn complete(buf: &[u8]) -> Request {
    match parse(buf) {
        Parse::Complete(req) => req,
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(buf)),
    }
}

fn invalid(buf: &[u8]) -> Error {
    match parse(buf) {
        Parse::Invalid(e) => e,
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(buf)),
    }
}

/// Feeds `input` to a fresh connection in chunks of `chunk` bytes (each read at most as
/// large as the connection offers); returns everything written and whether it closed.
fn converse(input: &[u8], chunk: usize) -> (Vec<u8>, bool) {
    let mut conn = Conn::new();
    let mut written = Vec::new();
    let mut out = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let spare = conn.spare();
        assert!(!spare.is_empty(), "no room to read into");
        let n = chunk.min(spare.len()).min(rest.len());
        spare[..n].copy_from_slice(&rest[..n]);
        rest = &rest[n..];
        conn.filled(n);
        out.clear();
        let next = conn.process(&mut out);
        written.extend_from_slice(&out);
        if next == Next::Close {
            return (written, true);
        }
    }
    (written, false)
}

fn repeat(response: &[u8], n: usize) -> Vec<u8> {
    response.repeat(n)
}

#[test]
fn simple_get() {
    let req = complete(GET);
    assert_eq!(req.len, GET.len());
    assert_eq!(req.head_len, GET.len());
    assert_eq!(req.method(GET), b"GET");
    assert_eq!(req.target(GET), b"/plaintext");
    assert_eq!(req.version, Version::Http11);
    assert_eq!(req.content_length, 0);
    assert_eq!(req.headers, 1);
    assert!(req.keep_alive);
}

#[test]
fn no_headers_and_many_headers() {
    let req = complete(b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(req.headers, 0);
    let mut many = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..http::MAX_HEADERS {
        many.extend_from_slice(format!("X-{i}: {i}\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    assert_eq!(complete(&many).headers, http::MAX_HEADERS);
    let mut too_many = many[..many.len() - 2].to_vec();
    too_many.extend_from_slice(b"X-last: 1\r\n\r\n");
    assert_eq!(invalid(&too_many), Error::TooManyHeaders);
}

#[test]
fn every_prefix_is_partial() {
    for cut in 0..GET.len() {
        assert_eq!(parse(&GET[..cut]), Parse::Partial, "cut at {cut}");
    }
}

#[test]
fn incremental_parser_matches_one_shot() {
    // One byte at a time through the same parser, as a connection would call it.
    let mut parser = Parser::new();
    for end in 1..GET.len() {
        assert_eq!(parser.parse(&GET[..end]), Parse::Partial);
    }
    assert_eq!(parser.parse(GET), Parse::Complete(complete(GET)));
    // Ready for the next request.
    assert_eq!(parser.parse(GET), Parse::Complete(complete(GET)));
}

#[test]
fn content_length_body() {
    let req = b"POST /submit HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
    let r = complete(req);
    assert_eq!(r.content_length, 5);
    assert_eq!(r.len, req.len());
    assert_eq!(r.body(req), b"hello");
    // Body not all there yet.
    assert_eq!(parse(&req[..req.len() - 1]), Parse::Partial);
    // Bytes after the body belong to the next request.
    let mut two = req.to_vec();
    two.extend_from_slice(GET);
    assert_eq!(complete(&two).len, req.len());
    // The body is not interpreted: a CRLF CRLF inside it ends nothing.
    let tricky = b"POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\n\r\n\r\n";
    assert_eq!(complete(tricky).len, tricky.len());
}

#[test]
fn incremental_body() {
    let req = b"POST / HTTP/1.1\r\ncontent-length: 3\r\n\r\nabc";
    let mut parser = Parser::new();
    for end in 1..req.len() {
        assert_eq!(parser.parse(&req[..end]), Parse::Partial, "end {end}");
    }
    let r = match parser.parse(req) {
        Parse::Complete(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(r.body(req), b"abc");
}

#[test]
fn content_length_rules() {
    assert_eq!(
        complete(b"POST / HTTP/1.1\r\nContent-Length:  2 \r\n\r\nab").content_length,
        2
    );
    // The same value twice is fine; two different values are not.
    let same = b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx";
    assert_eq!(complete(same).content_length, 1);
    for bad in [
        &b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx"[..],
        b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\nx",
        b"POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\nx",
        b"POST / HTTP/1.1\r\nContent-Length: \r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n",
    ] {
        assert_eq!(
            invalid(bad),
            Error::ContentLength,
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    // Larger than a connection buffers: refused at once, without waiting for the body.
    let huge = format!("POST / HTTP/1.1\r\nContent-Length: {MAX_REQUEST_SIZE}\r\n\r\n");
    assert_eq!(invalid(huge.as_bytes()), Error::TooLarge);
    // Chunked bodies are not supported.
    assert_eq!(
        invalid(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
        Error::TransferEncoding
    );
}

#[test]
fn connection_header_and_versions() {
    let close = complete(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(!close.keep_alive);
    let close = complete(b"GET / HTTP/1.1\r\nconnection: Upgrade, CLOSE\r\n\r\n");
    assert!(!close.keep_alive);
    let keep = complete(b"GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n");
    assert!(keep.keep_alive);
    let old = complete(b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(old.version, Version::Http10);
    assert!(!old.keep_alive);
    let old_keep = complete(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
    assert!(old_keep.keep_alive);
    assert_eq!(invalid(b"GET / HTTP/2.0\r\n\r\n"), Error::Version);
    assert_eq!(invalid(b"GET / HTTP/1.2\r\n\r\n"), Error::Version);
}

#[test]
fn malformed_input() {
    let cases: &[(&[u8], Error)] = &[
        (b"GET / HTTP/1.1\n\n", Error::BareLf),
        (b"GET / HTTP/1.1\r\nHost: x\n\r\n", Error::BareLf),
        (b"\n", Error::BareLf),
        (b"GET /\r\n\r\n", Error::RequestLine),
        (b"GET\r\n\r\n", Error::RequestLine),
        (b" / HTTP/1.1\r\n\r\n", Error::RequestLine),
        (b"GET  / HTTP/1.1\r\n\r\n", Error::RequestLine),
        (b"GET / HTTP/1.1 \r\n\r\n", Error::RequestLine),
        (b"G(T / HTTP/1.1\r\n\r\n", Error::RequestLine),
        (b"GET /a\x01b HTTP/1.1\r\n\r\n", Error::RequestLine),
        (b"GET / http/1.1\r\n\r\n", Error::RequestLine),
        (b"GET / HTTP/1.1\r\nNoColon\r\n\r\n", Error::HeaderName),
        (b"GET / HTTP/1.1\r\n: empty\r\n\r\n", Error::HeaderName),
        (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", Error::HeaderName),
        (
            b"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
            Error::HeaderName,
        ),
        (b"GET / HTTP/1.1\r\nA: b\x00c\r\n\r\n", Error::HeaderValue),
        (b"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", Error::HeaderValue),
    ];
    for (input, error) in cases {
        assert_eq!(
            invalid(input),
            *error,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    // A bare LF is caught as soon as it arrives, not after the head would have ended.
    assert_eq!(parse(b"GET / HTTP/1.1\n"), Parse::Invalid(Error::BareLf));
}

#[test]
fn header_values_and_blank_lines() {
    // Tabs and obs-text in values are allowed; OWS is trimmed.
    let r = b"GET / HTTP/1.1\r\nX-A:\tb c\t\r\nX-B: caf\xc3\xa9\r\nX-C:\r\n\r\n";
    assert_eq!(complete(r).headers, 3);
    // Blank lines before the request line are skipped (and counted in the length).
    let r = b"\r\n\r\nGET /x HTTP/1.1\r\n\r\n";
    let req = complete(r);
    assert_eq!(req.len, r.len());
    assert_eq!(req.target(r), b"/x");
    assert_eq!(parse(b"\r\n"), Parse::Partial);
    assert_eq!(parse(b"\r\n\r"), Parse::Partial);
}

#[test]
fn responses() {
    assert_eq!(
        HELLO,
        b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!"
    );
    let body_of = |r: &[u8]| {
        let i = r.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        r.len() - (i + 4)
    };
    for r in [HELLO, HELLO_CLOSE, HELLO_KEEP_ALIVE] {
        assert_eq!(body_of(r), 13);
        assert!(r.ends_with(b"Hello, World!"));
    }
    assert_eq!(body_of(BAD_REQUEST), 0);
    assert!(BAD_REQUEST.starts_with(b"HTTP/1.1 400 Bad Request\r\n"));

    let (out, closed) = converse(b"HEAD / HTTP/1.1\r\n\r\n", 64);
    assert!(!closed);
    assert_eq!(out, &HELLO[..HELLO.len() - 13]);
    let (out, closed) = converse(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 64);
    assert_eq!((out.as_slice(), closed), (HELLO_KEEP_ALIVE, false));
    let (out, closed) = converse(b"GET / HTTP/1.0\r\n\r\n", 64);
    assert_eq!((out.as_slice(), closed), (HELLO_CLOSE, true));
}

#[test]
fn pipelined_requests_answered_in_order_in_one_batch() {
    let mut input = Vec::new();
    for _ in 0..16 {
        input.extend_from_slice(GET);
    }
    let mut conn = Conn::new();
    let spare = conn.spare();
    spare[..input.len()].copy_from_slice(&input);
    conn.filled(input.len());
    let mut out = Vec::new();
    assert_eq!(conn.process(&mut out), Next::Read);
    assert_eq!(out, repeat(HELLO, 16));
    assert!(conn.pending().is_empty());
}

#[test]
fn pipelined_requests_split_at_every_size() {
    let mut input = Vec::new();
    input.extend_from_slice(GET);
    input.extend_from_slice(b"POST /p HTTP/1.1\r\nContent-Length: 7\r\n\r\npayload");
    input.extend_from_slice(b"\r\n"); // a stray CRLF after a body, which servers skip
    input.extend_from_slice(GET);
    input.extend_from_slice(b"HEAD / HTTP/1.1\r\n\r\n");
    let mut expected = repeat(HELLO, 3);
    expected.extend_from_slice(&HELLO[..HELLO.len() - 13]);
    for chunk in 1..=input.len() {
        let (out, closed) = converse(&input, chunk);
        assert!(!closed, "chunk {chunk}");
        assert_eq!(out, expected, "chunk {chunk}");
    }
}

#[test]
fn connection_close_stops_the_pipeline() {
    let mut input = GET.to_vec();
    input.extend_from_slice(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    input.extend_from_slice(GET); // never answered
    let (out, closed) = converse(&input, input.len());
    assert!(closed);
    let mut expected = HELLO.to_vec();
    expected.extend_from_slice(HELLO_CLOSE);
    assert_eq!(out, expected);
}

#[test]
fn malformed_request_after_good_ones_gets_400_and_close() {
    let mut input = GET.to_vec();
    input.extend_from_slice(b"GARBAGE\r\n\r\n");
    input.extend_from_slice(GET);
    let (out, closed) = converse(&input, 7);
    assert!(closed);
    let mut expected = HELLO.to_vec();
    expected.extend_from_slice(BAD_REQUEST);
    assert_eq!(out, expected);
}

#[test]
fn large_request_grows_the_buffer() {
    // A head of about 20 KiB: larger than the 4 KiB read buffer, within the cap.
    let mut input = b"GET /big HTTP/1.1\r\n".to_vec();
    for i in 0..80 {
        input.extend_from_slice(format!("X-Filler-{i}: {}\r\n", "v".repeat(240)).as_bytes());
    }
    input.extend_from_slice(b"\r\n");
    assert!(input.len() > 4 * READ_BUF_SIZE);
    let body = vec![b'z'; 30_000];
    let mut post = format!(
        "POST /up HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    post.extend_from_slice(&body);
    input.extend_from_slice(&post);
    input.extend_from_slice(GET);

    let mut conn = Conn::new();
    assert_eq!(conn.capacity(), READ_BUF_SIZE);
    let mut out = Vec::new();
    let mut rest = &input[..];
    while !rest.is_empty() {
        let spare = conn.spare();
        let n = spare.len().min(rest.len()).min(READ_BUF_SIZE);
        spare[..n].copy_from_slice(&rest[..n]);
        rest = &rest[n..];
        conn.filled(n);
        assert_eq!(conn.process(&mut out), Next::Read);
        assert!(conn.capacity() <= MAX_REQUEST_SIZE);
    }
    assert_eq!(out, repeat(HELLO, 3));
    assert!(conn.capacity() > READ_BUF_SIZE);
}

#[test]
fn request_over_the_cap_gets_400() {
    // A head that never ends: 400 once the buffer is at its cap, not a hang.
    let mut input = b"GET / HTTP/1.1\r\n".to_vec();
    while input.len() <= MAX_REQUEST_SIZE + 100 {
        input.extend_from_slice(
            b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
        );
    }
    let (out, closed) = converse(&input, READ_BUF_SIZE);
    assert!(closed);
    assert_eq!(out, BAD_REQUEST);
    assert_eq!(invalid(&input), Error::TooLarge);

    // A body over the cap is refused as soon as its head is read.
    let input = format!(
        "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\nabc",
        MAX_REQUEST_SIZE * 2
    );
    let (out, closed) = converse(input.as_bytes(), 10);
    assert!(closed);
    assert_eq!(out, BAD_REQUEST);
}

#[test]
fn owned_buffer_path() {
    // What a runtime with owned buffers (monoio) does: take, read into the range, give back.
    let mut conn = Conn::new();
    let range = conn.read_range();
    assert_eq!(range, 0..READ_BUF_SIZE);
    let mut buf = conn.take_buffer();
    buf[range.start..range.start + GET.len()].copy_from_slice(GET);
    conn.put_buffer(buf);
    conn.filled(GET.len());
    let mut out = Vec::new();
    assert_eq!(conn.process(&mut out), Next::Read);
    assert_eq!(out, HELLO);
    // A partial request stays, moved to the front on the next read.
    out.clear();
    let range = conn.read_range();
    let mut buf = conn.take_buffer();
    buf[range.start..range.start + 5].copy_from_slice(&GET[..5]);
    conn.put_buffer(buf);
    conn.filled(5);
    assert_eq!(conn.process(&mut out), Next::Read);
    assert!(out.is_empty());
    assert_eq!(conn.pending(), &GET[..5]);
    assert_eq!(conn.read_range(), 5..READ_BUF_SIZE);
}

#[test]
fn discard_for_the_lingering_close() {
    // At the cap with a partial request: nothing left to read into, but the lingering
    // close still gets the whole buffer to discard into.
    let mut input = b"GET / HTTP/1.1\r\n".to_vec();
    input.resize(MAX_REQUEST_SIZE, b'a');
    let mut conn = Conn::new();
    let mut rest = &input[..];
    let mut out = Vec::new();
    let mut next = Next::Read;
    while !rest.is_empty() {
        let spare = conn.spare();
        let n = spare.len().min(rest.len());
        spare[..n].copy_from_slice(&rest[..n]);
        rest = &rest[n..];
        conn.filled(n);
        next = conn.process(&mut out);
    }
    assert_eq!(next, Next::Close);
    assert_eq!(out, BAD_REQUEST);
    assert_eq!(conn.discard().len(), MAX_REQUEST_SIZE);
    assert!(conn.pending().is_empty());
    const { assert!(http::LINGER_BYTES >= MAX_REQUEST_SIZE) };
}
