//! Refusals remembered in memory, so a flood of attempts that the store has already refused
//! is answered without touching the store again (with a SQL store, each check is a write
//! transaction; 200 flooding connections queued on the pool and stalled everyone else).
//!
//! Only refusals are remembered, never permissions, and only for a short time
//! ([`MEMO_MS`]) even when the wait is longer: the store stays the authority, so a refusal
//! lifted elsewhere (a password reset on another instance clears the account's counters) is
//! seen within that time. The `Retry-After` of a remembered refusal is the store's own wait.

use std::collections::HashMap;
use std::sync::Mutex;

/// How long a refusal is answered from memory before the store is asked again.
pub(crate) const MEMO_MS: i64 = 2_000;

/// At most this many keys are remembered; past it, expired ones are dropped, then all.
const MAX_KEYS: usize = 10_000;

/// Key → (answer from memory until, refused until), both in the throttle clock's ms.
#[derive(Default)]
pub(crate) struct Refusals(Mutex<HashMap<String, (i64, i64)>>);

impl Refusals {
    /// The remaining wait of a remembered refusal of `key` at `now`, in ms.
    pub(crate) fn wait(&self, key: &str, now: i64) -> Option<i64> {
        let map = self.0.lock().ok()?;
        let &(memo_until, until) = map.get(key)?;
        (now < memo_until && now < until).then(|| until - now)
    }

    /// Remembers that the store refused `key` at `now` for `wait` ms.
    pub(crate) fn remember(&self, key: &str, now: i64, wait: i64) {
        let Ok(mut map) = self.0.lock() else { return };
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            map.retain(|_, &mut (memo_until, _)| memo_until > now);
            if map.len() >= MAX_KEYS {
                map.clear();
            }
        }
        let until = now.saturating_add(wait);
        map.insert(
            key.to_owned(),
            (now.saturating_add(MEMO_MS).min(until), until),
        );
    }

    /// Forgets `key` (its counters were cleared here).
    pub(crate) fn forget(&self, key: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_for_the_memo_time_with_the_stores_wait() {
        let r = Refusals::default();
        r.remember("k", 1_000, 90_000);
        assert_eq!(r.wait("k", 1_500), Some(89_500));
        assert_eq!(r.wait("k", 1_000 + MEMO_MS), None, "asks the store again");
        assert_eq!(r.wait("other", 1_500), None);
    }

    #[test]
    fn a_short_wait_ends_the_memo_early_and_forget_drops_it() {
        let r = Refusals::default();
        r.remember("k", 0, 500);
        assert_eq!(r.wait("k", 499), Some(1));
        assert_eq!(r.wait("k", 500), None);
        r.remember("k", 1_000, 90_000);
        r.forget("k");
        assert_eq!(r.wait("k", 1_001), None);
    }

    #[test]
    fn stays_bounded() {
        let r = Refusals::default();
        for i in 0..(MAX_KEYS + 10) {
            r.remember(&format!("k{i}"), 0, 60_000);
        }
        let len = r.0.lock().map(|m| m.len()).unwrap_or(usize::MAX);
        assert!(len <= MAX_KEYS, "{len}");
    }
}
