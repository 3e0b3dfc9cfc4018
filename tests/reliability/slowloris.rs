//! Case 8, slowloris: N clients each send one byte every 300 ms and never finish a
//! request, while a normal client makes its round trips. The server reads each request (64
//! bytes) under a per-request deadline (`timeout` around the whole read loop, 1 s here):
//! every slow client's deadline fires (counted: exactly N), its connection is dropped and
//! its descriptor freed (the server side's descriptor count is back to its baseline), and
//! the normal client's requests are all served meanwhile (latency belongs in a bench).
//!
//! The server is one runtime (1 worker), the slow clients another (1 worker), the normal
//! client a blocking std thread. A slow client ends when it sees the server close (end of
//! stream, or a reset if a byte of its arrived after the deadline): bounded by a step count
//! far beyond the deadline.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::{spawn, timeout, yield_now};

use crate::load::std_pinger;
use crate::support::{
    assert_no_fd_leak, drivers, open_fds, raise_nofile, runtime, scaled, serial, within, Watchdog,
};

/// Bytes of one request (and of its echo).
const REQ: usize = 64;
/// The per-request deadline of the server.
const DEADLINE: Duration = Duration::from_secs(1);
/// How often a slow client sends its byte.
const PERIOD: Duration = Duration::from_millis(300);
/// The most steps a slow client takes before giving up on seeing the server close (40 x
/// 300 ms: twelve deadlines).
const MAX_STEPS: u32 = 40;

#[derive(Default)]
struct Counts {
    timeouts: AtomicU64,
    served: AtomicU64,
    errors: AtomicU64,
}

/// Reads one request into `buf`; `Ok(false)` at end of stream before its first byte.
async fn read_request(s: &mut TcpStream, buf: &mut [u8; REQ]) -> io::Result<bool> {
    let mut got = 0;
    while got < REQ {
        let n = s.read(&mut buf[got..]).await?;
        if n == 0 {
            if got == 0 {
                return Ok(false);
            }
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        got += n;
    }
    Ok(true)
}

/// One connection: requests echoed, each read under [`DEADLINE`]; the connection dropped
/// when a deadline passes. Says `()` on `ended` once the stream is dropped.
async fn serve_conn(mut s: TcpStream, counts: Arc<Counts>, ended: mpsc::Sender<()>) {
    let _ = s.set_nodelay(true);
    let mut buf = [0u8; REQ];
    loop {
        match timeout(DEADLINE, read_request(&mut s, &mut buf)).await {
            Err(_elapsed) => {
                counts.timeouts.fetch_add(1, Ordering::Relaxed);
                break;
            }
            Ok(Ok(false)) => break,
            Ok(Ok(true)) => {
                if s.write_all(&buf).await.is_err() {
                    counts.errors.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                counts.served.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Err(_)) => {
                counts.errors.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
    }
    drop(s);
    let _ = ended.send(());
}

/// A slow client: connects (says so on `connected`), then one byte every [`PERIOD`] until
/// the server closes; returns the bytes it sent.
async fn slow_client(addr: SocketAddr, connected: mpsc::Sender<()>) -> io::Result<u32> {
    let mut s = TcpStream::connect(addr).await?;
    let _ = connected.send(());
    let mut buf = [0u8; 8];
    for step in 0..MAX_STEPS {
        match s.write(b"x").await {
            Ok(_) => {}
            Err(e) if is_closed(&e) => return Ok(step),
            Err(e) => return Err(e),
        }
        match timeout(PERIOD, s.read(&mut buf)).await {
            Err(_elapsed) => {}
            Ok(Ok(0)) => return Ok(step + 1),
            Ok(Ok(n)) => {
                return Err(io::Error::other(format!(
                    "{n} bytes back for an unfinished request"
                )))
            }
            Ok(Err(e)) if is_closed(&e) => return Ok(step + 1),
            Ok(Err(e)) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "the server did not close within {MAX_STEPS} steps of {PERIOD:?}"
    )))
}

fn is_closed(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
    )
}

#[test]
fn slowloris_clients_time_out_and_a_normal_client_finishes() {
    let _serial = serial();
    let slow = scaled(2_000, 200);
    let pings = scaled(10_000, 2_000);
    let _limit = raise_nofile(4 * slow + 512);
    for driver in drivers() {
        let before = open_fds();
        let mut server = runtime(driver, 1);
        let counts = Arc::new(Counts::default());
        let (ended_tx, ended) = mpsc::channel();
        let addr = {
            let counts = counts.clone();
            server
                .block_on(async move {
                    let l = TcpListener::bind("127.0.0.1:0").await?;
                    let addr = l.local_addr()?;
                    drop(spawn(async move {
                        while let Ok((s, _)) = l.accept().await {
                            spawn(serve_conn(s, counts.clone(), ended_tx.clone()));
                        }
                    }));
                    Ok::<_, io::Error>(addr)
                })
                .unwrap()
                .unwrap()
        };
        // The server side's baseline: its runtime and listener, no connection.
        let server_base = open_fds();

        let mut clients = runtime(driver, 1);
        let (connected_tx, connected) = mpsc::channel();
        let slow_tasks: Vec<_> = (0..slow)
            .map(|_| clients.spawn(slow_client(addr, connected_tx.clone())))
            .collect();
        for i in 0..slow {
            connected
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|e| panic!("{driver}: slow client {i} connects: {e}"));
        }
        // Every slow client is connected and dribbling: the normal client runs now.
        let pinger = std::thread::spawn(move || {
            std_pinger(addr, pings, Duration::ZERO, pings, REQ).expect("normal client")
        });
        let latency = {
            let _w = Watchdog::arm("the normal client", Duration::from_secs(60));
            pinger.join().expect("normal client thread")
        };
        let sent: Vec<u32> = clients
            .block_on(within("slow clients", async move {
                let mut sent = Vec::new();
                for (i, h) in slow_tasks.into_iter().enumerate() {
                    let n = h
                        .await
                        .expect("slow client task")
                        .unwrap_or_else(|e| panic!("{driver}: slow client {i}: {e}"));
                    sent.push(n);
                }
                sent
            }))
            .unwrap();
        // Every server connection ended (the slow ones by their deadline, the normal one
        // at its end of stream), and their descriptors are closed.
        for i in 0..slow + 1 {
            ended
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|e| panic!("{driver}: server connection {i} ends: {e}"));
        }
        {
            let _w = Watchdog::arm("dropping the client runtime", Duration::from_secs(30));
            drop(clients);
        }
        // A close on io_uring goes through the ring: let the server's worker turn until the
        // count is back (bounded by `within`, and by a turn count).
        let server_fds = server
            .block_on(within("server descriptors", async move {
                spawn(async move {
                    let mut turns = 0;
                    while open_fds() != server_base && turns < 10_000 {
                        yield_now().await;
                        turns += 1;
                    }
                    open_fds()
                })
                .await
                .expect("probe task")
            }))
            .unwrap();
        let (min, max) = (sent.iter().min().unwrap(), sent.iter().max().unwrap());
        println!(
            "{driver}: {slow} slow clients sent {min}..={max} bytes each before the \
             {DEADLINE:?} deadline closed them; the normal client: {}",
            latency.summary()
        );
        assert_eq!(
            server_fds, server_base,
            "{driver}: server descriptors after every connection ended"
        );
        assert_eq!(
            counts.timeouts.load(Ordering::Relaxed),
            slow,
            "{driver}: per-request deadlines fired"
        );
        assert_eq!(
            counts.served.load(Ordering::Relaxed),
            pings,
            "{driver}: the normal client's requests served"
        );
        assert_eq!(counts.errors.load(Ordering::Relaxed), 0, "{driver}: errors");
        assert_eq!(latency.count(), pings, "{driver}: round trips");
        {
            let _w = Watchdog::arm("dropping the server runtime", Duration::from_secs(30));
            drop(server);
        }
        assert_no_fd_leak(before, format_args!("{driver}: slowloris"));
    }
}
