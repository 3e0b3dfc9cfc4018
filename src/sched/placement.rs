//! Where a `Send` task goes: the less loaded of two workers picked at random ("power of two
//! choices"), preferring the spawning worker on a tie. Load is the number of live tasks a
//! worker owns. Cheap (two relaxed loads), and it spreads one accept loop's connections
//! over every worker.

use std::cell::Cell;

thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded per process (and per thread here): a cheap, portable seed.
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
        | 1
}

fn next_rand() -> u64 {
    RNG.with(|r| {
        // xorshift64
        let mut x = r.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        r.set(x);
        x
    })
}

/// Picks one of `n` workers, the load of worker `i` being `load(i)`; prefers `current`
/// when it is no busier than the pick.
pub(crate) fn pick_by(n: usize, load: impl Fn(usize) -> usize, current: Option<usize>) -> usize {
    debug_assert!(n > 0);
    if n == 1 {
        return 0;
    }
    let r = next_rand();
    let a = (r % n as u64) as usize;
    let mut b = ((r >> 32) % (n as u64 - 1)) as usize;
    if b >= a {
        b += 1;
    }
    let best = if load(a) <= load(b) { a } else { b };
    match current {
        Some(c) if c < n && load(c) <= load(best) => c,
        _ => best,
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn pick(loads: &[&AtomicUsize], current: Option<usize>) -> usize {
        pick_by(loads.len(), |i| loads[i].load(Ordering::Relaxed), current)
    }

    #[test]
    fn spreads_and_prefers_the_idle() {
        let loads: Vec<AtomicUsize> = (0..4).map(|_| AtomicUsize::new(0)).collect();
        let refs: Vec<&AtomicUsize> = loads.iter().collect();
        for _ in 0..4000 {
            let i = pick(&refs, None);
            loads[i].fetch_add(1, Ordering::Relaxed);
        }
        for l in &loads {
            let v = l.load(Ordering::Relaxed);
            assert!((900..=1100).contains(&v), "unbalanced: {v}");
        }
        loads[2].store(0, Ordering::Relaxed);
        assert_eq!(
            pick(&refs, Some(2)),
            2,
            "an idle current worker keeps the task"
        );
        assert_eq!(pick(&refs[..1], Some(0)), 0);
    }
}
