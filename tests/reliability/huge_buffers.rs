//! Item 10, huge buffers. A read into a 1 GiB buffer on a socket with 100 bytes waiting
//! returns those 100 bytes at once: no hang, no crash, and no 1 GiB allocation or copy by
//! the runtime (the process's RSS grows by far less than the buffer). A `write_all` of a
//! huge buffer over loopback to a reader arrives byte-exact: 1 GiB in release builds,
//! 256 MiB in debug builds (the byte-by-byte check of 1 GiB takes too long unoptimized),
//! with a single `write` of it returning a short count, never an error.

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::spawn;

use crate::load::{rss_kib, Rng};

use crate::support::{assert_no_fd_leak, drivers, open_fds, runtime, scaled, serial, within};

const GIB: usize = 1 << 30;

async fn pair() -> std::io::Result<(TcpStream, TcpStream)> {
    let l = TcpListener::bind("127.0.0.1:0").await?;
    let c = TcpStream::connect(l.local_addr()?).await?;
    let (s, _) = l.accept().await?;
    Ok((c, s))
}

#[test]
fn a_one_gib_read_buffer_with_little_data_returns_what_is_there() {
    let _serial = serial();
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 1);
        rt.block_on(within("1 GiB read buffer", async {
            // Zeroed by the allocator's fresh mapping: untouched pages are not resident.
            let mut huge = vec![0u8; GIB];
            let rss_before = rss_kib();
            let (mut a, mut b) = pair().await?;
            b.write_all(&[9u8; 100]).await?;
            let n = a.read(&mut huge).await?;
            assert!(n > 0 && n <= 100, "{driver}: read {n}");
            let mut total = n;
            while total < 100 {
                total += a.read(&mut huge[total..]).await?;
            }
            assert!(huge[..100].iter().all(|&x| x == 9), "{driver}: the bytes");
            // On a worker as well (its own driver).
            let worker = spawn(async move {
                let mut huge = vec![0u8; GIB];
                b.write_all(&[3u8; 10]).await?;
                drop(b);
                let n = a.read(&mut huge).await?;
                let eof = a.read(&mut huge).await?;
                Ok::<_, std::io::Error>((n, eof, huge[..n].iter().all(|&x| x == 3)))
            });
            // The worker task's peer (`b`) writes there, so both ends moved in.
            let (n, eof, right) = worker.await.expect("worker task")?;
            assert!(
                n == 10 && right && eof == 0,
                "{driver}: ({n}, {eof}, {right})"
            );
            let grown = rss_kib().saturating_sub(rss_before);
            println!("{driver}: reads into 1 GiB buffers; RSS grew by {grown} KiB");
            assert!(grown < 128 * 1024, "{driver}: RSS grew by {grown} KiB");
            Ok::<_, std::io::Error>(())
        }))
        .unwrap()
        .unwrap_or_else(|e| panic!("{driver}: {e}"));
        drop(rt);
        assert_no_fd_leak(before, format_args!("{driver}: 1 GiB read"));
    }
}

#[test]
fn a_huge_write_all_arrives_byte_exact() {
    let _serial = serial();
    let len = scaled(GIB as u64, 256 << 20) as usize;
    let mut data = vec![0u8; len];
    Rng::new(42).fill(&mut data);
    let data = std::sync::Arc::new(data);
    for driver in drivers() {
        let before = open_fds();
        let mut rt = runtime(driver, 2);
        let d = data.clone();
        rt.block_on(within("huge write_all", async move {
            let (mut a, mut b) = pair().await?;
            let expect = d.clone();
            let reader = spawn(async move {
                let mut buf = vec![0u8; 1 << 20];
                let mut got = 0usize;
                loop {
                    let n = b.read(&mut buf).await?;
                    if n == 0 {
                        return Ok::<_, std::io::Error>(got);
                    }
                    if got + n > expect.len() || buf[..n] != expect[got..got + n] {
                        return Err(std::io::Error::other(format!(
                            "{n} bytes at offset {got} differ from what was written"
                        )));
                    }
                    got += n;
                }
            });
            let n = a.write(&d).await?;
            assert!(
                n > 0 && n <= d.len(),
                "{driver}: one write of {} took {n}",
                d.len()
            );
            a.write_all(&d[n..]).await?;
            drop(a);
            let got = reader.await.expect("reader task")?;
            assert_eq!(got, d.len(), "{driver}: every byte arrived");
            Ok::<_, std::io::Error>(())
        }))
        .unwrap()
        .unwrap_or_else(|e| panic!("{driver}: {e}"));
        drop(rt);
        assert_no_fd_leak(before, format_args!("{driver}: huge write_all"));
    }
}
