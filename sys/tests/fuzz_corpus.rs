//! The fuzz harnesses of `hiver_sys::uring::harness` as ordinary tests: every seed kept in
//! `fuzz/corpus/<target>/` is replayed, then a few hundred pseudo-random inputs from a
//! fixed-seed xorshift generator, so that `cargo test` (and miri) exercise the same
//! invariants as `cargo fuzz run`, without nightly or libFuzzer. Fewer inputs under miri,
//! where the corpus tests are ignored unless isolation is disabled (see below).
#![cfg(target_os = "linux")]

use std::fs;
use std::path::PathBuf;

use hiver_sys::uring::harness;

/// Pseudo-random inputs per harness (after the corpus).
const RANDOM_INPUTS: usize = if cfg!(miri) { 8 } else { 400 };
/// Corpus files replayed per harness under miri (all of them otherwise).
const MIRI_CORPUS_FILES: usize = 6;

/// Marsaglia's xorshift64: tiny and deterministic.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// An input of 0 to 511 bytes (0 to 63 under miri).
    fn input(&mut self) -> Vec<u8> {
        let max = if cfg!(miri) { 64 } else { 512 };
        let len = (self.next() % max) as usize;
        (0..len).map(|_| (self.next() >> 24) as u8).collect()
    }
}

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let entries = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("fuzz corpus {} unreadable: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "fuzz corpus {} is empty", dir.display());
    if cfg!(miri) {
        files.truncate(MIRI_CORPUS_FILES);
    }
    files
        .into_iter()
        .map(|p| {
            let data = fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, data)
        })
        .collect()
}

fn replay_corpus(target: &str, run: fn(&[u8])) {
    for (path, data) in &corpus(target) {
        // The file name goes with any panic, to reproduce with `cargo fuzz run <target> <file>`.
        eprintln!("{target}: {}", path.display());
        run(data);
    }
}

fn replay_random(seed: u64, run: fn(&[u8])) {
    let mut rng = XorShift(seed);
    for _ in 0..RANDOM_INPUTS {
        run(&rng.input());
    }
    // Edge cases: nothing, one byte, and a long run of one value.
    for data in [&[][..], &[0xff], &[0x5a; 300]] {
        run(data);
    }
}

// Miri's isolation forbids reading the corpus directory: the corpus tests run under miri
// only with `MIRIFLAGS=-Zmiri-disable-isolation` and `-- --include-ignored` (first few
// files); the pseudo-random tests always run.

#[test]
#[cfg_attr(miri, ignore = "reads fuzz/corpus: needs -Zmiri-disable-isolation")]
fn cq_reader_corpus() {
    replay_corpus("cq_reader", harness::cq_reader);
}

#[test]
fn cq_reader_random() {
    replay_random(0x9e37_79b9_7f4a_7c15, harness::cq_reader);
}

#[test]
#[cfg_attr(miri, ignore = "reads fuzz/corpus: needs -Zmiri-disable-isolation")]
fn sq_ops_corpus() {
    replay_corpus("sq_ops", harness::sq_ops);
}

#[test]
fn sq_ops_random() {
    replay_random(0xd1b5_4a32_d192_ed03, harness::sq_ops);
}

#[test]
#[cfg_attr(miri, ignore = "reads fuzz/corpus: needs -Zmiri-disable-isolation")]
fn layout_corpus() {
    replay_corpus("layout", harness::layout);
}

#[test]
fn layout_random() {
    replay_random(0x2545_f491_4f6c_dd1d, harness::layout);
}
