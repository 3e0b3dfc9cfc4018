//! Item 8, fast version: timers created and cancelled by the hundred thousand on both
//! workers while the same workers serve echo clients. Every echo completes right, and the
//! wheels are empty afterwards (`RuntimeMetrics` `timers` back to 0 on every worker). The
//! latency comparison (storm versus quiet, aim 2x) is `examples/soak.rs --case timers`.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use hiver_runtime::io::TcpListener;
use hiver_runtime::{spawn, spawn_on};

use crate::load::{echo_client, serve_echo, timer_storm, Budget, EchoStats};
use crate::support::{assert_no_fd_leak, drivers, open_fds, runtime, scaled, serial, within};

const WORKERS: usize = 2;

#[test]
fn a_timer_storm_beside_echoes_leaves_the_wheels_empty() {
    let _serial = serial();
    let timers = scaled(1_000_000, 200_000);
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, WORKERS);
        let (stats, fired) = rt
            .block_on(within("timer storm", async move {
                let l = TcpListener::bind("127.0.0.1:0").await?;
                let addr = l.local_addr()?;
                let server = spawn(serve_echo(l, Arc::new(AtomicU64::new(0))));
                let storms: Vec<_> = (0..WORKERS)
                    .map(|w| spawn_on(w, timer_storm(timers / WORKERS as u64, 10_000, w as u64)))
                    .collect::<Result<_, _>>()?;
                let budget = Budget::new(4_000, None);
                let clients: Vec<_> = (0..8)
                    .map(|i| spawn(echo_client(addr, 1000 + i, 4096, budget.clone())))
                    .collect();
                let mut stats = EchoStats::default();
                for c in clients {
                    stats.merge(&c.await.expect("client task")?);
                }
                let mut fired = 0;
                for s in storms {
                    fired += s.await.expect("storm task");
                }
                server.abort();
                Ok::<_, std::io::Error>((stats, fired))
            }))
            .unwrap()
            .unwrap_or_else(|e| panic!("{driver}: {e}"));
        let m = rt.metrics();
        let left: Vec<u64> = m.workers().iter().map(|w| w.timers).collect();
        drop(rt);
        println!(
            "{driver}: {timers} timers created and cancelled ({fired} fired first) beside \
             {} echoes, latency {}; timers left {left:?}",
            stats.round_trips,
            stats.latency.summary()
        );
        assert_eq!(stats.round_trips, 4_000, "{driver}: every echo ran");
        assert_eq!(stats.corrupt, 0, "{driver}: echoes right");
        assert!(
            left.iter().all(|&t| t == 0),
            "{driver}: wheels empty: {left:?}"
        );
        assert_no_fd_leak(before, format_args!("{driver}: timer storm"));
    }
}
