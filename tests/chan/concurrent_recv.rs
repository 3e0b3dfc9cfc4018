//! `recv(&self)` from two tasks at once: each value goes to exactly one of them, and
//! together they get all (DESIGN.md: the pop side is safe for concurrent callers).

use std::collections::HashSet;
use std::sync::Arc;

use hiver_runtime::{bounded, spawn_on, unbounded, Receiver, Sender};

use super::support::{drivers, runtime, watchdog};

const N: u64 = 20_000;

fn check(
    driver: hiver_runtime::DriverType,
    make: fn() -> (Sender<u64>, Receiver<u64>),
    workers: [usize; 2],
) {
    let mut rt = runtime(driver, 2);
    let (a, b) = rt
        .block_on(async move {
            let (tx, rx) = make();
            let rx = Arc::new(rx);
            let takers: Vec<_> = workers
                .iter()
                .map(|&w| {
                    let rx = rx.clone();
                    spawn_on(w, async move {
                        let mut mine = Vec::new();
                        while let Ok(v) = rx.recv().await {
                            mine.push(v);
                        }
                        mine
                    })
                    .unwrap()
                })
                .collect();
            for i in 0..N {
                tx.send(i).await.unwrap();
            }
            drop(tx);
            let mut it = takers.into_iter();
            let a = it.next().unwrap().await.unwrap();
            let b = it.next().unwrap().await.unwrap();
            (a, b)
        })
        .unwrap();
    for mine in [&a, &b] {
        assert!(mine.windows(2).all(|w| w[0] < w[1]), "each sees the order");
    }
    let all: HashSet<u64> = a.iter().chain(&b).copied().collect();
    assert_eq!(all.len(), a.len() + b.len(), "a value went to both");
    assert_eq!(all.len() as u64, N, "values lost");
}

#[test]
fn two_receiving_tasks_get_distinct_values_and_all_of_them() {
    watchdog("concurrent-recv", || {
        for d in drivers() {
            for workers in [[0, 1], [0, 0]] {
                check(d, || bounded(1), workers);
                check(d, || bounded(64), workers);
                check(d, unbounded, workers);
            }
        }
    });
}
