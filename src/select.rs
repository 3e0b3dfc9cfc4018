//! Waiting on several futures at once: `select_two`, `select_multiple` and `select!`.
//!
//! Fairness rule: the branches of a select are polled in rotating order. Each select (each
//! call of `select_two` or `select_multiple`, each evaluation of `select!`) starts one
//! branch later than the previous select on the same thread, and within one select each
//! poll starts one branch later than the previous poll. So a branch that is always ready
//! cannot starve the others: in a loop, every branch gets to go first in turn.
//!
//! The losers are dropped (and so cancelled) as soon as a winner completes.

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;

thread_local! {
    static ROTATION: Cell<usize> = const { Cell::new(0) };
}

/// The next starting offset for a select on this thread.
#[doc(hidden)]
pub fn __next_start() -> usize {
    ROTATION.with(|r| {
        let v = r.get();
        r.set(v.wrapping_add(1));
        v
    })
}

/// The output of [`select_two`]: which future completed first, with its output.
///
/// ```
/// use hiver_runtime::select::SelectTwoOutput;
/// use hiver_runtime::{select_two, Runtime};
/// let mut rt = Runtime::builder().worker_threads(1).build()?;
/// let out = rt.block_on(select_two(std::future::pending::<()>(), async { "b" }))?;
/// assert_eq!(out, SelectTwoOutput::Second("b"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectTwoOutput<A, B> {
    /// The first future completed first.
    First(A),
    /// The second future completed first.
    Second(B),
}

/// The output of [`select_multiple`]: the index of the future that completed first, and
/// its output.
///
/// ```
/// use hiver_runtime::select::SelectMultipleOutput;
/// use hiver_runtime::{select_multiple, Runtime};
/// let mut rt = Runtime::builder().worker_threads(1).build()?;
/// let futures = vec![std::future::ready(10), std::future::ready(20)];
/// let SelectMultipleOutput::Completed(i, v) = rt.block_on(select_multiple(futures))?;
/// assert_eq!(v, [10, 20][i]); // whichever was polled first, with its index
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectMultipleOutput<T> {
    /// The future at this index completed first.
    Completed(usize, T),
}

/// Waits for the first of two futures; the other is dropped.
///
/// ```
/// use hiver_runtime::select::SelectTwoOutput;
/// use hiver_runtime::{select_two, sleep, Duration, Runtime};
/// let mut rt = Runtime::new().unwrap();
/// rt.block_on(async {
///     let fast = async { 1 };
///     let slow = sleep(Duration::from_secs(5));
///     assert_eq!(select_two(fast, slow).await, SelectTwoOutput::First(1));
/// }).unwrap();
/// ```
pub async fn select_two<A: Future, B: Future>(a: A, b: B) -> SelectTwoOutput<A::Output, B::Output> {
    let mut a = pin!(a);
    let mut b = pin!(b);
    let mut turn = __next_start();
    poll_fn(move |cx| {
        turn = turn.wrapping_add(1);
        for i in 0..2 {
            if (turn + i) % 2 == 0 {
                if let Poll::Ready(v) = a.as_mut().poll(cx) {
                    return Poll::Ready(SelectTwoOutput::First(v));
                }
            } else if let Poll::Ready(v) = b.as_mut().poll(cx) {
                return Poll::Ready(SelectTwoOutput::Second(v));
            }
        }
        Poll::Pending
    })
    .await
}

/// Waits for the first of many futures; the others are dropped with the vector.
///
/// ```
/// use hiver_runtime::select::SelectMultipleOutput;
/// use hiver_runtime::{select_multiple, sleep, Duration, Runtime};
/// let mut rt = Runtime::new().unwrap();
/// rt.block_on(async {
///     let futures = vec![
///         Box::pin(async { sleep(Duration::from_secs(5)).await; "slow" }) as std::pin::Pin<Box<dyn std::future::Future<Output = &str>>>,
///         Box::pin(async { "fast" }),
///     ];
///     let SelectMultipleOutput::Completed(i, v) = select_multiple(futures).await;
///     assert_eq!((i, v), (1, "fast"));
/// }).unwrap();
/// ```
///
/// # Panics
///
/// At the call, if `futures` is empty: an empty select could never complete.
pub fn select_multiple<F: Future + Unpin>(
    futures: Vec<F>,
) -> impl Future<Output = SelectMultipleOutput<F::Output>> {
    assert!(
        !futures.is_empty(),
        "select_multiple needs at least one future: an empty select never completes"
    );
    let mut futures = futures;
    let n = futures.len();
    let mut turn = __next_start();
    poll_fn(move |cx| {
        turn = turn.wrapping_add(1);
        for k in 0..n {
            let i = (turn + k) % n;
            if let Poll::Ready(v) = std::pin::Pin::new(&mut futures[i]).poll(cx) {
                return Poll::Ready(SelectMultipleOutput::Completed(i, v));
            }
        }
        Poll::Pending
    })
}

/// Waits on several futures, running the branch of the first to complete whose pattern
/// matches (tokio's syntax: `pattern = future => expression,`). A branch whose output
/// does not match its pattern is disabled and the others keep going; if every branch is
/// disabled, the `else => expression` branch runs (without one, that panics). Branches are
/// polled in rotating order (see the module docs). Works inside an `async` block only.
///
/// ```
/// use hiver_runtime::{select, sleep, Duration, Runtime};
/// let mut rt = Runtime::new().unwrap();
/// let v = rt.block_on(async {
///     select! {
///         _ = sleep(Duration::from_secs(10)) => 0,
///         Some(x) = async { Some(7) } => x,
///         else => -1,
///     }
/// }).unwrap();
/// assert_eq!(v, 7);
/// ```
#[macro_export]
macro_rules! select {
    ($($tokens:tt)+) => {{
        $crate::__select_impl!(@munch [] [] $($tokens)+)
    }};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_impl {
    // Number the branches by peeling them one at a time.
    (@munch [$($done:tt)*] [$($idx:tt)*] else => $else_body:expr $(,)?) => {
        $crate::__select_impl!(@finish [$($done)*] [$($idx)*] ; $else_body)
    };
    (@munch [$($done:tt)*] [$($idx:tt)*] $pat:pat = $fut:expr => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select_impl!(@munch [$($done)* [($($idx)*) $pat, $fut, $body]] [$($idx)* _] $($($rest)*)?)
    };
    (@munch [$($done:tt)*] [$($idx:tt)*]) => {
        $crate::__select_impl!(@finish [$($done)*] [$($idx)*] ;)
    };
    (@finish [$([($($idx:tt)*) $pat:pat, $fut:expr, $body:expr])+] [$($all:tt)*] ; $($else_body:expr)?) => {{
        // The futures live in this block only: the losers are dropped before the winning
        // branch's body runs.
        let out: ::std::option::Option<$crate::__select_impl!(@ty $($all)*)> = {
        let mut futs = ($(::std::pin::pin!($fut),)+);
        let mut disabled = [false; $crate::__select_impl!(@count $($all)*)];
        let n = disabled.len();
        let mut turn = $crate::select::__next_start();
        #[allow(unreachable_patterns, unused_variables, clippy::redundant_pattern_matching)]
        ::std::future::poll_fn(|cx| {
            turn = turn.wrapping_add(1);
            for k in 0..n {
                let i = (turn + k) % n;
                if disabled[i] {
                    continue;
                }
                $(
                    if i == $crate::__select_impl!(@count $($idx)*) {
                        let f = &mut $crate::__select_impl!(@field futs ($($idx)*));
                        if let ::std::task::Poll::Ready(v) = ::std::future::Future::poll(f.as_mut(), cx) {
                            match v {
                                $pat => return ::std::task::Poll::Ready(::std::option::Option::Some(
                                    $crate::__select_impl!(@wrap $($idx)* ; v))),
                                _ => { disabled[i] = true; }
                            }
                        }
                    }
                )+
            }
            if disabled.iter().all(|d| *d) {
                return ::std::task::Poll::Ready(::std::option::Option::None);
            }
            ::std::task::Poll::Pending
        }).await
        };
        match out {
            $(
                ::std::option::Option::Some($crate::__select_impl!(@unwrap_pat $($idx)* ; $pat)) => $body,
            )+
            _ => { $crate::__select_impl!(@else $($else_body)?) }
        }
    }};
    (@ty _) => { $crate::select::__Out<_> };
    (@ty _ _) => { $crate::select::__Out<_, _> };
    (@ty _ _ _) => { $crate::select::__Out<_, _, _> };
    (@ty _ _ _ _) => { $crate::select::__Out<_, _, _, _> };
    (@ty _ _ _ _ _) => { $crate::select::__Out<_, _, _, _, _> };
    (@ty _ _ _ _ _ _) => { $crate::select::__Out<_, _, _, _, _, _> };
    (@ty _ _ _ _ _ _ _) => { $crate::select::__Out<_, _, _, _, _, _, _> };
    (@ty _ _ _ _ _ _ _ _) => { $crate::select::__Out<_, _, _, _, _, _, _, _> };
    (@else $e:expr) => { $e };
    (@else) => { panic!("select!: every branch was disabled and there is no else branch") };
    (@count) => { 0usize };
    (@count _ $($rest:tt)*) => { 1usize + $crate::__select_impl!(@count $($rest)*) };
    (@field $t:ident ()) => { $t.0 };
    (@field $t:ident (_)) => { $t.1 };
    (@field $t:ident (_ _)) => { $t.2 };
    (@field $t:ident (_ _ _)) => { $t.3 };
    (@field $t:ident (_ _ _ _)) => { $t.4 };
    (@field $t:ident (_ _ _ _ _)) => { $t.5 };
    (@field $t:ident (_ _ _ _ _ _)) => { $t.6 };
    (@field $t:ident (_ _ _ _ _ _ _)) => { $t.7 };
    (@wrap ; $v:expr) => { $crate::select::__Out::B0($v) };
    (@wrap _ ; $v:expr) => { $crate::select::__Out::B1($v) };
    (@wrap _ _ ; $v:expr) => { $crate::select::__Out::B2($v) };
    (@wrap _ _ _ ; $v:expr) => { $crate::select::__Out::B3($v) };
    (@wrap _ _ _ _ ; $v:expr) => { $crate::select::__Out::B4($v) };
    (@wrap _ _ _ _ _ ; $v:expr) => { $crate::select::__Out::B5($v) };
    (@wrap _ _ _ _ _ _ ; $v:expr) => { $crate::select::__Out::B6($v) };
    (@wrap _ _ _ _ _ _ _ ; $v:expr) => { $crate::select::__Out::B7($v) };
    (@unwrap_pat ; $p:pat) => { $crate::select::__Out::B0($p) };
    (@unwrap_pat _ ; $p:pat) => { $crate::select::__Out::B1($p) };
    (@unwrap_pat _ _ ; $p:pat) => { $crate::select::__Out::B2($p) };
    (@unwrap_pat _ _ _ ; $p:pat) => { $crate::select::__Out::B3($p) };
    (@unwrap_pat _ _ _ _ ; $p:pat) => { $crate::select::__Out::B4($p) };
    (@unwrap_pat _ _ _ _ _ ; $p:pat) => { $crate::select::__Out::B5($p) };
    (@unwrap_pat _ _ _ _ _ _ ; $p:pat) => { $crate::select::__Out::B6($p) };
    (@unwrap_pat _ _ _ _ _ _ _ ; $p:pat) => { $crate::select::__Out::B7($p) };
}

/// The winning branch of a `select!` (up to 8 branches). Internal to the macro.
#[doc(hidden)]
pub enum __Out<T0, T1 = (), T2 = (), T3 = (), T4 = (), T5 = (), T6 = (), T7 = ()> {
    B0(T0),
    B1(T1),
    B2(T2),
    B3(T3),
    B4(T4),
    B5(T5),
    B6(T6),
    B7(T7),
}
