//! The seeded generator of the tests and the soak program (included with `#[path]`): the
//! same seed gives the same sizes, bytes and deadlines on every run.
#![allow(dead_code)] // not every includer uses every method

/// A small seeded generator (xorshift64*): the same seed gives the same sizes and bytes.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        // Spread small seeds (0, 1, 2, ...) apart; never the all-zero state.
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n > 0; the bias is negligible for the sizes used here).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A size in `1..=max` whose power-of-two bucket is uniform: as many messages of 1-2
    /// bytes as of 32-64 KiB (mean about 5 KiB for a 64 KiB max).
    pub(crate) fn size(&mut self, max: usize) -> usize {
        let bits = usize::BITS - max.leading_zeros(); // max < 2^bits
        let b = self.below(u64::from(bits)) as u32;
        let lo = 1usize << b;
        let hi = (lo << 1).min(max + 1);
        if lo >= hi {
            return max;
        }
        lo + self.below((hi - lo) as u64) as usize
    }

    /// Fills `buf` with random bytes, eight at a time.
    pub(crate) fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for c in &mut chunks {
            c.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        let last = self.next_u64().to_le_bytes();
        let n = rest.len();
        rest.copy_from_slice(&last[..n]);
    }
}
