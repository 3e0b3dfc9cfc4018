//! Item 10, zero-length reads and writes: `read(&mut [])`, `write(&[])`, their vectored
//! and exact forms give `Ok(0)` / `Ok(())` at once, without waiting, and are not end of
//! stream: the connection then carries data both ways as before. On a worker task and on
//! the `block_on` thread, on every driver.

use std::io::{IoSlice, IoSliceMut};

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::{spawn, timeout, Duration};

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
