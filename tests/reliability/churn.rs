//! Item 2, fast version: connect/send/read/close cycles against an echo server, spread
//! over four loopback addresses (127.0.0.2-5: each has its own ephemeral ports, and the
//! client's TIME_WAIT sockets do not run out of them). Every echo is right, no connect
//! fails (no `EADDRNOTAVAIL`), and the descriptor count is back to its baseline after each
//! driver. The full 100,000 cycles with RSS figures: `examples/soak.rs --case churn`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hiver_runtime::io::TcpListener;
use hiver_runtime::spawn;

use crate::load::{churn, rss_kib, serve_echo};
use crate::support::{assert_no_fd_leak, drivers, open_fds, runtime, scaled, serial, within};

const CLIENTS: u64 = 8;

#[test]
fn connection_churn_leaks_no_descriptor() {
    let _serial = serial();
    let cycles = scaled(20_000, 4_000);
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 2);
        let errors = Arc::new(AtomicU64::new(0));
        let server_errors = errors.clone();
        let (wrong, rss) = rt
            .block_on(within("churn", async move {
                let mut addrs = Vec::new();
                let mut servers = Vec::new();
                for host in 2..=5 {
                    let l = TcpListener::bind(format!("127.0.0.{host}:0")).await?;
                    addrs.push(l.local_addr()?);
                    servers.push(spawn(serve_echo(l, server_errors.clone())));
                }
                // A first quarter warms the allocator and the runtime's pools up; RSS is
                // taken after it and at the end.
                let mut wrong = 0;
                let mut rss = Vec::new();
                for (round, n) in [(0, cycles / 4), (1, cycles - cycles / 4)] {
                    let tasks: Vec<_> = (0..CLIENTS)
                        .map(|i| spawn(churn(addrs.clone(), n / CLIENTS, round * 100 + i)))
                        .collect();
                    for t in tasks {
                        wrong += t.await.expect("churn task")?;
                    }
                    rss.push(rss_kib());
                }
                for s in servers {
                    s.abort();
                }
                Ok::<_, std::io::Error>((wrong, rss))
            }))
            .unwrap()
            .unwrap_or_else(|e| panic!("{driver}: {e}"));
        drop(rt);
        let (warm, end) = (rss[0], rss[1]);
        println!("{driver}: {cycles} connect/echo/close cycles, RSS {warm} KiB after warm-up, {end} KiB at the end");
        // Generous: a leak of a few KiB per connection would exceed it; the soak program
        // gives the precise figure over 100,000 cycles.
        assert!(
            end <= warm + 16 * 1024,
            "{driver}: RSS grew from {warm} KiB to {end} KiB over {} cycles",
            cycles - cycles / 4
        );
        assert_eq!(wrong, 0, "{driver}: wrong echoes");
        assert_eq!(
            errors.load(Ordering::Relaxed),
            0,
            "{driver}: server connection errors"
        );
        assert_no_fd_leak(before, format_args!("{driver}: churn"));
    }
}
