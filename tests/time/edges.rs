//! Edge cases and accuracy of timers, on every worker kind.

use std::time::Duration;

use hiver_runtime::{interval, sleep, sleep_until, spawn, spawn_on, timeout, Instant, Runtime};

use super::drivers::drivers;

#[test]
fn zero_and_past_deadlines_complete_without_waiting() {
    let mut rt = Runtime::builder().worker_threads(1).build().unwrap();
    rt.block_on(async {
        let start = std::time::Instant::now();
        for _ in 0..1000 {
            sleep(Duration::ZERO).await;
        }
        sleep_until(Instant::now() - Duration::from_secs(5)).await;
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
    })
    .unwrap();
}

#[test]
fn huge_durations_do_not_overflow_or_panic() {
    let mut rt = Runtime::builder().worker_threads(1).build().unwrap();
    rt.block_on(async {
        let r = timeout(Duration::from_millis(10), sleep(Duration::MAX)).await;
        assert!(r.is_err());
        let r = timeout(Duration::MAX, async { 3 }).await;
        assert_eq!(r, Ok(3));
        let far = Instant::now() + Duration::from_secs(86_400 * 365 * 100);
        let r = timeout(Duration::from_millis(5), sleep_until(far)).await;
        assert!(r.is_err());
    })
    .unwrap();
    // Every cancelled timer left its wheel.
    assert!(rt.metrics().workers().iter().all(|w| w.timers == 0));
}

#[test]
fn sleeps_never_end_early_and_are_not_grossly_late() {
    for d in drivers() {
        let mut rt = Runtime::builder()
            .worker_threads(2)
            .driver_type(d)
            .build()
            .unwrap();
        rt.block_on(async {
            let mut hs = Vec::new();
            for ms in [1u64, 5, 20, 50] {
                hs.push(spawn(async move {
                    let start = std::time::Instant::now();
                    sleep(Duration::from_millis(ms)).await;
                    (ms, start.elapsed())
                }));
            }
            for h in hs {
                let (ms, took) = h.await.unwrap();
                assert!(
                    took >= Duration::from_millis(ms),
                    "{d}: {ms} ms sleep took {took:?}"
                );
                assert!(
                    // Only gross lateness: the other tests of this binary share the two cores.
                    took < Duration::from_millis(ms + 1_000),
                    "{d}: {ms} ms sleep took {took:?}"
                );
            }
        })
        .unwrap();
    }
}

#[test]
fn dropping_sleeps_leaves_the_wheel_empty() {
    let mut rt = Runtime::builder().worker_threads(1).build().unwrap();
    rt.block_on(async {
        spawn_on(0, async {
            let mut sleeps: Vec<_> = (0..100_000u64)
                .map(|i| Box::pin(sleep(Duration::from_secs(60 + i))))
                .collect();
            // Register every timer (one poll each), then drop them all.
            std::future::poll_fn(|cx| {
                for s in &mut sleeps {
                    assert!(s.as_mut().poll(cx).is_pending());
                }
                std::task::Poll::Ready(())
            })
            .await;
            drop(sleeps);
        })
        .unwrap()
        .await
        .unwrap();
    })
    .unwrap();
    assert_eq!(rt.metrics().workers()[0].timers, 0);
}

use std::future::Future;

#[test]
#[allow(clippy::async_yields_async)] // the first task hands its registered Sleep back
fn a_sleep_moved_to_another_worker_still_fires_and_frees_its_timer() {
    let mut rt = Runtime::builder().worker_threads(2).build().unwrap();
    rt.block_on(async {
        let s = spawn_on(0, async {
            let mut s = Box::pin(sleep(Duration::from_millis(30)));
            std::future::poll_fn(|cx| {
                assert!(s.as_mut().poll(cx).is_pending());
                std::task::Poll::Ready(())
            })
            .await;
            s
        })
        .unwrap()
        .await
        .unwrap();
        let start = std::time::Instant::now();
        spawn_on(1, s).unwrap().await.unwrap();
        assert!(start.elapsed() < Duration::from_secs(2));
    })
    .unwrap();
    // The timer registered on worker 0 was cancelled from worker 1 and removed.
    let t0 = std::time::Instant::now();
    while rt.metrics().workers()[0].timers != 0 {
        assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", rt.metrics());
        rt.block_on(sleep(Duration::from_millis(1))).unwrap();
        // Give worker 0 a turn to apply the remote cancel.
        rt.block_on(async { spawn_on(0, async {}).unwrap().await.unwrap() })
            .unwrap();
    }
}

#[test]
fn interval_ticks_and_skips_missed_ticks() {
    let mut rt = Runtime::builder().worker_threads(1).build().unwrap();
    rt.block_on(async {
        let mut iv = interval(Duration::from_millis(20));
        let t0 = iv.tick().await;
        let t1 = iv.tick().await;
        assert_eq!(t1 - t0, Duration::from_millis(20));
        // Busy past several ticks (blocking on purpose): the next tick is at once, and the
        // one after is on the period grid, not a burst.
        std::thread::sleep(Duration::from_millis(70));
        let late = iv.tick().await;
        assert_eq!(late - t0, Duration::from_millis(40));
        let next = iv.tick().await;
        assert_eq!((next - t0).as_millis() % 20, 0);
        assert!(next - t0 >= Duration::from_millis(80), "{:?}", next - t0);
    })
    .unwrap();
}

#[test]
fn timeout_returns_the_output_or_elapsed() {
    let mut rt = Runtime::builder().worker_threads(1).build().unwrap();
    rt.block_on(async {
        assert_eq!(
            timeout(Duration::ZERO, async { 1 }).await,
            Ok(1),
            "a ready future wins"
        );
        let e = timeout(Duration::from_millis(1), std::future::pending::<()>())
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "deadline has elapsed");
        let io: std::io::Error = e.into();
        assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
    })
    .unwrap();
}

#[test]
fn sleep_outside_a_runtime_panics_when_polled() {
    let s = sleep(Duration::from_millis(1));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let mut s = Box::pin(s);
        let _ = s
            .as_mut()
            .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
    }));
    let msg = r.unwrap_err();
    assert!(msg
        .downcast_ref::<String>()
        .unwrap()
        .contains("inside a hiver runtime"));
}

#[test]
fn an_idle_worker_wakes_for_its_timer_and_at_no_other_time() {
    let mut rt = Runtime::builder().worker_threads(1).build().unwrap();
    // Let the worker settle into its park.
    rt.block_on(async { spawn_on(0, async {}).unwrap().await.unwrap() })
        .unwrap();
    let before = rt.metrics().workers()[0].parks;
    rt.block_on(async {
        spawn_on(0, async {
            for _ in 0..3 {
                sleep(Duration::from_millis(100)).await;
            }
        })
        .unwrap()
        .await
        .unwrap()
    })
    .unwrap();
    let parks = rt.metrics().workers()[0].parks - before;
    // One park per sleep (plus the wake-ups that delivered the task and its result).
    assert!(
        (3..=8).contains(&parks),
        "{parks} parks for three 100 ms sleeps"
    );
}
