//! Runtime start-up and shutdown: `Runtime::new()` plus drop, hiver (io_uring, then epoll)
//! against tokio's multi-thread runtime, both with 2 workers; median and max of 200 each.
//!
//! The performance issue's bar: hiver's new + drop under 1 ms.

use std::time::{Duration, Instant};

use hiver_benches::{median, rounds};

const N: usize = 200;

fn time_n(mut f: impl FnMut()) -> Vec<Duration> {
    (0..N)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}

fn main() {
    let workers = hiver_benches::workers();
    println!("# startup: Runtime::new() + drop, {workers} workers, {N} times per round");
    let hiver = |driver| {
        move || {
            let rt = hiver_runtime::Runtime::builder()
                .worker_threads(workers)
                .driver_type(driver)
                .build()
                .expect("hiver runtime");
            drop(rt);
        }
    };
    let tokio = || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
            .expect("tokio runtime");
        drop(rt);
    };
    let mut all: Vec<(&str, Vec<Duration>)> = vec![
        ("hiver io_uring", Vec::new()),
        ("hiver epoll", Vec::new()),
        ("tokio multi-thread", Vec::new()),
    ];
    for _ in 0..rounds() {
        all[0]
            .1
            .extend(time_n(hiver(hiver_runtime::DriverType::IOUring)));
        all[1]
            .1
            .extend(time_n(hiver(hiver_runtime::DriverType::Epoll)));
        all[2].1.extend(time_n(tokio));
    }
    let tokio_median = median(&all[2].1);
    for (name, mut v) in all {
        v.sort();
        let m = median(&v);
        println!(
            "{name:<20} median {:>9.1?}  p99 {:>9.1?}  max {:>9.1?}  tokio/this {:.2}",
            m,
            v[v.len() * 99 / 100],
            v[v.len() - 1],
            tokio_median.as_secs_f64() / m.as_secs_f64()
        );
    }
}
