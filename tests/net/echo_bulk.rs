//! Bulk echo: 16 MiB in total over 100 concurrent connections, every byte checked, on each
//! driver.
//!
//! One runtime with two workers runs both ends as tasks. The server spawns a task per
//! accepted connection, echoing until end of stream. Each client splits its stream with
//! `into_split`: a spawned task writes the client's share of patterned bytes (seeded by the
//! connection's index, in chunks of varying size) and drops its half, which shuts the write
//! side down; the client task reads the echo back (with a buffer size of its own) and
//! checks every byte against the pattern, then the end of stream.

use std::io;
use std::net::SocketAddr;

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::spawn;

use crate::support::{drivers, pattern, pattern_at, run, serial};

const TOTAL: usize = 16 << 20;
const CONNS: usize = 100;
/// The sizes of successive `write_all` calls (cycled).
const WRITES: [usize; 7] = [1, 10, 1500, 4096, 65_536, 200_000, 17];
/// The read buffer sizes of the clients (by index) and the server.
const READS: [usize; 3] = [512, 4096, 65_536];

/// Connection `i`'s share of [`TOTAL`] (the shares add up to it exactly).
fn share(i: usize) -> usize {
    TOTAL / CONNS + usize::from(i < TOTAL % CONNS)
}

/// Echoes until end of stream; returns the bytes echoed.
async fn echo(mut stream: TcpStream) -> io::Result<usize> {
    let mut buf = vec![0u8; 16 * 1024];
    let mut total = 0;
    // Each pass echoes at least one byte: bounded by the bytes sent.
    for _ in 0..=TOTAL {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(total);
        }
        stream.write_all(&buf[..n]).await?;
        total += n;
    }
    Err(io::Error::other("echo: more reads than bytes sent"))
}

/// Client `i`: writes its share from one task, reads the echo back in this one, checks it.
async fn client(addr: SocketAddr, i: usize) -> io::Result<usize> {
    let (len, seed) = (share(i), i as u8);
    let stream = TcpStream::connect(addr).await?;
    let (mut rd, mut wr) = stream.into_split();
    let writer = spawn(async move {
        let data = pattern(len, seed);
        let (mut off, mut k) = (0, i);
        while off < len {
            let n = WRITES[k % WRITES.len()].min(len - off);
            wr.write_all(&data[off..off + n]).await?;
            off += n;
            k += 1;
        }
        // Dropping `wr` shuts the write side down: the server sees end of stream.
        Ok::<_, io::Error>(off)
    });
    let mut buf = vec![0u8; READS[i % READS.len()]];
    let mut got = 0;
    for _ in 0..=len {
        let n = rd.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        if got + n > len {
            return Err(io::Error::other(format!(
                "connection {i}: {} bytes echoed, {len} sent",
                got + n
            )));
        }
        if let Some(k) = (0..n).find(|&k| buf[k] != pattern_at(got + k, seed)) {
            return Err(io::Error::other(format!(
                "connection {i}: byte {} is {:#04x}, sent {:#04x}",
                got + k,
                buf[k],
                pattern_at(got + k, seed)
            )));
        }
        got += n;
    }
    let written = writer.await.expect("writer task")?;
    assert_eq!(written, len, "connection {i}: bytes written");
    assert_eq!(
        got, len,
        "connection {i}: bytes echoed before end of stream"
    );
    Ok(got)
}

#[test]
fn echo_16_mib_over_100_connections() {
    let _serial = serial();
    for driver in drivers() {
        let (echoed, verified) = run(driver, 2, "bulk echo", async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let server = spawn(async move {
                let mut conns = Vec::with_capacity(CONNS);
                for _ in 0..CONNS {
                    let (stream, _) = listener.accept().await?;
                    conns.push(spawn(echo(stream)));
                }
                let mut total = 0;
                for c in conns {
                    total += c.await.expect("echo task")?;
                }
                Ok::<_, io::Error>(total)
            });
            let clients: Vec<_> = (0..CONNS).map(|i| spawn(client(addr, i))).collect();
            let mut verified = 0;
            for c in clients {
                verified += c.await.expect("client task")?;
            }
            let echoed = server.await.expect("server task")?;
            Ok((echoed, verified))
        });
        assert_eq!(echoed, TOTAL, "{driver}: bytes the server echoed");
        assert_eq!(verified, TOTAL, "{driver}: bytes the clients verified");
    }
}
