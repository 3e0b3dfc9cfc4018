//! Accepts dropped in flight while clients connect: no connection lost or doubled.

use std::io::Write;
use std::pin::pin;

use crate::support::{attempt, drivers, pacer, run, serial};

#[test]
fn accepts_dropped_in_flight_while_clients_connect() {
    const CLIENTS: usize = 300;
    let _serial = serial();
    for driver in drivers() {
        run(
            driver,
            "accepts dropped while clients connect",
            async move {
                let listener = hiver_runtime::io::TcpListener::bind("127.0.0.1:0").await?;
                let addr = listener.local_addr()?;
                let (mut ticks, tocks) = pacer();
                let clients = std::thread::spawn(move || {
                    let mut held = Vec::new();
                    for i in 0..CLIENTS {
                        tocks.wait();
                        let mut c = std::net::TcpStream::connect(addr)?;
                        c.write_all(&(i as u32).to_le_bytes())?;
                        held.push(c);
                    }
                    Ok::<_, std::io::Error>(held)
                });
                let mut seen = vec![false; CLIENTS];
                let (mut accepted, mut dropped) = (0, 0);
                let mut step = 0usize;
                while accepted < CLIENTS {
                    let accept = pin!(listener.accept());
                    match attempt(accept).await {
                        Some(r) => {
                            let (mut stream, _) = r?;
                            let mut id = [0u8; 4];
                            stream.read_exact(&mut id).await?;
                            let id = u32::from_le_bytes(id) as usize;
                            assert!(!seen[id], "{driver}: client {id} accepted twice");
                            seen[id] = true;
                            accepted += 1;
                        }
                        None => dropped += 1,
                    }
                    if step % 4 == 0 {
                        ticks.tick();
                    }
                    if dropped > 2 * CLIENTS {
                        ticks.release();
                    }
                    step += 1;
                    assert!(
                        step < 1_000_000,
                        "{driver}: {accepted} of {CLIENTS} accepted"
                    );
                }
                ticks.release();
                let held = clients.join().expect("client thread")?;
                // Nothing extra is waiting.
                let extra = pin!(listener.accept());
                if let Some(r) = attempt(extra).await {
                    panic!("{driver}: an extra accept: {:?}", r.map(|(_, a)| a));
                }
                drop(held);
                eprintln!("{driver}: {dropped} accepts dropped in flight");
                Ok(())
            },
        );
    }
}
