//! Backpressure without lost wake-ups: many senders blocked on a full bounded channel,
//! spread over two workers, all complete.

use hiver_runtime::{bounded, spawn};

use super::support::{drivers, runtime, watchdog, yield_now};

const SENDERS: u64 = 64;
const PER: u64 = 300;

#[test]
fn many_blocked_senders_all_complete_across_workers() {
    watchdog("backpressure", || {
        for d in drivers() {
            for cap in [1, 2, 7] {
                let mut rt = runtime(d, 2);
                let (received, sum) = rt
                    .block_on(async move {
                        let (tx, rx) = bounded::<u64>(cap);
                        let handles: Vec<_> = (0..SENDERS)
                            .map(|s| {
                                let tx = tx.clone();
                                spawn(async move {
                                    for i in 0..PER {
                                        tx.send(s * PER + i).await.unwrap();
                                    }
                                })
                            })
                            .collect();
                        drop(tx);
                        let (mut n, mut sum) = (0u64, 0u64);
                        while let Ok(v) = rx.recv().await {
                            n += 1;
                            sum += v;
                            // A slow consumer keeps the senders blocked most of the time.
                            if n % 16 == 0 {
                                yield_now().await;
                            }
                        }
                        for h in handles {
                            h.await.unwrap();
                        }
                        (n, sum)
                    })
                    .unwrap();
                let total = SENDERS * PER;
                assert_eq!(received, total, "{d} bounded({cap})");
                assert_eq!(sum, total * (total - 1) / 2, "{d} bounded({cap})");
            }
        }
    });
}
