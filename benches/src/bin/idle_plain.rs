//! The reference for `perf/run`'s idle-memory table: a plain Rust program that binds a std
//! listener, prints `listening on ADDR`, and sleeps (no runtime, no threads).
//!
//! ```text
//! idle_plain [--addr HOST:PORT]
//! ```

fn main() {
    let mut addr = "127.0.0.1:0".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--addr", Some(a)) => addr = a,
            _ => {
                eprintln!("usage: idle_plain [--addr HOST:PORT]");
                std::process::exit(2)
            }
        }
    }
    let listener = match std::net::TcpListener::bind(&addr) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("idle_plain: bind {addr}: {e}");
            std::process::exit(1)
        }
    };
    match listener.local_addr() {
        Ok(a) => println!("listening on {a} (std, no runtime)"),
        Err(e) => {
            eprintln!("idle_plain: {e}");
            std::process::exit(1)
        }
    }
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
