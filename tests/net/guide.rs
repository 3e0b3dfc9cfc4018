//! The guide's TCP server, TCP client and UDP examples, run as written (port 0 and a
//! bounded accept loop being the only changes), on each driver.

use hiver_runtime::io::{TcpListener, TcpStream, UdpSocket};
use hiver_runtime::spawn;

use crate::support::{drivers, runtime, serial};

/// The guide's client, pointed at `addr`.
async fn tcp_client(addr: std::net::SocketAddr) -> std::io::Result<String> {
    // Connect to server
    let mut stream = TcpStream::connect(addr).await?;
    // Send data
    stream.write_all(b"Hello, server!").await?;
    // Read response
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).await?;
    println!("Server response: {}", String::from_utf8_lossy(&buf[..n]));
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[test]
fn guide_tcp_server_and_client() {
    // The binary's tests count descriptors and change RLIMIT_NOFILE: one at a time.
    let _serial = serial();
    for driver in drivers() {
        let mut runtime = runtime(driver, 2);
        let (tx, rx) = std::sync::mpsc::channel();
        let client = std::thread::spawn(move || {
            let addr = rx.recv().unwrap();
            let mut rt = runtime_for_client(driver);
            let mut replies = Vec::new();
            for _ in 0..3 {
                replies.push(rt.block_on(tcp_client(addr)).unwrap().unwrap());
            }
            replies
        });
        runtime
            .block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                println!("Listening on {}", listener.local_addr()?);
                tx.send(listener.local_addr()?).unwrap();
                for _ in 0..3 {
                    let (mut stream, addr) = listener.accept().await?;
                    println!("Connection from: {}", addr);
                    // Spawn task for each connection
                    spawn(async move {
                        let mut buf = [0u8; 1024];
                        loop {
                            // Read data
                            let n = stream.read(&mut buf).await?;
                            if n == 0 {
                                break;
                            } // Connection closed
                              // Echo back
                            stream.write_all(&buf[..n]).await?;
                        }
                        Ok::<_, std::io::Error>(())
                    });
                }
                Ok::<_, std::io::Error>(())
            })
            .unwrap()
            .unwrap();
        let replies = client.join().unwrap();
        assert_eq!(replies, vec!["Hello, server!"; 3], "{driver}");
    }
}

fn runtime_for_client(driver: hiver_runtime::DriverType) -> hiver_runtime::Runtime {
    runtime(driver, 1)
}

#[test]
fn guide_udp_example() {
    let _serial = serial();
    for driver in drivers() {
        let mut runtime = runtime(driver, 1);
        runtime
            .block_on(async {
                // The guide sends to 127.0.0.1:8080; here an echo peer of our own.
                let peer = UdpSocket::bind("127.0.0.1:0").await?;
                let peer_addr = peer.local_addr()?;
                let echo = spawn(async move {
                    let mut buf = [0u8; 64];
                    let (n, from) = peer.recv_from(&mut buf).await?;
                    peer.send_to(&buf[..n], from).await?;
                    Ok::<_, std::io::Error>(())
                });
                // Bind socket
                let socket = UdpSocket::bind("127.0.0.1:0").await?;
                // Send datagram
                socket.send_to(b"Hello, UDP!", peer_addr).await?;
                // Receive datagram
                let mut buf = [0u8; 1024];
                let (n, addr) = socket.recv_from(&mut buf).await?;
                println!(
                    "Received from {}: {}",
                    addr,
                    String::from_utf8_lossy(&buf[..n])
                );
                assert_eq!(&buf[..n], b"Hello, UDP!");
                assert_eq!(addr, peer_addr);
                echo.await.unwrap()?;
                Ok::<_, std::io::Error>(())
            })
            .unwrap()
            .unwrap();
    }
}
