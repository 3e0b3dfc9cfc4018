//! Case 20, close with a cancelled op outstanding: a stream whose read lost a
//! `select_two(read, sleep)` (the receive was in the kernel, or registered for readiness,
//! then cancelled) is dropped while the runtime goes on idle: the peer sees end of stream at
//! once. On io_uring an in-flight receive holds a reference to the socket, so closing the
//! descriptor alone sends no FIN until the receive ends: the drop must cancel it and have
//! that cancel and the close reach the kernel without any further work on the runtime.
//!
//! The peer is a blocking std socket read from the test thread after `block_on` returned
//! (the runtime idle, nothing else to wake it); its read timeout is the watchdog: a FIN
//! that does not come is a `WouldBlock` failure, not a hang.

use std::io::Read;
use std::time::Duration;

use hiver_runtime::io::TcpStream;
use hiver_runtime::select::SelectTwoOutput;
use hiver_runtime::{select_two, sleep, spawn, DriverType};

use crate::support::{assert_no_fd_leak, drivers, open_fds, runtime, serial, within, Watchdog};

/// Streams per driver (half on a worker, half on the `block_on` thread).
const ROUNDS: usize = 8;
/// How long the peer may wait for the FIN: far beyond a prompt close, far below any TCP
/// timeout that could stand in for it.
const PROMPT: Duration = Duration::from_secs(5);

/// Connects to `listener`, lets a read lose to a 20 ms sleep, then drops the stream.
async fn cancel_read_then_drop(addr: std::net::SocketAddr) -> std::io::Result<()> {
    let mut ours = TcpStream::connect(addr).await?;
    let mut buf = [0u8; 64];
    match select_two(ours.read(&mut buf), sleep(Duration::from_millis(20))).await {
        SelectTwoOutput::Second(()) => {}
        SelectTwoOutput::First(r) => panic!("the peer sent nothing, yet the read gave {r:?}"),
    }
    drop(ours);
    Ok(())
}

#[test]
fn dropping_a_stream_after_its_read_was_cancelled_sends_eof_at_once() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 1);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        for round in 0..ROUNDS {
            let on_worker = round % 2 == 0;
            rt.block_on(within("cancel a read, drop the stream", async move {
                if on_worker {
                    spawn(cancel_read_then_drop(addr)).await.expect("task")
                } else {
                    cancel_read_then_drop(addr).await
                }
            }))
            .unwrap()
            .unwrap();
            // The runtime is idle now; the peer's read must still end.
            let (mut peer, _) = listener.accept().unwrap();
            peer.set_read_timeout(Some(PROMPT)).unwrap();
            let _w = Watchdog::arm("the peer's read", PROMPT * 2);
            let mut buf = [0u8; 16];
            let where_ = if on_worker {
                "worker"
            } else {
                "block_on thread"
            };
            match peer.read(&mut buf) {
                Ok(0) => {}
                Ok(n) => panic!("{driver} ({where_}), round {round}: {n} bytes nobody sent"),
                Err(e) => panic!(
                    "{driver} ({where_}), round {round}: no end of stream within {PROMPT:?} \
                     of the drop ({:?}: {e}): the closed socket is still held",
                    e.kind()
                ),
            }
        }
        drop(listener);
        let w = rt.metrics().workers()[0].clone();
        println!(
            "{driver}: {ROUNDS} streams dropped after a cancelled read, each peer saw end of \
             stream; the worker asked {} io_uring cancellations ({} done, {} late)",
            w.io_cancels, w.io_cancels_done, w.io_cancels_late
        );
        if driver == DriverType::IOUring {
            // The worker's rounds really had a receive in the kernel to cancel.
            assert!(
                w.io_cancels >= (ROUNDS / 2) as u64,
                "{driver}: the receives were not in flight when cancelled"
            );
        }
        {
            let _w = Watchdog::arm("dropping the runtime", Duration::from_secs(30));
            drop(rt);
        }
        assert_no_fd_leak(
            before,
            format_args!("{driver}: close after a cancelled read"),
        );
    }
}
