//! Values arrive in per-sender FIFO order, nothing lost or duplicated, whichever worker
//! each sender runs on.

use hiver_runtime::{bounded, spawn_on, unbounded, Receiver, Sender};

use super::support::{drivers, runtime, watchdog};

const SENDERS: u64 = 4;
const PER: u64 = 5_000;

fn channel(cap: Option<usize>) -> (Sender<u64>, Receiver<u64>) {
    match cap {
        Some(n) => bounded(n),
        None => unbounded(),
    }
}

fn run(driver: hiver_runtime::DriverType, cap: Option<usize>) {
    let mut rt = runtime(driver, 2);
    let next = rt
        .block_on(async move {
            let (tx, rx) = channel(cap);
            for s in 0..SENDERS {
                let tx = tx.clone();
                spawn_on(s as usize % 2, async move {
                    for i in 0..PER {
                        tx.send(s << 32 | i).await.unwrap();
                    }
                })
                .unwrap();
            }
            drop(tx);
            let mut next = vec![0u64; SENDERS as usize];
            while let Ok(v) = rx.recv().await {
                let s = (v >> 32) as usize;
                assert_eq!(
                    v & 0xffff_ffff,
                    next[s],
                    "sender {s} out of order ({cap:?})"
                );
                next[s] += 1;
            }
            next
        })
        .unwrap();
    assert_eq!(next, vec![PER; SENDERS as usize], "{driver} {cap:?}");
}

#[test]
fn per_sender_fifo_on_every_driver_and_flavour() {
    watchdog("fifo", || {
        for d in drivers() {
            for cap in [Some(1), Some(4), None] {
                run(d, cap);
            }
        }
    });
}
