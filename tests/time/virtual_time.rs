//! Virtual time (feature `test-util`): long timers decided in microseconds, exactly.

use hiver_runtime::{
    interval, sleep, sleep_until, spawn_local, time, timeout, Duration, Instant, Runtime,
};

#[test]
fn an_hour_long_timeout_runs_in_microseconds() {
    let mut rt = Runtime::builder().worker_threads(1).build().unwrap();
    let real = std::time::Instant::now();
    rt.block_on(async {
        time::pause();
        let t0 = Instant::now();
        let r = timeout(Duration::from_secs(3600), std::future::pending::<()>()).await;
        assert!(r.is_err());
        assert_eq!(
            t0.elapsed(),
            Duration::from_secs(3600),
            "deterministic: exactly the deadline"
        );
    })
    .unwrap();
    assert!(
        real.elapsed() < Duration::from_secs(2),
        "{:?}",
        real.elapsed()
    );
}

#[test]
fn sixty_days_and_ten_years_cascade_exactly() {
    let mut rt = Runtime::builder().worker_threads(1).build().unwrap();
    rt.block_on(async {
        time::pause();
        let t0 = Instant::now();
        let sixty_days = Duration::from_secs(60 * 86_400);
        let ten_years = Duration::from_secs(10 * 365 * 86_400);
        let a = spawn_local(async move {
            sleep(sixty_days).await;
            Instant::now()
        });
        let b = spawn_local(async move {
            sleep_until(t0 + ten_years).await;
            Instant::now()
        });
        let (ta, tb) = (a.await.unwrap(), b.await.unwrap());
        assert!(
            ta - t0 >= sixty_days && ta - t0 <= sixty_days + Duration::from_millis(1),
            "{:?}",
            ta - t0
        );
        assert!(
            tb - t0 >= ten_years && tb - t0 <= ten_years + Duration::from_millis(1),
            "{:?}",
            tb - t0
        );
    })
    .unwrap();
}

#[test]
fn advance_by_hand_fires_what_is_due_and_nothing_else() {
    let mut rt = Runtime::builder().worker_threads(1).build().unwrap();
    rt.block_on(async {
        time::pause();
        let fired = std::rc::Rc::new(std::cell::Cell::new(0));
        let f = fired.clone();
        let _h = spawn_local(async move {
            sleep(Duration::from_secs(10)).await;
            f.set(1);
            sleep(Duration::from_secs(10)).await;
            f.set(2);
        });
        // Let the task run and register its timer first.
        time::advance(Duration::ZERO).await;
        time::advance(Duration::from_secs(9)).await;
        time::advance(Duration::ZERO).await;
        assert_eq!(fired.get(), 0, "not yet: 9 of 10 s");
        time::advance(Duration::from_secs(1)).await;
        time::advance(Duration::ZERO).await;
        assert_eq!(fired.get(), 1);
    })
    .unwrap();
}

#[test]
fn interval_under_virtual_time_keeps_its_grid() {
    let mut rt = Runtime::builder().worker_threads(1).build().unwrap();
    rt.block_on(async {
        time::pause();
        let mut iv = interval(Duration::from_secs(60));
        let t0 = iv.tick().await;
        for k in 1..=5u32 {
            let t = iv.tick().await;
            assert_eq!(t - t0, Duration::from_secs(60) * k);
        }
    })
    .unwrap();
}

/// RELIABILITY.md case 28 / section 4: 100,000 random deadlines on a virtual clock (debug
/// too: under a second), from sub-millisecond to 10 years (log-uniform over the
/// wheel's four levels and beyond, with random nanoseconds), half through `sleep`, half
/// through `sleep_until`, each a task of its own, all pending at once: each fires in
/// [deadline, deadline + 1 ms] of virtual time, never early. Once per driver.
#[test]
fn random_deadlines_on_a_virtual_clock_fire_within_a_millisecond() {
    const N: u64 = 100_000;
    const TEN_YEARS_MS: u64 = 10 * 365 * 86_400 * 1000;
    for driver in crate::drivers::drivers() {
        let mut rt = crate::drivers::runtime(driver, 1);
        let real = std::time::Instant::now();
        let (late, latest) = rt
            .block_on(async move {
                time::pause();
                let t0 = Instant::now();
                let mut rng = crate::rng::Rng::new(1); // state 0x9e37_79b9_7f4a_7c15
                let tasks: Vec<_> = (0..N)
                    .map(|i| {
                        // Milliseconds log-uniform in [1, 2^38) (2^38 ms is 8.7 years), or
                        // up to ten years; plus up to a millisecond of nanoseconds.
                        let r = rng.next_u64();
                        let ms = match r % 16 {
                            0 => TEN_YEARS_MS - rng.next_u64() % 1000,
                            1 => 0,
                            _ => {
                                let bits = 1 + rng.next_u64() % 38;
                                rng.next_u64() % (1u64 << bits)
                            }
                        };
                        let d = Duration::from_millis(ms)
                            + Duration::from_nanos(rng.next_u64() % 1_000_000);
                        let deadline = t0 + d;
                        spawn_local(async move {
                            if i % 2 == 0 {
                                sleep(d).await;
                            } else {
                                sleep_until(deadline).await;
                            }
                            (deadline, Instant::now())
                        })
                    })
                    .collect();
                let mut late = Vec::new();
                let mut latest = Duration::ZERO;
                for (i, t) in tasks.into_iter().enumerate() {
                    let (deadline, fired) = t.await.expect("sleeper task");
                    if fired < deadline || fired > deadline + Duration::from_millis(1) {
                        late.push((i, deadline - t0, fired - t0));
                    }
                    latest = latest.max(fired - t0);
                }
                (late, latest)
            })
            .unwrap();
        println!(
            "{driver}: {N} random deadlines up to {:.1} days of virtual time in {:?} real; \
             outside [deadline, deadline + 1 ms]: {}",
            latest.as_secs_f64() / 86_400.0,
            real.elapsed(),
            late.len()
        );
        assert!(
            late.is_empty(),
            "{driver}: {} of {N} fired outside [deadline, deadline + 1 ms] (index, deadline, \
             fired; first 10): {:?}",
            late.len(),
            &late[..late.len().min(10)]
        );
    }
}
