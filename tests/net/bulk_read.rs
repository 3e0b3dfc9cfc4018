//! A bulk transfer read with large buffers: every byte arrives in order on each driver, and
//! on io_uring a stream in a bulk transfer receives more than one provided buffer (8 KiB)
//! per read: a large read then gets one receive of its own size instead of one 8 KiB
//! buffer per receive.

use hiver_runtime::io::{TcpListener, TcpStream};
use hiver_runtime::{spawn, DriverType};

use crate::support::{drivers, pattern, pattern_at, run, serial};

const TOTAL: usize = 8 << 20;
const READ: usize = 64 * 1024;

#[test]
fn large_reads_of_a_bulk_transfer_are_intact_and_not_cut_to_one_buffer() {
    let _s = serial();
    for driver in drivers() {
        let (largest, reads) = run(driver, 2, "bulk read", async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let sender = spawn(async move {
                let (mut s, _) = listener.accept().await?;
                s.write_all(&pattern(TOTAL, 7)).await?;
                s.shutdown(std::net::Shutdown::Write)
            });
            let mut c = TcpStream::connect(addr).await?;
            let mut buf = vec![0u8; READ];
            let (mut got, mut largest, mut reads) = (0, 0, 0);
            loop {
                let n = c.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                for (i, b) in buf[..n].iter().enumerate() {
                    assert_eq!(*b, pattern_at(got + i, 7), "byte {} on {driver}", got + i);
                }
                got += n;
                largest = largest.max(n);
                reads += 1;
            }
            assert_eq!(got, TOTAL, "on {driver}");
            sender
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))??;
            Ok((largest, reads))
        });
        if driver == DriverType::IOUring {
            assert!(
                largest > 8 * 1024,
                "io_uring: every read was cut to one provided buffer ({reads} reads, largest {largest})"
            );
        }
    }
}
