//! Work shared between two threads where the platform has them: an estate's `check` has a second core idle
//! otherwise. Where no thread can be had (WebAssembly in the browser, or the system refuses one), the same work
//! runs on the calling thread, in the same order, with the same result.

use std::{
    sync::Mutex,
    thread::{Scope, ScopedJoinHandle},
};

/// A thread of `scope` running `f`, or `None` where none can be had (`f` is then dropped unrun).
pub(crate) fn spawn<'scope, T: Send + 'scope>(
    scope: &'scope Scope<'scope, '_>,
    f: impl FnOnce() -> T + Send + 'scope,
) -> Option<ScopedJoinHandle<'scope, T>> {
    #[cfg(test)]
    if tests::NO_THREADS.get() {
        return None;
    }
    std::thread::Builder::new().spawn_scoped(scope, f).ok()
}

/// Runs `a` and `b` at once, `a` on a new thread, and gives both results; a panic in either goes on in the
/// caller.
pub(crate) fn join<RA: Send, RB>(a: impl FnOnce() -> RA + Send, b: impl FnOnce() -> RB) -> (RA, RB) {
    // (`a` is reached through a cell: a thread that cannot start drops its closure, and `a` must still run.)
    let a = Mutex::new(Some(a));
    let take = |a: &Mutex<Option<_>>| a.lock().ok().and_then(|mut a| a.take());
    std::thread::scope(|scope| match spawn(scope, || take(&a).map(|a| a())) {
        Some(thread) => {
            let rb = b();
            let ra = thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (ra.expect("the task ran"), rb)
        }
        None => (take(&a).expect("the task did not run")(), b()),
    })
}

/// `f` over every item, in order, the two halves of a long list at once (see [`join`]).
pub(crate) fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    /// Shorter lists are not worth a thread.
    const SPLIT_FROM: usize = 4096;
    if items.len() < SPLIT_FROM {
        return items.iter().map(&f).collect();
    }
    let (head, tail) = items.split_at(items.len() / 2);
    let (mut out, rest): (Vec<R>, Vec<R>) =
        join(|| head.iter().map(&f).collect(), || tail.iter().map(&f).collect());
    out.extend(rest);
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::Cell;

    use super::*;

    thread_local! {
        /// Set while [`without_threads`] runs: [`spawn`] then finds no thread to be had, as in WebAssembly.
        pub(super) static NO_THREADS: Cell<bool> = const { Cell::new(false) };
    }

    /// `f` run as where no second thread can be had.
    pub(crate) fn without_threads<R>(f: impl FnOnce() -> R) -> R {
        NO_THREADS.set(true);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        NO_THREADS.set(false);
        r.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }

    #[test]
    fn map_keeps_order_short_and_long_with_or_without_threads() {
        for n in [0, 1, 4095, 4096, 10_001] {
            let items: Vec<usize> = (0..n).collect();
            let expected: Vec<usize> = items.iter().map(|i| i * 3).collect();
            assert_eq!(map(&items, |i| i * 3), expected);
            assert_eq!(without_threads(|| map(&items, |i| i * 3)), expected);
        }
    }

    /// Both results, with a thread or without; a panic in `a` reaches the caller as itself (not as the scope's
    /// own "a scoped thread panicked").
    #[test]
    fn join_gives_both_and_passes_a_panic_on() {
        assert_eq!(join(|| 1, || "b"), (1, "b"));
        assert_eq!(without_threads(|| join(|| 1, || "b")), (1, "b"));
        let caught = std::panic::catch_unwind(|| join(|| -> u8 { panic!("in a") }, || 2)).unwrap_err();
        assert_eq!(caught.downcast_ref::<&str>(), Some(&"in a"));
    }
}
