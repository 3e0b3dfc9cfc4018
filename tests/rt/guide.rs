//! The user guide's examples, as written (Getting Started, Task Spawning, Testing).

use hiver_runtime::{spawn, DriverType, JoinHandle, Runtime};
use std::time::Duration;

#[test]
fn hello_runtime() -> std::io::Result<()> {
    // Create runtime
    let mut runtime = Runtime::new()?;
    // Execute async code
    runtime.block_on(async {
        println!("Hello from Hiver runtime!");
    })?;
    Ok(())
}

#[test]
fn with_configuration() -> std::io::Result<()> {
    let mut runtime = Runtime::builder()
        .worker_threads(4) // 4 worker threads
        .driver_type(DriverType::Auto) // Auto-detect best driver
        .io_entries(512) // I/O queue depth
        .park_timeout(Duration::from_millis(100))
        .build()?;
    runtime.block_on(async {
        // Your async code here
    })?;
    assert_eq!(runtime.worker_threads(), 4);
    Ok(())
}

#[test]
fn driver_selection() -> std::io::Result<()> {
    // Auto-detect (recommended)
    let runtime = Runtime::new()?;
    drop(runtime);
    // Or force specific driver
    let runtime = Runtime::builder()
        .driver_type(DriverType::IOUring)
        .build()?;
    assert_eq!(runtime.driver_type(), DriverType::IOUring);
    Ok(())
}

async fn task_example() {
    // Spawn single task
    let handle = spawn(async {
        println!("Background task");
        42
    });
    // Wait for result
    let result = handle.wait().await.unwrap();
    assert_eq!(result, 42);
}

async fn process_item(i: u32) -> u32 {
    i * 2
}

async fn parallel_processing() -> Vec<u32> {
    let mut handles = Vec::new();
    // Spawn 10 tasks
    for i in 0..10 {
        let handle = spawn(async move {
            // Process item
            process_item(i).await
        });
        handles.push(handle);
    }
    // Wait for all
    let mut results = Vec::new();
    for handle in handles {
        let result = handle.wait().await.unwrap();
        println!("Result: {:?}", result);
        results.push(result);
    }
    results
}

#[test]
fn task_spawning() {
    let mut runtime = Runtime::new().unwrap();
    runtime.block_on(task_example()).unwrap();
    let results = runtime.block_on(parallel_processing()).unwrap();
    assert_eq!(results, (0..10).map(|i| i * 2).collect::<Vec<_>>());
    let _typed: Option<JoinHandle<()>> = None;
}

async fn async_operation() -> u32 {
    spawn(async { 21 }).wait().await.unwrap() * 2
}

// The guide's "Unit Testing with Runtime".
#[test]
fn test_async_function() {
    let expected_value = 42;
    let mut runtime = Runtime::new().unwrap();
    runtime
        .block_on(async {
            let result = async_operation().await;
            assert_eq!(result, expected_value);
        })
        .unwrap();
}
