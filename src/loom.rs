//! The only file that names atomics, `UnsafeCell`, `Arc` and thread primitives: std's, or
//! loom's under `--cfg loom`, so that `loom-tests/` model-checks the production code.

#[cfg(not(loom))]
mod imp {
    pub(crate) mod sync {
        pub(crate) mod atomic {
            pub(crate) use std::sync::atomic::{
                fence, AtomicBool, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering,
            };
        }

        /// `Mutex`: slow paths only (a channel's list of second and later waiters); the
        /// paths the word lock-free covers never take it. `Arc`: for shared state whose
        /// last drop frees cells loom tracks (std's `Arc` synchronises outside loom's view).
        pub(crate) use std::sync::{Arc, Mutex, MutexGuard};
    }

    pub(crate) mod cell {
        /// `std::cell::UnsafeCell` with loom's closure API.
        #[derive(Debug)]
        pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

        impl<T> UnsafeCell<T> {
            pub(crate) const fn new(v: T) -> Self {
                UnsafeCell(std::cell::UnsafeCell::new(v))
            }

            #[inline(always)]
            pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
                f(self.0.get())
            }

            #[inline(always)]
            pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
                f(self.0.get())
            }
        }
    }

    /// Spin-loop hint; a yield to loom's scheduler under loom.
    #[inline(always)]
    pub(crate) fn spin_hint() {
        std::hint::spin_loop();
    }
}

#[cfg(loom)]
mod imp {
    pub(crate) mod sync {
        pub(crate) mod atomic {
            pub(crate) use loom::sync::atomic::{
                fence, AtomicBool, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering,
            };
        }

        pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};
    }

    pub(crate) mod cell {
        pub(crate) use loom::cell::UnsafeCell;
    }

    pub(crate) fn spin_hint() {
        loom::thread::yield_now();
    }
}

pub(crate) use imp::*;
