//! The guide's TCP client: connects, sends a message, prints the reply, `--count` times.
//!
//! ```text
//! cargo run --example echo_server &
//! cargo run --example tcp_client -- --addr 127.0.0.1:8080 --message "Hello, server!" --count 3
//! ```

#[path = "support/args.rs"]
mod args;

use hiver_runtime::io::TcpStream;

async fn tcp_client(addr: &str, message: &[u8]) -> std::io::Result<String> {
    // Connect to server
    let mut stream = TcpStream::connect(addr).await?;
    // Send data
    stream.write_all(message).await?;
    // Read response
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).await?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

fn main() -> std::io::Result<()> {
    let args = args::Args::parse("tcp_client", &["message", "count"]);
    let message = args.get("message").unwrap_or("Hello, server!").to_string();
    let count: usize = match args.get("count").map(str::parse).unwrap_or(Ok(1)) {
        Ok(n) => n,
        Err(_) => {
            eprintln!("--count takes a number");
            std::process::exit(2);
        }
    };
    let mut runtime = args.runtime()?;
    runtime.block_on(async {
        for _ in 0..count {
            let reply = tcp_client(&args.addr, message.as_bytes()).await?;
            println!("Server response: {reply}");
        }
        Ok::<_, std::io::Error>(())
    })?
}
