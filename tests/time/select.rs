//! Select: losers are dropped, the fairness rule holds, edge cases are documented.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hiver_runtime::select::{SelectMultipleOutput, SelectTwoOutput};
use hiver_runtime::{select, select_multiple, select_two, sleep, Duration, Runtime};

struct DropFlag(Arc<AtomicUsize>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn the_loser_is_dropped_when_the_winner_completes() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut rt = Runtime::builder().worker_threads(1).build().unwrap();
    let d = dropped.clone();
    rt.block_on(async move {
        let flag = DropFlag(d.clone());
        let loser = async move {
            let _f = flag;
            sleep(Duration::from_secs(60)).await;
        };
        let r = select_two(async { 1 }, loser).await;
        assert_eq!(r, SelectTwoOutput::First(1));
        assert_eq!(
            d.load(Ordering::SeqCst),
            1,
            "dropped by the time select returns"
        );
    })
    .unwrap();
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn an_always_ready_branch_does_not_starve_the_other() {
    let mut rt = Runtime::builder().worker_threads(1).build().unwrap();
    rt.block_on(async {
        let (mut a, mut b) = (0, 0);
        for _ in 0..100 {
            match select_two(async { 1 }, async { 2 }).await {
                SelectTwoOutput::First(_) => a += 1,
                SelectTwoOutput::Second(_) => b += 1,
            }
        }
        assert_eq!((a, b), (50, 50), "rotation alternates the first branch");
        let mut wins = [0; 3];
        for _ in 0..99 {
            let futs = vec![
                std::future::ready(0),
                std::future::ready(1),
                std::future::ready(2),
            ];
            let SelectMultipleOutput::Completed(i, v) = select_multiple(futs).await;
            assert_eq!(i, v);
            wins[i] += 1;
        }
        assert_eq!(wins, [33, 33, 33]);
        let mut macro_wins = [0; 2];
        for _ in 0..10 {
            let i = select! {
                _ = async {} => 0,
                _ = async {} => 1,
            };
            macro_wins[i] += 1;
        }
        assert_eq!(macro_wins, [5, 5]);
    })
    .unwrap();
}

#[test]
#[should_panic(expected = "select_multiple needs at least one future")]
fn select_multiple_of_nothing_panics_at_the_call() {
    let _never = select_multiple(Vec::<std::future::Ready<()>>::new());
}

#[test]
fn select_macro_patterns_disable_branches_and_else_runs() {
    let mut rt = Runtime::builder().worker_threads(1).build().unwrap();
    rt.block_on(async {
        let v = select! {
            Some(x) = async { None::<u32> } => x,
            Ok(y) = async { sleep(Duration::from_millis(5)).await; Ok::<u32, ()>(9) } => y,
        };
        assert_eq!(v, 9, "the non-matching branch was disabled, the other won");
        let e = select! {
            Some(x) = async { None::<u32> } => x,
            Some(y) = async { None::<u32> } => y,
            else => 77,
        };
        assert_eq!(e, 77);
        let many = select! {
            _ = sleep(Duration::from_secs(9)) => 0,
            _ = sleep(Duration::from_secs(8)) => 1,
            _ = sleep(Duration::from_secs(7)) => 2,
            _ = sleep(Duration::from_millis(1)) => 3,
            _ = sleep(Duration::from_secs(6)) => 4,
        };
        assert_eq!(many, 3);
    })
    .unwrap();
}

#[test]
fn select_macro_drops_the_losers_before_the_body_runs() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut rt = Runtime::builder().worker_threads(1).build().unwrap();
    let d = dropped.clone();
    rt.block_on(async move {
        let flag = DropFlag(d.clone());
        let seen = select! {
            _ = async move { let _f = flag; sleep(Duration::from_secs(60)).await } => usize::MAX,
            _ = async {} => d.load(Ordering::SeqCst),
        };
        assert_eq!(seen, 1, "the loser was dropped before the winning body ran");
    })
    .unwrap();
}
