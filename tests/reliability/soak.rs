//! Item 1, fast version: 200 connections echo messages of random sizes (1 byte to 64 KiB,
//! each power-of-two bucket equally likely), every echo compared byte for byte; no byte
//! is lost or corrupted, no connection fails, and no descriptor leaks. The long run (10
//! million round trips, RSS before and after) is `examples/soak.rs`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hiver_runtime::io::TcpListener;
use hiver_runtime::spawn;

use crate::load::{echo_client, serve_echo, Budget, EchoStats};
use crate::support::{assert_no_fd_leak, drivers, open_fds, runtime, scaled, serial, within};

const CONNS: u64 = 200;

#[test]
fn two_hundred_connections_echo_random_sizes_byte_for_byte() {
    let _serial = serial();
    let round_trips = scaled(40_000, 4_000);
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 2);
        let errors = Arc::new(AtomicU64::new(0));
        let server_errors = errors.clone();
        let stats = rt
            .block_on(within("soak", async move {
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                let addr = listener.local_addr()?;
                let server = spawn(serve_echo(listener, server_errors));
                let budget = Budget::new(round_trips, None);
                let clients: Vec<_> = (0..CONNS)
                    .map(|i| spawn(echo_client(addr, i, 64 * 1024, budget.clone())))
                    .collect();
                let mut total = EchoStats::default();
                for (i, c) in clients.into_iter().enumerate() {
                    let s = c
                        .await
                        .expect("client task")
                        .map_err(|e| std::io::Error::new(e.kind(), format!("client {i}: {e}")))?;
                    total.merge(&s);
                }
                server.abort();
                Ok::<_, std::io::Error>(total)
            }))
            .unwrap()
            .unwrap_or_else(|e| panic!("{driver}: {e}"));
        drop(rt);
        println!(
            "{driver}: {} round trips, {} bytes verified, latency {}",
            stats.round_trips,
            stats.bytes_verified,
            stats.latency.summary()
        );
        assert_eq!(
            stats.round_trips, round_trips,
            "{driver}: every round trip ran"
        );
        assert_eq!(stats.corrupt, 0, "{driver}: corrupted echoes");
        assert!(
            stats.bytes_verified >= round_trips,
            "{driver}: at least a byte each"
        );
        assert_eq!(
            errors.load(Ordering::Relaxed),
            0,
            "{driver}: server connection errors"
        );
        assert_no_fd_leak(before, format_args!("{driver}: soak"));
    }
}
