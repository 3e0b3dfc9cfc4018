//! A UDP echo server: every datagram goes back to its sender. With `--send MESSAGE` it
//! instead acts as the guide's UDP example: sends the message to `--addr` and prints the
//! reply.
//!
//! ```text
//! cargo run --example udp_echo -- --addr 127.0.0.1:9000 &
//! cargo run --example udp_echo -- --addr 127.0.0.1:9000 --send "Hello, UDP!"
//! ```

#[path = "support/args.rs"]
mod args;

use hiver_runtime::io::UdpSocket;

fn main() -> std::io::Result<()> {
    let args = args::Args::parse("udp_echo", &["send"]);
    let mut runtime = args.runtime()?;
    let driver = runtime.driver_type();
    runtime.block_on(async {
        if let Some(message) = args.get("send") {
            // Bind socket
            let socket = UdpSocket::bind("127.0.0.1:0").await?;
            // Send datagram
            socket
                .send_to(message.as_bytes(), args.addr.as_str())
                .await?;
            // Receive datagram
            let mut buf = [0u8; 1024];
            let (n, addr) = socket.recv_from(&mut buf).await?;
            println!(
                "Received from {}: {}",
                addr,
                String::from_utf8_lossy(&buf[..n])
            );
            return Ok(());
        }
        let socket = UdpSocket::bind(args.addr.as_str()).await?;
        println!("listening on {} ({driver})", socket.local_addr()?);
        let mut buf = vec![0u8; 65536];
        loop {
            let (n, from) = socket.recv_from(&mut buf).await?;
            socket.send_to(&buf[..n], from).await?;
        }
    })?
}
