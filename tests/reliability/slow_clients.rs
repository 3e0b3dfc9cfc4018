//! Item 3, fast version: 1,000 connections that each send one byte a second (and read its
//! echo) do not slow a fast client down. A blocking std client measures its echo latency
//! against a 1-worker server, first alone, then with the 1,000 slow clients (run by a
//! second runtime) active. Both p99s are printed; the bound (p99 under 10 ms with
//! the slow clients) is asserted when the quiet run shows a stable machine (quiet p99
//! under 2 ms), and only reported otherwise (other jobs on this 2-core machine can stall
//! any process for milliseconds). The functional property is always checked: the fast
//! client finishes all its echoes (2,000 at least, each byte-exact) while the 1,000 slow
//! clients are connected and alive, each of which echoes once more after the fast client
//! is done (so it was still connected then), every slow echo right.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::sleep;

use crate::load::{serve_echo, std_pinger};
use crate::support::{
    assert_no_fd_leak, drivers, open_fds, raise_nofile, runtime, serial, within, Watchdog,
};

const SLOW: u64 = 1000;
const BOUND: Duration = Duration::from_millis(10);
/// The fast client's round trips, at least (it also runs for at least a second).
const FAST_MIN: u64 = 2_000;

/// A slow client: connects (then counts itself in `connected`), waits `offset`, then sends
/// one byte every `period` and reads its echo, until `stop` is set; then one last echo.
/// Returns its echoes. Bounded: 120 periods at most.
async fn slow_client(
    addr: SocketAddr,
    connected: Arc<AtomicU64>,
    offset: Duration,
    period: Duration,
    stop: Arc<AtomicBool>,
) -> std::io::Result<u32> {
    let mut s = TcpStream::connect(addr).await?;
    connected.fetch_add(1, Ordering::SeqCst);
    sleep(offset).await;
    for i in 0..120u32 {
        let last = stop.load(Ordering::SeqCst);
        let b = [i as u8];
        s.write_all(&b).await?;
        let mut back = [0u8];
        s.read_exact(&mut back).await?;
        if back != b {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "slow echo wrong",
            ));
        }
        if last {
            return Ok(i + 1);
        }
        sleep(period).await;
    }
    Err(std::io::Error::other("never told to stop"))
}

#[test]
fn slow_clients_do_not_raise_a_fast_clients_p99() {
    let _serial = serial();
    let _limit = raise_nofile(4 * SLOW + 512);
    for driver in drivers() {
        let before = open_fds();
        let mut server = runtime(driver, 1);
        let errors = Arc::new(AtomicU64::new(0));
        let addr = {
            let errors = errors.clone();
            server
                .block_on(async move {
                    let l = TcpListener::bind("127.0.0.1:0").await?;
                    let addr = l.local_addr()?;
                    drop(hiver_runtime::spawn(serve_echo(l, errors)));
                    Ok::<_, std::io::Error>(addr)
                })
                .unwrap()
                .unwrap()
        };
        let ping = || {
            std::thread::spawn(move || {
                std_pinger(addr, FAST_MIN, Duration::from_secs(1), 200_000, 64)
            })
            .join()
            .expect("pinger thread")
            .expect("pinger")
        };
        let quiet = ping();

        let mut clients = runtime(driver, 1);
        let connected = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let slow: Vec<_> = (0..SLOW)
            .map(|i| {
                clients.spawn(slow_client(
                    addr,
                    connected.clone(),
                    Duration::from_millis(i), // spread over the first second
                    Duration::from_secs(1),
                    stop.clone(),
                ))
            })
            .collect();
        let start = Instant::now();
        while connected.load(Ordering::Relaxed) < SLOW {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{driver}: slow clients connect"
            );
            std::thread::yield_now();
        }
        let loaded = ping();
        // The fast client is done (every echo byte-exact, or `ping` panicked): the slow
        // clients are all still there, none ended, and each echoes once more.
        let ended = slow.iter().filter(|h| h.is_finished()).count();
        stop.store(true, Ordering::SeqCst);
        let echoes = clients
            .block_on(within("slow clients", async move {
                let mut echoes = Vec::new();
                for (i, h) in slow.into_iter().enumerate() {
                    echoes.push(
                        h.await
                            .expect("slow client task")
                            .unwrap_or_else(|e| panic!("slow client {i}: {e}")),
                    );
                }
                echoes
            }))
            .unwrap();
        assert_eq!(
            ended, 0,
            "{driver}: slow clients ended before the fast client was done"
        );
        assert!(
            loaded.count() >= FAST_MIN,
            "{driver}: the fast client's echoes: {}",
            loaded.count()
        );
        // Every slow client echoed after the fast client was done (its last echo), and
        // they were active during its run: more echoes than clients in all (each waits
        // under a second for its first, the fast client runs a second or more).
        let fewest = echoes.iter().min().copied().unwrap_or(0);
        let total: u64 = echoes.iter().map(|&e| u64::from(e)).sum();
        assert!(fewest >= 1, "{driver}: a slow client never echoed");
        assert!(
            total > SLOW,
            "{driver}: the slow clients echoed {total} times in all"
        );
        {
            let _w = Watchdog::arm("dropping the runtimes", Duration::from_secs(30));
            drop(clients);
            drop(server);
        }
        let (q, l) = (quiet.quantile(0.99), loaded.quantile(0.99));
        println!(
            "{driver}: fast client p99 {q:?} alone, {l:?} beside {SLOW} slow clients \
             (alone: {}; loaded: {})",
            quiet.summary(),
            loaded.summary()
        );
        assert_eq!(
            errors.load(Ordering::Relaxed),
            0,
            "{driver}: server connection errors"
        );
        if q < Duration::from_millis(2) {
            assert!(
                l < BOUND,
                "{driver}: p99 {l:?} beside slow clients (alone {q:?})"
            );
        } else {
            println!(
                "{driver}: quiet p99 {q:?}: machine too noisy, the 10 ms bound is not asserted"
            );
        }
        assert_no_fd_leak(before, format_args!("{driver}: slow clients"));
    }
}
