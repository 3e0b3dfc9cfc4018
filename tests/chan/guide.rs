//! The user guide's channel examples, as written: "MPSC Channels", "Bounded vs Unbounded"
//! and "Integration Testing".

use hiver_runtime::{bounded, spawn, unbounded, Runtime};

// The guide's "MPSC Channels" example.
async fn channel_demo() {
    // Bounded channel (backpressure)
    let (tx, rx) = bounded::<i32>(10);
    // Spawn producer
    spawn(async move {
        for i in 0..20 {
            tx.send(i).await.unwrap();
            println!("Sent: {}", i);
        }
    });
    // Consume values
    while let Ok(value) = rx.recv().await {
        println!("Received: {}", value);
    }
}

#[test]
fn mpsc_channels() {
    let mut runtime = Runtime::new().unwrap();
    runtime.block_on(channel_demo()).unwrap();
}

/// The guide's user type in "Bounded vs Unbounded".
struct WorkItem;

#[test]
fn bounded_vs_unbounded() {
    // Producer-consumer with backpressure
    let (tx, rx) = bounded::<WorkItem>(100);
    // Shutdown signal (rare event)
    let (shutdown_tx, shutdown_rx) = unbounded::<()>();

    assert_eq!((tx.capacity(), rx.capacity()), (Some(100), Some(100)));
    assert_eq!(shutdown_tx.capacity(), None);
    tx.try_send(WorkItem).ok().unwrap();
    shutdown_tx.try_send(()).unwrap();
    assert!(rx.try_recv().is_ok());
    assert_eq!(shutdown_rx.try_recv(), Ok(()));
}

// The guide's "Integration Testing" example (tests/integration_test.rs there).
#[test]
fn test_concurrent_tasks() {
    let mut runtime = Runtime::new().unwrap();
    runtime
        .block_on(async {
            let (tx, rx) = bounded::<i32>(10);
            // Spawn producer
            spawn(async move {
                for i in 0..10 {
                    tx.send(i).await.unwrap();
                }
            });
            // Verify all values received
            let mut sum = 0;
            while let Ok(value) = rx.recv().await {
                sum += value;
            }
            assert_eq!(sum, 45); // 0+1+2+...+9
        })
        .unwrap();
}
