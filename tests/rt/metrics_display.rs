//! `RuntimeMetrics`' table (its `Display`): a header naming a column per worker and a
//! total, a row per counter whose numbers are the snapshot's fields (the total a sum, the
//! deepest batch's a maximum), and the blocking pool's threads last.

use std::collections::HashMap;

use hiver_runtime::{spawn_blocking, yield_now, WorkerMetrics};

use crate::drivers::{drivers, runtime};

/// The rows the table must have: label, field, whether the total is a maximum.
type Row = (&'static str, fn(&WorkerMetrics) -> u64, bool);

const ROWS: &[Row] = &[
    ("spawned", |w| w.spawned, false),
    ("polls", |w| w.polls, false),
    ("parks", |w| w.parks, false),
    ("unparks", |w| w.unparks, false),
    ("remote schedules", |w| w.remote_schedules, false),
    ("local schedules", |w| w.local_schedules, false),
    ("local overflows", |w| w.local_overflows, false),
    ("kernel entries", |w| w.kernel_entries, false),
    ("timers", |w| w.timers, false),
    ("io submitted", |w| w.io_submitted, false),
    ("io completed", |w| w.io_completed, false),
    ("io in flight", |w| w.io_in_flight, false),
    ("io cancels", |w| w.io_cancels, false),
    ("io cancels done", |w| w.io_cancels_done, false),
    ("io cancels late", |w| w.io_cancels_late, false),
    ("io max batch", |w| w.io_max_batch, true),
    ("buffers starved", |w| w.buf_starved, false),
    ("cq overflows", |w| w.cq_overflows, false),
];

#[test]
fn the_table_prints_the_snapshot_a_column_per_worker() {
    const TASKS: usize = 200;
    const WORKERS: usize = 2;
    for driver in drivers() {
        let mut rt = runtime(driver, WORKERS);
        let handles: Vec<_> = (0..TASKS)
            .map(|i| {
                rt.spawn(async move {
                    // A timer and a yield, so that more than one counter moves.
                    if i % 10 == 0 {
                        hiver_runtime::sleep(std::time::Duration::from_millis(1)).await;
                    }
                    yield_now().await;
                    i
                })
            })
            .collect();
        let sum = rt
            .block_on(async move {
                let mut sum = 0;
                for h in handles {
                    sum += h.await.unwrap();
                }
                // One blocking-pool thread, kept alive (10 s by default) for the table.
                spawn_blocking(|| ()).await.unwrap();
                sum
            })
            .unwrap();
        assert_eq!(sum, (0..TASKS).sum::<usize>(), "{driver}");

        let m = rt.metrics();
        let table = m.to_string();
        println!("{driver}:\n{table}");
        assert_eq!(m.workers().len(), WORKERS, "{driver}");
        // The tasks, and the one `spawn_blocking` makes to await its job.
        let spawned: u64 = m.workers().iter().map(|w| w.spawned).sum();
        assert_eq!(spawned, TASKS as u64 + 1, "{driver}: the snapshot itself");

        let lines: Vec<&str> = table.lines().collect();
        // The header: "counter", then "worker 0" .. "worker N-1", then "total".
        let header: Vec<&str> = lines[0].split_whitespace().collect();
        let mut want = vec!["counter".to_string()];
        want.extend((0..WORKERS).map(|i| format!("worker {i}")));
        want.push("total".into());
        assert_eq!(
            header.join(" "),
            want.join(" "),
            "{driver}: header in\n{table}"
        );

        // Every other line: a label, then numbers (a column per worker and the total; the
        // last line, the blocking pool, has one).
        let mut rows: HashMap<String, Vec<u64>> = HashMap::new();
        for line in &lines[1..] {
            let words: Vec<&str> = line.split_whitespace().collect();
            let label_len = words
                .iter()
                .position(|w| w.parse::<u64>().is_ok())
                .unwrap_or_else(|| panic!("{driver}: no number in {line:?}"));
            let numbers: Vec<u64> = words[label_len..]
                .iter()
                .map(|w| {
                    w.parse()
                        .unwrap_or_else(|_| panic!("{driver}: {w:?} in {line:?}"))
                })
                .collect();
            let label = words[..label_len].join(" ");
            assert!(
                rows.insert(label.clone(), numbers).is_none(),
                "{driver}: row {label:?} twice in\n{table}"
            );
        }
        assert_eq!(
            lines.len(),
            1 + ROWS.len() + 1,
            "{driver}: header, a row per counter, the pool:\n{table}"
        );

        for (label, get, max) in ROWS {
            let got = rows
                .get(*label)
                .unwrap_or_else(|| panic!("{driver}: no row {label:?} in\n{table}"));
            let mut want: Vec<u64> = m.workers().iter().map(get).collect();
            let total = if *max {
                want.iter().copied().max().unwrap()
            } else {
                want.iter().sum()
            };
            want.push(total);
            assert_eq!(got, &want, "{driver}: row {label:?} in\n{table}");
        }
        assert_eq!(
            rows["spawned"][WORKERS],
            TASKS as u64 + 1,
            "{driver}: the spawned total"
        );
        assert!(
            rows["polls"][WORKERS] >= 2 * TASKS as u64,
            "{driver}: every task was polled at least twice (it yielded)"
        );
        assert_eq!(
            rows.get("blocking threads"),
            Some(&vec![m.blocking_threads() as u64]),
            "{driver}: the pool's line in\n{table}"
        );
        assert!(
            m.blocking_threads() >= 1,
            "{driver}: the pool kept its thread"
        );
    }
}
