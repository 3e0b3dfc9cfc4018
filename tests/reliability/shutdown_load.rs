//! Item 6: dropping a runtime with 1,000 live connections (both ends held by tasks, each
//! waiting in a read, half of them with unread bytes queued) and 1,000 pending timers
//! returns within 1 s (the bound; it takes a few milliseconds here), runs the
//! destructor of every task's future exactly once (drop counters), and closes every
//! descriptor (the count is back to its baseline).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::{sleep, spawn};

use crate::support::{
    assert_no_fd_leak, drivers, open_fds, raise_nofile, runtime, serial, within, Counted, Watchdog,
};

const CONNS: u64 = 1000;
const TIMERS: u64 = 1000;

#[test]
fn dropping_a_loaded_runtime_is_quick_and_complete() {
    let _serial = serial();
    let _limit = raise_nofile(4 * CONNS + 512);
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 2);
        let dropped = Arc::new(AtomicU64::new(0));
        let waiting = Arc::new(AtomicU64::new(0));
        let (d, w) = (dropped.clone(), waiting.clone());
        rt.block_on(within("shutdown under load", async move {
            let l = TcpListener::bind("127.0.0.1:0").await?;
            let addr = l.local_addr()?;
            for i in 0..CONNS {
                let mut c = TcpStream::connect(addr).await?;
                let (s, _) = l.accept().await?;
                // Half the server ends have bytes queued that nobody reads.
                if i % 2 == 0 {
                    c.write_all(&[7u8; 1000]).await?;
                }
                for (mut stream, guard) in [(c, Counted(d.clone())), (s, Counted(d.clone()))] {
                    let w = w.clone();
                    spawn(async move {
                        let _guard = guard;
                        w.fetch_add(1, Ordering::SeqCst);
                        let mut buf = [0u8; 16];
                        // Reads until the runtime drops the task (the peer never closes).
                        loop {
                            if stream.read(&mut buf).await? == 0 {
                                return Ok::<_, std::io::Error>(());
                            }
                        }
                    });
                }
            }
            for _ in 0..TIMERS {
                let guard = Counted(d.clone());
                let w = w.clone();
                spawn(async move {
                    let _guard = guard;
                    w.fetch_add(1, Ordering::SeqCst);
                    sleep(Duration::from_secs(3600)).await;
                });
            }
            // Every task has started and waits.
            while w.load(Ordering::SeqCst) < 2 * CONNS + TIMERS {
                hiver_runtime::yield_now().await;
            }
            Ok::<_, std::io::Error>(())
        }))
        .unwrap()
        .unwrap_or_else(|e| panic!("{driver}: {e}"));
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            0,
            "{driver}: nothing dropped yet"
        );
        let m = rt.metrics();
        let timers: u64 = m.workers().iter().map(|w| w.timers).sum();
        let took = {
            let _w = Watchdog::arm(
                format!("{driver}: dropping the runtime"),
                Duration::from_secs(30),
            );
            let t = Instant::now();
            drop(rt);
            t.elapsed()
        };
        println!(
            "{driver}: dropped a runtime with {CONNS} connections and {timers} timers in {took:?}"
        );
        assert!(
            timers >= TIMERS,
            "{driver}: the timers were pending: {timers}"
        );
        assert!(
            took < Duration::from_secs(1),
            "{driver}: drop took {took:?}"
        );
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            2 * CONNS + TIMERS,
            "{driver}: every task's future dropped once"
        );
        assert_no_fd_leak(before, format_args!("{driver}: shutdown under load"));
    }
}
