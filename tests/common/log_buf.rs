//! A `tracing` writer into memory, for the tests that read what the runtime logged
//! (included with `#[path]`).

use std::io::Write;
use std::sync::{Arc, Mutex};

/// Shared bytes a subscriber writes into; clone it for the subscriber's writer.
#[derive(Clone, Default)]
pub(crate) struct Buf(pub(crate) Arc<Mutex<Vec<u8>>>);

impl Buf {
    /// What was written so far, as text.
    #[allow(dead_code)] // not every binary reads it this way
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
