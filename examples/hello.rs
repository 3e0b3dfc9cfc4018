//! The guide's "Hello Runtime", plus a spawned task.
//!
//! ```text
//! cargo run --example hello
//! ```

use hiver_runtime::{spawn, Runtime};

fn main() -> std::io::Result<()> {
    // Create runtime
    let mut runtime = Runtime::new()?;
    // Execute async code
    runtime.block_on(async {
        println!("Hello from Hiver runtime!");
        let answer = spawn(async { 6 * 7 }).wait().await.expect("the task ran");
        println!("a task on a worker says {answer}");
    })?;
    println!(
        "driver: {}, workers: {}",
        runtime.driver_type(),
        runtime.worker_threads()
    );
    Ok(())
}
