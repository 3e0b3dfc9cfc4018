//! Item 10, `Duration::MAX`. `sleep(Duration::MAX)` is documented as "about 30 years":
//! it never panics or overflows, and a `timeout` around it fires; `timeout(Duration::MAX,
//! f)` is `f`'s output; `park_timeout(Duration::MAX)` builds. A worker whose only timer
//! is 30 years away parks (it does not spin on a bad kernel timeout) and still wakes at
//! once for a task spawned from another thread.

use std::time::Instant;

use hiver_runtime::{sleep, spawn_on, timeout, Duration, Runtime};

use crate::support::{drivers, runtime, serial, within, Watchdog};

#[test]
fn duration_max_sleeps_and_timeouts_neither_panic_nor_hang() {
    let _serial = serial();
    for driver in drivers() {
        let mut rt = runtime(driver, 1);
        rt.block_on(within("Duration::MAX", async {
            let r = timeout(Duration::from_millis(10), sleep(Duration::MAX)).await;
            assert!(r.is_err(), "{driver}: the 10 ms timeout fires first");
            assert_eq!(timeout(Duration::MAX, async { 3 }).await, Ok(3), "{driver}");
            let r = timeout(Duration::MAX, sleep(Duration::from_millis(1))).await;
            assert_eq!(r, Ok(()), "{driver}: the inner sleep ends first");
            // On a worker too (its own wheel and park).
            spawn_on(0, async {
                timeout(Duration::from_millis(5), sleep(Duration::MAX))
                    .await
                    .is_err()
            })
            .unwrap()
            .await
            .unwrap()
        }))
        .map(|fired| assert!(fired, "{driver}: the worker's timeout fired"))
        .unwrap();

        // A worker with only a 30-year timer parks, and wakes for a remote spawn.
        let pending = rt.spawn(sleep(Duration::MAX));
        let start = Instant::now();
        while rt.metrics().workers()[0].timers == 0 {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{driver}: timer registered"
            );
            std::thread::yield_now();
        }
        let parks = rt.metrics().workers()[0].parks;
        // Observing idleness needs time to pass: a worker spinning on a bad (zero or
        // negative) kernel timeout would park thousands of times in these 200 ms.
        std::thread::sleep(Duration::from_millis(200));
        let parked = rt.metrics().workers()[0].parks - parks;
        assert!(
            parked <= 20,
            "{driver}: {parked} parks in 200 ms with one far timer"
        );
        let t = Instant::now();
        let h = rt.spawn(async { 5 });
        let v = rt.block_on(h).unwrap().unwrap();
        assert_eq!(v, 5);
        println!(
            "{driver}: {parked} parks in 200 ms; a remote spawn ran in {:?}",
            t.elapsed()
        );
        assert!(
            !pending.is_finished(),
            "{driver}: the 30-year sleep is still pending"
        );
        let _w = Watchdog::arm(format!("{driver}: drop"), Duration::from_secs(30));
        drop(rt);
    }
}

#[test]
fn park_timeout_duration_max_builds_and_runs() {
    let _serial = serial();
    for driver in drivers() {
        let mut rt = Runtime::builder()
            .worker_threads(1)
            .driver_type(driver)
            .park_timeout(Duration::MAX)
            .build()
            .unwrap_or_else(|e| panic!("{driver}: {e}"));
        let v = rt
            .block_on(within("park_timeout MAX", async {
                hiver_runtime::spawn(async {
                    sleep(Duration::from_millis(2)).await;
                    7
                })
                .await
                .unwrap()
            }))
            .unwrap();
        assert_eq!(v, 7, "{driver}");
    }
}
