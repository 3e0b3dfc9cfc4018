//! Item 8, fast version: timers created and cancelled by the hundred thousand on both
//! workers while the same workers serve echo clients.
//!
//! Each worker runs a storm task that first registers a block of long timers (10-60 s) and
//! keeps them, tells the test so through a channel, then creates and cancels timers in
//! batches (yielding between batches) until the echoes are done, and only then drops its
//! block. So the echoes provably run while the timers are registered and while the storm
//! goes on:
//!
//! - before the echoes start, the workers' `timers` metrics show at least the blocks
//!   registered (the timers are live in the wheels), and they still do when the echoes end;
//! - the storms' creation counters moved during the echoes (they overlapped);
//! - short sleeps on each worker during the storm fire (the loaded wheels still fire);
//! - every echo completes byte-exact, the storms reach their count, and the wheels end
//!   empty (`timers` back to 0 on every worker).
//!
//! The latency comparison (storm versus quiet, the 2x) is judged by
//! `examples/soak.rs --case timers`.

use std::future::{poll_fn, Future as _};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;

use hiver_runtime::io::TcpListener;
use hiver_runtime::{sleep, spawn, spawn_on, unbounded, yield_now, Duration, Sleep};

use crate::load::{echo_client, serve_echo, Budget, EchoStats, Rng};
use crate::support::{assert_no_fd_leak, drivers, open_fds, runtime, scaled, serial, within};

const WORKERS: usize = 2;
const ECHOES: u64 = 4_000;

/// Registers `held` timers (10-60 s) and keeps them; says so on `registered`; then creates
/// and cancels timers in batches of 256 (each registered with the wheel by one poll,
/// then dropped), counting them in `made`, until `echoes_done` is set and `count` were
/// made in all; then drops the held block. Returns how many fired before being dropped.
async fn storm(
    held: u64,
    count: u64,
    seed: u64,
    made: Arc<AtomicU64>,
    registered: hiver_runtime::Sender<usize>,
    echoes_done: Arc<AtomicBool>,
    worker: usize,
) -> u64 {
    let mut rng = Rng::new(seed);
    let mut block: Vec<Sleep> = Vec::with_capacity(held as usize);
    let mut fired = 0;
    poll_fn(|cx| {
        for _ in 0..held {
            let mut s = sleep(Duration::from_millis(10_000 + rng.below(50_000)));
            if Pin::new(&mut s).poll(cx).is_ready() {
                fired += 1;
            }
            block.push(s);
        }
        Poll::Ready(())
    })
    .await;
    made.fetch_add(held, Ordering::SeqCst);
    registered.send(worker).await.expect("the test waits");
    let mut n = held;
    // Bounded: the echoes end within the test's deadline; 10^8 is far beyond any count.
    while (n < count || !echoes_done.load(Ordering::SeqCst)) && n < 100_000_000 {
        poll_fn(|cx| {
            for _ in 0..256 {
                let mut s = sleep(Duration::from_millis(1 + rng.below(60_000)));
                if Pin::new(&mut s).poll(cx).is_ready() {
                    fired += 1;
                }
            }
            Poll::Ready(())
        })
        .await;
        n += 256;
        made.fetch_add(256, Ordering::SeqCst);
        yield_now().await;
    }
    drop(block);
    fired
}

#[test]
fn a_timer_storm_beside_echoes_leaves_the_wheels_empty() {
    let _serial = serial();
    let timers = scaled(1_000_000, 200_000);
    let held = scaled(50_000, 20_000);
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, WORKERS);
        let made = Arc::new(AtomicU64::new(0));
        let echoes_done = Arc::new(AtomicBool::new(false));
        let (registered_tx, registered) = unbounded::<usize>();
        let storms: Vec<_> = {
            let (made, echoes_done) = (made.clone(), echoes_done.clone());
            rt.block_on(async move {
                (0..WORKERS)
                    .map(|w| {
                        spawn_on(
                            w,
                            storm(
                                held,
                                timers / WORKERS as u64,
                                w as u64,
                                made.clone(),
                                registered_tx.clone(),
                                echoes_done.clone(),
                                w,
                            ),
                        )
                    })
                    .collect::<Result<_, _>>()
            })
            .unwrap()
            .unwrap()
        };
        // Both blocks registered: the wheels hold them now.
        let mut seen = rt
            .block_on(within("blocks registered", async {
                let mut seen = Vec::new();
                for _ in 0..WORKERS {
                    seen.push(registered.recv().await.expect("storm task"));
                }
                seen
            }))
            .unwrap();
        seen.sort_unstable();
        assert_eq!(seen, (0..WORKERS).collect::<Vec<_>>(), "{driver}");
        let live_before: Vec<u64> = rt.metrics().workers().iter().map(|w| w.timers).collect();
        let made_before = made.load(Ordering::SeqCst);

        let (stats, sleeps_fired) = rt
            .block_on(within("echoes during the storm", async move {
                let l = TcpListener::bind("127.0.0.1:0").await?;
                let addr = l.local_addr()?;
                let server = spawn(serve_echo(l, Arc::new(AtomicU64::new(0))));
                // Short sleeps on each worker, beside the storm: the wheels still fire.
                let sleepers: Vec<_> = (0..WORKERS)
                    .map(|w| {
                        spawn_on(w, async {
                            for _ in 0..20 {
                                sleep(Duration::from_millis(1)).await;
                            }
                        })
                    })
                    .collect::<Result<_, _>>()?;
                let budget = Budget::new(ECHOES, None);
                let clients: Vec<_> = (0..8)
                    .map(|i| spawn(echo_client(addr, 1000 + i, 4096, budget.clone())))
                    .collect();
                let mut stats = EchoStats::default();
                for c in clients {
                    stats.merge(&c.await.expect("client task")?);
                }
                let mut sleeps_fired = 0;
                for s in sleepers {
                    s.await.expect("sleeper task");
                    sleeps_fired += 20;
                }
                server.abort();
                Ok::<_, std::io::Error>((stats, sleeps_fired))
            }))
            .unwrap()
            .unwrap_or_else(|e| panic!("{driver}: {e}"));
        // The echoes are done; the storms still hold their blocks.
        let live_after: Vec<u64> = rt.metrics().workers().iter().map(|w| w.timers).collect();
        let made_after = made.load(Ordering::SeqCst);
        echoes_done.store(true, Ordering::SeqCst);
        let fired: u64 = rt
            .block_on(within("storms end", async move {
                let mut fired = 0;
                for s in storms {
                    fired += s.await.expect("storm task");
                }
                fired
            }))
            .unwrap();
        let made_total = made.load(Ordering::SeqCst);
        let m = rt.metrics();
        let left: Vec<u64> = m.workers().iter().map(|w| w.timers).collect();
        drop(rt);
        println!(
            "{driver}: {made_total} timers created and cancelled ({fired} fired first), \
             {} made during {} echoes; registered per worker {live_before:?} before the \
             echoes, {live_after:?} after; {sleeps_fired} short sleeps fired; echo latency \
             {}; timers left {left:?}",
            made_after - made_before,
            stats.round_trips,
            stats.latency.summary()
        );
        for (w, (&b, &a)) in live_before.iter().zip(&live_after).enumerate() {
            assert!(
                b >= held && a >= held,
                "{driver}: worker {w}: {held} timers held, the wheel had {b} before the \
                 echoes and {a} after"
            );
        }
        assert!(
            made_after > made_before,
            "{driver}: the storms made no timer while the echoes ran"
        );
        assert!(
            made_total >= timers / WORKERS as u64 * WORKERS as u64,
            "{driver}"
        );
        assert_eq!(stats.round_trips, ECHOES, "{driver}: every echo ran");
        assert_eq!(stats.corrupt, 0, "{driver}: echoes right");
        assert!(
            left.iter().all(|&t| t == 0),
            "{driver}: wheels empty: {left:?}"
        );
        assert_no_fd_leak(before, format_args!("{driver}: timer storm"));
    }
}
