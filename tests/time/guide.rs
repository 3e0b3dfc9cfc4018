//! The guide's Timer API, Timeout Pattern and Select Multiple examples, as written (the
//! periodic loop is bounded, the slow operation is a real sleep).

use hiver_runtime::select::{SelectMultipleOutput, SelectTwoOutput};
use hiver_runtime::{select_multiple, select_two, sleep, sleep_until, Duration, Instant, Runtime};

async fn timer_examples() -> u32 {
    // Sleep for duration
    sleep(Duration::from_millis(20)).await;
    println!("20 ms passed");
    // Sleep until specific time
    let deadline = Instant::now() + Duration::from_millis(50);
    sleep_until(deadline).await;
    assert!(Instant::now() >= deadline);
    // Periodic timer (bounded here: the guide's loop runs forever)
    let mut ticks = 0;
    loop {
        sleep(Duration::from_millis(10)).await;
        println!("Tick every 10ms");
        ticks += 1;
        if ticks == 3 {
            break ticks;
        }
    }
}

#[test]
fn timer_api() {
    let mut rt = Runtime::new().unwrap();
    let start = std::time::Instant::now();
    assert_eq!(rt.block_on(timer_examples()).unwrap(), 3);
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(100), "{took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
}

async fn expensive_computation(d: Duration) -> u64 {
    sleep(d).await;
    42
}

async fn with_timeout(work: Duration, limit: Duration) -> Option<u64> {
    let operation = async {
        // Slow operation
        expensive_computation(work).await
    };
    let timeout = sleep(limit);
    match select_two(operation, timeout).await {
        SelectTwoOutput::First(result) => {
            println!("Completed: {:?}", result);
            Some(result)
        }
        SelectTwoOutput::Second(_) => {
            println!("Timeout!");
            None
        }
    }
}

#[test]
fn timeout_pattern() {
    let mut rt = Runtime::new().unwrap();
    assert_eq!(
        rt.block_on(with_timeout(
            Duration::from_millis(5),
            Duration::from_secs(5)
        ))
        .unwrap(),
        Some(42)
    );
    assert_eq!(
        rt.block_on(with_timeout(
            Duration::from_secs(5),
            Duration::from_millis(20)
        ))
        .unwrap(),
        None
    );
}

async fn fetch_user(id: u32) -> String {
    sleep(Duration::from_millis(u64::from(id) * 15)).await;
    format!("user{id}")
}

async fn select_many() -> (usize, String) {
    // The guide's `vec!` of three distinct async blocks needs one element type: boxed.
    let futures: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = String>>>> = vec![
        Box::pin(async { fetch_user(3).await }),
        Box::pin(async { fetch_user(1).await }),
        Box::pin(async { fetch_user(2).await }),
    ];
    // Returns the first completed result
    match select_multiple(futures).await {
        SelectMultipleOutput::Completed(index, user) => {
            println!("User at index {}: {:?}", index, user);
            (index, user)
        }
    }
}

#[test]
fn select_multiple_example() {
    let mut rt = Runtime::new().unwrap();
    assert_eq!(
        rt.block_on(select_many()).unwrap(),
        (1, "user1".to_string())
    );
}

// The guide's "Select Two" example, as written (its channels carry the two types).
async fn select_demo() -> Option<i32> {
    use hiver_runtime::bounded;
    let (tx1, rx1) = bounded::<i32>(1);
    let (_tx2, rx2) = bounded::<String>(1);
    tx1.send(42).await.unwrap();
    // Wait on both futures
    match select_two(rx1.recv(), rx2.recv()).await {
        SelectTwoOutput::First(v) => {
            println!("Received int: {:?}", v);
            v.ok()
        }
        SelectTwoOutput::Second(v) => {
            println!("Received string: {:?}", v);
            None
        }
    }
}

#[test]
fn select_two_on_channels() {
    let mut rt = Runtime::new().unwrap();
    assert_eq!(rt.block_on(select_demo()).unwrap(), Some(42));
}
