//! Work shared between two threads where the platform has them: an estate's `check` has a second core idle
//! otherwise. Where no thread can be had (WebAssembly in the browser, or the system refuses one), the same work
//! runs on the calling thread, in the same order, with the same result.

use std::sync::Mutex;

/// Runs `a` and `b` at once, `a` on a new thread, and gives both results; a panic in either goes on in the
/// caller.
pub(crate) fn join<RA: Send, RB>(a: impl FnOnce() -> RA + Send, b: impl FnOnce() -> RB) -> (RA, RB) {
    // (`a` is reached through a cell: a thread that cannot start drops its closure, and `a` must still run.)
    let a = Mutex::new(Some(a));
    std::thread::scope(|scope| {
        let task = || a.lock().ok().and_then(|mut a| a.take()).map(|a| a());
        match std::thread::Builder::new().spawn_scoped(scope, task) {
            Ok(thread) => {
                let rb = b();
                let ra = thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (ra.expect("the task ran"), rb)
            }
            Err(_) => {
                let a = a
                    .lock()
                    .ok()
                    .and_then(|mut a| a.take())
                    .expect("the task did not run");
                (a(), b())
            }
        }
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
mod tests {
    use super::*;

    #[test]
    fn map_keeps_order_short_and_long() {
        for n in [0, 1, 4095, 4096, 10_001] {
            let items: Vec<usize> = (0..n).collect();
            let out = map(&items, |i| i * 3);
            assert_eq!(out, items.iter().map(|i| i * 3).collect::<Vec<_>>());
        }
    }

    #[test]
    fn join_gives_both_and_passes_a_panic_on() {
        assert_eq!(join(|| 1, || "b"), (1, "b"));
        let caught = std::panic::catch_unwind(|| join(|| -> u8 { panic!("in a") }, || 2));
        assert!(caught.is_err());
    }
}
