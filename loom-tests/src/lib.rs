//! loom models of hiver-runtime's lock-free parts. The models are the tests in `tests/`,
//! each `#![cfg(loom)]`; run them with
//!
//! ```text
//! RUSTFLAGS="--cfg loom -C debug-assertions" LOOM_MAX_PREEMPTIONS=2 \
//!     CARGO_TARGET_DIR=target/loom cargo test -p hiver-loom-tests --release
//! ```
//!
//! They drive the runtime's own code (built under `cfg(loom)`, where its atomics and cells
//! are loom's), not copies of it. This library holds the shared helpers.

#[cfg(loom)]
pub mod support {
    //! Helpers shared by the models.

    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Runs `f` as a loom model and prints how many interleavings were explored.
    pub fn model(name: &str, f: impl Fn() + Sync + Send + 'static) {
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let start = RUNS.load(Ordering::Relaxed);
        loom::model(move || {
            RUNS.fetch_add(1, Ordering::Relaxed);
            f();
        });
        println!(
            "loom model {name}: {} interleavings",
            RUNS.load(Ordering::Relaxed) - start
        );
    }
}
