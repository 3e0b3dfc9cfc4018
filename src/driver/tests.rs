//! A kernel whose io_uring lacks an opcode the driver needs (RELIABILITY.md case 13, the
//! faked-probe half; the seccomp EPERM/ENOSYS halves are `tests/fallback`): `IOUring` is an
//! error naming the opcode, `Auto` comes up on epoll, says why, and serves a round trip.

use hiver_sys::uring::opcode;

use crate::driver::DriverConfig;
use crate::io::{TcpListener, TcpStream};
use crate::{DriverType, Runtime, RuntimeConfig};

fn build(kind: DriverType, gone: u8) -> std::io::Result<Runtime> {
    let driver_io = DriverConfig {
        fake_missing_op: Some(gone),
        ..DriverConfig::default()
    };
    Runtime::builder()
        .config(RuntimeConfig {
            driver_io,
            ..RuntimeConfig::default()
        })
        .worker_threads(1)
        .driver_type(kind)
        .build()
}

#[test]
fn a_missing_opcode_refuses_io_uring_and_auto_falls_back_to_epoll() {
    for gone in [opcode::RECVMSG, opcode::ACCEPT] {
        let why = format!("lacks opcode {gone}");
        // IOUring: an error naming the opcode, at build or at the block_on thread's ring.
        let refused = build(DriverType::IOUring, gone).and_then(|mut rt| rt.block_on(async {}));
        let e = refused.expect_err("io_uring without a needed opcode must be refused");
        assert_eq!(e.kind(), std::io::ErrorKind::Unsupported, "{e}");
        assert!(e.to_string().contains(&why), "{e}");

        // Auto: epoll, the reason recorded, and it works.
        let mut rt = build(DriverType::Auto, gone).expect("Auto falls back");
        assert_eq!(rt.driver_type(), DriverType::Epoll);
        let caps = rt.capabilities();
        assert_eq!(caps.driver, DriverType::Epoll);
        let fallback = caps.fallback.expect("the fallback reason is recorded");
        assert!(fallback.contains(&why), "{fallback}");
        let echoed = rt
            .block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                let mut client = TcpStream::connect(listener.local_addr()?).await?;
                let (mut server, _) = listener.accept().await?;
                client.write_all(b"ping").await?;
                let mut buf = [0u8; 4];
                server.read_exact(&mut buf).await?;
                std::io::Result::Ok(buf)
            })
            .unwrap()
            .unwrap();
        assert_eq!(&echoed, b"ping");
    }
}
