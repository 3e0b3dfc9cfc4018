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
