//! A runtime dropped while its tasks are parked on socket reads, accepts, timers and channel
//! receives and sends, for valgrind (RELIABILITY.md case 25 and section 4: 0 bytes
//! "definitely lost" on a shutdown-with-pending-I/O binary). Epoll only: valgrind cannot see
//! the kernel's writes into buffers an io_uring fills, and would flag them (liburing #640).
//! The descriptor count must be back where it started once the runtime is gone.
//!
//! ```text
//! cargo build --example valgrind_shutdown
//! valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1 \
//!     target/debug/examples/valgrind_shutdown
//! ```
//!
//! `.ci/run valgrind` runs exactly that. `--leak-on-purpose` leaks one block, to see the
//! check fail.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::{bounded, sleep, spawn, unbounded, DriverType, Runtime};

/// Connections, each with a reading task on both ends (2 descriptors each: under the
/// usual soft limit of 1,024).
const CONNS: usize = 200;
/// Tasks asleep for an hour.
const TIMERS: usize = 5_000;
/// Channels of each kind, with a parked receiver or sender.
const CHANNELS: usize = 2_000;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

fn main() -> io::Result<()> {
    let fds_before = open_fds();
    let mut rt = Runtime::builder()
        .worker_threads(2)
        .driver_type(DriverType::Epoll)
        .build()?;
    assert_eq!(rt.driver_type(), DriverType::Epoll);
    let parked = Arc::new(AtomicUsize::new(0));
    let expected = rt.block_on(start_tasks(parked.clone()))??;
    let metrics = rt.metrics();
    println!(
        "{expected} tasks parked (reads, accept, timers, channels); {} spawned; dropping the runtime",
        metrics.workers().iter().map(|w| w.spawned).sum::<u64>()
    );
    drop(rt);
    let fds_after = open_fds();
    println!("runtime dropped; descriptors {fds_before} before, {fds_after} after");
    if fds_after != fds_before {
        eprintln!("descriptors leaked by the runtime's drop");
        std::process::exit(1);
    }
    if std::env::args().any(|a| a == "--leak-on-purpose") {
        // The negative control: a block nothing points to any more.
        std::mem::forget(std::hint::black_box(vec![0xAAu8; 1000]));
        println!("leaked 1,000 bytes on purpose");
    }
    Ok(())
}

/// Spawns the tasks and waits until each has reached its await point; returns how many.
async fn start_tasks(parked: Arc<AtomicUsize>) -> io::Result<usize> {
    let mut expected = 0;
    let here = |parked: &Arc<AtomicUsize>| {
        parked.fetch_add(1, Ordering::SeqCst);
    };

    // Both ends of each connection wait for bytes that never come.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    for _ in 0..CONNS {
        let client = TcpStream::connect(addr).await?;
        let (server, _) = listener.accept().await?;
        for mut stream in [client, server] {
            let parked = parked.clone();
            spawn(async move {
                let mut buf = vec![0u8; 4096];
                here(&parked);
                let _ = stream.read(&mut buf).await;
            });
            expected += 1;
        }
    }
    // One task waits for a connection that never comes.
    {
        let parked = parked.clone();
        spawn(async move {
            here(&parked);
            let _ = listener.accept().await;
        });
        expected += 1;
    }

    // Timers an hour away.
    for i in 0..TIMERS {
        let parked = parked.clone();
        spawn(async move {
            let owned = vec![i as u8; 100];
            here(&parked);
            sleep(Duration::from_secs(3600 + i as u64)).await;
            drop(owned);
        });
        expected += 1;
    }

    // Receivers that drained a message and wait for the next; senders blocked on a full
    // bounded channel (with a message in it); the other ends kept by a task that sleeps.
    let mut keep = Vec::new();
    for i in 0..CHANNELS {
        let (tx, rx) = unbounded::<Vec<u8>>();
        tx.send(vec![1; 64 + i]).await.map_err(io::Error::other)?;
        let parked_rx = parked.clone();
        spawn(async move {
            let first = rx.recv().await;
            here(&parked_rx);
            let _ = rx.recv().await;
            drop(first);
        });
        let (btx, brx) = bounded::<Vec<u8>>(1);
        btx.send(vec![2; 32]).await.map_err(io::Error::other)?;
        let parked_tx = parked.clone();
        spawn(async move {
            here(&parked_tx);
            let _ = btx.send(vec![3; 48]).await;
        });
        keep.push((tx, brx));
        expected += 2;
    }
    {
        let parked = parked.clone();
        spawn(async move {
            here(&parked);
            sleep(Duration::from_secs(7200)).await;
            drop(keep);
        });
        expected += 1;
    }

    // Wait (bounded) until every task reached its await, then a little more so that the
    // last ones are really parked in their driver, timer or channel.
    for _ in 0..10_000 {
        if parked.load(Ordering::SeqCst) == expected {
            break;
        }
        sleep(Duration::from_millis(1)).await;
    }
    let n = parked.load(Ordering::SeqCst);
    if n != expected {
        return Err(io::Error::other(format!(
            "{n} of {expected} tasks reached their await"
        )));
    }
    sleep(Duration::from_millis(20)).await;
    Ok(expected)
}
