#![cfg(target_os = "linux")]
//! io_uring with a 4-entry submission queue: 64 reads started at once and then all dropped
//! at once push 64 operations and 64 cancels through it. A full SQ is flushed to the kernel
//! and the push retried, so no operation and no cancel is dropped: every stream still
//! reads what its peer sends next, and no descriptor leaks.

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::{DriverType, Runtime};

use crate::support::{
    assert_no_fd_leak, on_worker, open_fds, poll_once, serial, within, yield_now,
};

const CONNS: usize = 64;

#[test]
fn a_full_submission_queue_drops_no_operation_and_no_cancel() {
    let _serial = serial();
    let before = open_fds();
    let mut rt = Runtime::builder()
        .worker_threads(1)
        .driver_type(DriverType::IOUring)
        .io_entries(4)
        .build()
        .unwrap();
    assert_eq!(rt.capabilities().sq_entries, 4);
    rt.block_on(within("ring pressure", async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut pairs = Vec::new();
        for _ in 0..CONNS {
            let c = TcpStream::connect(addr).await?;
            pairs.push((c, listener.accept().await?.0));
        }
        on_worker(async move {
            {
                let mut bufs = vec![[0u8; 16]; CONNS];
                let mut reads: Vec<_> = pairs
                    .iter_mut()
                    .zip(bufs.iter_mut())
                    .map(|((_, s), b)| Box::pin(s.read(b)))
                    .collect();
                for r in reads.iter_mut() {
                    assert!(poll_once(r.as_mut()).await.is_pending(), "nothing was sent");
                }
                yield_now().await;
            }
            // All 64 dropped: 64 cancels. Each stream's next read still gets its bytes.
            for (i, (c, s)) in pairs.iter_mut().enumerate() {
                c.write_all(&[i as u8; 16]).await?;
                let mut b = [0u8; 16];
                s.read_exact(&mut b).await?;
                assert_eq!(b, [i as u8; 16], "stream {i}");
            }
            Ok(())
        })
        .await
    }))
    .unwrap()
    .unwrap();
    // Each cancel reached the kernel: its completion came back (done, or too late).
    let w = rt.metrics().workers()[0].clone();
    assert!(
        w.io_cancels >= CONNS as u64,
        "every dropped read asked: {w:?}"
    );
    assert!(
        w.io_cancels_done + w.io_cancels_late >= CONNS as u64,
        "every cancel went through the 4-entry queue: {w:?}"
    );
    drop(rt);
    assert_no_fd_leak(before, "ring pressure");
}
