//! Item 10, zero-length reads and writes: `read(&mut [])`, `write(&[])`, their vectored
//! and exact forms give `Ok(0)` / `Ok(())` at once, without waiting, and are not end of
//! stream: the connection then carries data both ways as before. On a worker task and on
//! the `block_on` thread, on every driver. On io_uring they submit nothing: the worker's
//! `io_submitted` does not move across a run of them (RELIABILITY.md case 6, "without an
//! SQE").

use std::io::{IoSlice, IoSliceMut};

use std::sync::mpsc;

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::{spawn, timeout, yield_now, DriverType, Duration};

use crate::support::{assert_no_fd_leak, drivers, open_fds, runtime, serial, within};

/// Zero-length operations must not wait: a second is far more than they may take.
const AT_ONCE: Duration = Duration::from_secs(1);

async fn zero_lengths(mut a: TcpStream, mut b: TcpStream, where_: &str) -> std::io::Result<()> {
    let w = where_;
    assert_eq!(
        timeout(AT_ONCE, a.read(&mut [])).await.expect(w)?,
        0,
        "{w}: read"
    );
    assert_eq!(
        timeout(AT_ONCE, a.write(&[])).await.expect(w)?,
        0,
        "{w}: write"
    );
    timeout(AT_ONCE, a.write_all(&[])).await.expect(w)?;
    timeout(AT_ONCE, a.read_exact(&mut [])).await.expect(w)?;
    let mut none: [IoSliceMut<'_>; 0] = [];
    assert_eq!(
        timeout(AT_ONCE, a.read_vectored(&mut none))
            .await
            .expect(w)?,
        0,
        "{w}"
    );
    let mut empties = [IoSliceMut::new(&mut []), IoSliceMut::new(&mut [])];
    assert_eq!(
        timeout(AT_ONCE, a.read_vectored(&mut empties))
            .await
            .expect(w)?,
        0,
        "{w}"
    );
    let empty_out = [IoSlice::new(&[]), IoSlice::new(&[])];
    assert_eq!(
        timeout(AT_ONCE, a.write_vectored(&empty_out))
            .await
            .expect(w)?,
        0,
        "{w}"
    );
    // Not end of stream: data still flows both ways.
    b.write_all(b"after").await?;
    let mut got = [0u8; 5];
    a.read_exact(&mut got).await?;
    assert_eq!(&got, b"after", "{w}: a read after the empty ones");
    a.write_all(b"reply").await?;
    b.read_exact(&mut got).await?;
    assert_eq!(&got, b"reply", "{w}: a write after the empty ones");
    // With bytes waiting, an empty read takes none of them.
    b.write_all(b"x").await?;
    assert_eq!(
        a.read(&mut []).await?,
        0,
        "{w}: an empty read with data waiting"
    );
    let mut one = [0u8; 1];
    a.read_exact(&mut one).await?;
    assert_eq!(&one, b"x", "{w}: the waiting byte is still there");
    // After the peer closed, an empty read is still Ok(0), and so is a real one (EOF).
    drop(b);
    assert_eq!(a.read(&mut []).await?, 0, "{w}");
    assert_eq!(a.read(&mut one).await?, 0, "{w}: end of stream");
    Ok(())
}

async fn pair() -> std::io::Result<(TcpStream, TcpStream)> {
    let l = TcpListener::bind("127.0.0.1:0").await?;
    let c = TcpStream::connect(l.local_addr()?).await?;
    let (s, _) = l.accept().await?;
    Ok((c, s))
}

#[test]
fn zero_length_reads_and_writes_are_ok_zero_at_once_and_not_eof() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 1);
        rt.block_on(within("zero lengths", async {
            let (a, b) = pair().await?;
            zero_lengths(a, b, "block_on").await?;
            spawn(async {
                let (a, b) = pair().await?;
                zero_lengths(a, b, "worker").await
            })
            .await
            .expect("worker task")
        }))
        .unwrap()
        .unwrap_or_else(|e| panic!("{driver}: {e}"));
        drop(rt);
        assert_no_fd_leak(before, format_args!("{driver}: zero lengths"));
    }
}

/// Zero-length calls of every kind, each followed by a turn of the driver (which submits
/// whatever was queued, and records the worker's counters).
async fn zero_lengths_only(a: &mut TcpStream, rounds: usize) -> std::io::Result<()> {
    for _ in 0..rounds {
        assert_eq!(a.read(&mut []).await?, 0);
        yield_now().await;
        assert_eq!(a.write(&[]).await?, 0);
        yield_now().await;
        a.write_all(&[]).await?;
        a.read_exact(&mut []).await?;
        yield_now().await;
        let mut empties = [IoSliceMut::new(&mut []), IoSliceMut::new(&mut [])];
        assert_eq!(a.read_vectored(&mut empties).await?, 0);
        let empty_out = [IoSlice::new(&[]), IoSlice::new(&[])];
        assert_eq!(a.write_vectored(&empty_out).await?, 0);
        yield_now().await;
    }
    Ok(())
}

#[test]
fn zero_length_reads_and_writes_submit_no_sqe() {
    const ROUNDS: usize = 100;
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 1);
        // The task and this thread take turns: the task parks its worker in a blocking
        // receive (so the worker's counters stand still) while this thread reads them.
        let (ready_tx, ready) = mpsc::channel::<()>();
        let (go, go_rx) = mpsc::channel::<()>();
        let wait = move || {
            go_rx
                .recv_timeout(std::time::Duration::from_secs(30))
                .expect("the test thread's go")
        };
        let task = rt.spawn(async move {
            // Kept alive to the end: nothing is cancelled or closed meanwhile.
            let l = TcpListener::bind("127.0.0.1:0").await?;
            let mut a = TcpStream::connect(l.local_addr()?).await?;
            let (mut b, _) = l.accept().await?;
            // A real exchange first: the driver's setup (its receive ring) is done.
            a.write_all(b"ping").await?;
            let mut got = [0u8; 4];
            b.read_exact(&mut got).await?;
            b.write_all(&got).await?;
            a.read_exact(&mut got).await?;
            yield_now().await;
            ready_tx.send(()).unwrap();
            wait();
            zero_lengths_only(&mut a, ROUNDS).await?;
            ready_tx.send(()).unwrap();
            wait();
            // A control: one real read and write are counted.
            b.write_all(b"pong").await?;
            a.read_exact(&mut got).await?;
            assert_eq!(&got, b"pong");
            yield_now().await;
            ready_tx.send(()).unwrap();
            wait();
            Ok::<_, std::io::Error>(())
        });
        let step = |what: &str| {
            ready
                .recv_timeout(std::time::Duration::from_secs(30))
                .unwrap_or_else(|e| panic!("{driver}: {what}: {e}"));
        };
        step("setup");
        let m0 = rt.metrics().workers()[0].clone();
        go.send(()).unwrap();
        step("zero-length calls");
        let m1 = rt.metrics().workers()[0].clone();
        go.send(()).unwrap();
        step("control");
        let m2 = rt.metrics().workers()[0].clone();
        go.send(()).unwrap();
        rt.block_on(within("zero-length task", task))
            .unwrap()
            .expect("zero-length task")
            .unwrap_or_else(|e| panic!("{driver}: {e}"));
        drop(rt);
        println!(
            "{driver}: io_submitted {} before {} rounds of zero-length calls, {} after, {} after \
             one real read and write",
            m0.io_submitted, ROUNDS, m1.io_submitted, m2.io_submitted
        );
        if driver == DriverType::IOUring {
            assert!(
                m0.io_submitted > 0,
                "{driver}: the setup was counted: {m0:?}"
            );
            assert_eq!(
                m1.io_submitted, m0.io_submitted,
                "{driver}: zero-length calls submitted SQEs"
            );
            assert!(
                m2.io_submitted > m1.io_submitted,
                "{driver}: the control's read and write were counted: {m2:?}"
            );
        }
        assert_no_fd_leak(before, format_args!("{driver}: zero lengths, no SQE"));
    }
}
