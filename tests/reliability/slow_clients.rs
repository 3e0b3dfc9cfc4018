//! Item 3, fast version: 1,000 connections that each send one byte a second (and read its
//! echo) do not slow a fast client down. A blocking std client measures its echo latency
//! against a 1-worker server, first alone, then with the 1,000 slow clients (run by a
//! second runtime) active. Both p99s are printed; the bound (p99 under 10 ms with
//! the slow clients) is asserted when the quiet run shows a stable machine (quiet p99
//! under 2 ms), and only reported otherwise (other jobs on this 2-core machine can stall
//! any process for milliseconds). Every slow echo must come back right.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hiver_runtime::io::TcpListener;

use crate::load::{serve_echo, slow_client, std_pinger};
use crate::support::{
    assert_no_fd_leak, drivers, open_fds, raise_nofile, runtime, serial, within, Watchdog,
};

const SLOW: u64 = 1000;
const BOUND: Duration = Duration::from_millis(10);

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
            std::thread::spawn(move || std_pinger(addr, 2_000, Duration::from_secs(1), 200_000, 64))
                .join()
                .expect("pinger thread")
                .expect("pinger")
        };
        let quiet = ping();

        let mut clients = runtime(driver, 1);
        let connected = Arc::new(AtomicU64::new(0));
        let slow: Vec<_> = (0..SLOW)
            .map(|i| {
                clients.spawn(slow_client(
                    addr,
                    connected.clone(),
                    Duration::from_millis(i), // spread over the first second
                    Duration::from_secs(1),
                    3,
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
        clients
            .block_on(within("slow clients", async move {
                for (i, h) in slow.into_iter().enumerate() {
                    h.await
                        .expect("slow client task")
                        .unwrap_or_else(|e| panic!("slow client {i}: {e}"));
                }
            }))
            .unwrap();
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
