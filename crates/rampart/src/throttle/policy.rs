//! The throttling algorithm, as pure functions of a [`ThrottleRecord`] and the time.
//!
//! Each key (an account or a client address, per action) is limited by up to three rules:
//!
//! 1. **Rate** (GCRA, a sliding window): `limit` attempts per `window` in a burst, then one
//!    more every `window / limit` (90 s with the defaults of 10 per 15 minutes). The record
//!    keeps only the "theoretical arrival time" `tat_ms`.
//! 2. **Back-off** (accounts): once `limit` failures follow each other with no success in
//!    between, the next attempt has to wait `window / limit` after the last failure, and the
//!    wait doubles with every further failure (90 s, 3 min, 6 min, …) up to `max_delay`.
//! 3. **Hard limit** (accounts, NIST SP 800-63B §5.2.2): after `hard_limit` consecutive
//!    failures no attempt is allowed until `forget_after` has passed since the last one (or the
//!    counters are cleared, as a successful password reset does).
//!
//! Failures are forgotten `forget_after` after the last one. Refused attempts change nothing,
//! so hammering a throttled key does not lengthen the wait; only attempts that were let through
//! (and so could be verified) count. An attempt is counted *before* it is verified (and given
//! back when it succeeds), so concurrent requests cannot slip past the limit together.

use rampart_core::throttle::ThrottleRecord;

/// The limits of one key class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    /// Attempts allowed in a burst.
    pub(crate) limit: i64,
    /// The window of the rate rule, in ms.
    pub(crate) window_ms: i64,
    /// Whether consecutive failures back off exponentially.
    pub(crate) backoff: bool,
    /// The longest back-off wait, in ms.
    pub(crate) max_delay_ms: i64,
    /// Consecutive failures after which nothing is let through (0: no hard limit).
    pub(crate) hard_limit: i64,
    /// How long failures are remembered after the last one, in ms.
    pub(crate) forget_ms: i64,
}

impl Policy {
    /// The GCRA emission interval: the time one attempt "costs".
    pub(crate) fn interval_ms(&self) -> i64 {
        (self.window_ms / self.limit.max(1)).max(1)
    }

    fn counts_failures(&self) -> bool {
        self.backoff || self.hard_limit > 0
    }

    /// The live failure count at `now_ms` (forgotten after `forget_ms`).
    fn failures(&self, r: &ThrottleRecord, now_ms: i64) -> i64 {
        if r.failures > 0 && now_ms.saturating_sub(r.last_ms) >= self.forget_ms {
            0
        } else {
            r.failures
        }
    }

    /// How long an attempt at `now_ms` has to wait (0: it may go ahead).
    pub(crate) fn wait_ms(&self, record: Option<&ThrottleRecord>, now_ms: i64) -> i64 {
        let Some(r) = record else {
            return 0;
        };
        let t = self.interval_ms();
        let tolerance = self.window_ms.saturating_sub(t);
        let mut wait = r.tat_ms.saturating_sub(tolerance).saturating_sub(now_ms);
        let failures = self.failures(r, now_ms);
        if self.backoff && failures >= self.limit {
            let excess = u32::try_from(failures - self.limit)
                .unwrap_or(u32::MAX)
                .min(62);
            let delay = t
                .saturating_mul(2_i64.saturating_pow(excess))
                .min(self.max_delay_ms);
            wait = wait.max(r.last_ms.saturating_add(delay).saturating_sub(now_ms));
        }
        if self.hard_limit > 0 && failures >= self.hard_limit {
            wait = wait.max(
                r.last_ms
                    .saturating_add(self.forget_ms)
                    .saturating_sub(now_ms),
            );
        }
        wait.max(0)
    }

    /// Counts an attempt at `now_ms`: `Ok(new record)`, or `Err(wait in ms)` when it has to
    /// wait (nothing changes then).
    pub(crate) fn acquire(
        &self,
        record: Option<ThrottleRecord>,
        now_ms: i64,
    ) -> Result<ThrottleRecord, i64> {
        let wait = self.wait_ms(record.as_ref(), now_ms);
        if wait > 0 {
            return Err(wait);
        }
        let r = record.unwrap_or_default();
        let tat = r.tat_ms.max(now_ms).saturating_add(self.interval_ms());
        let failures = self.failures(&r, now_ms).saturating_add(1);
        Ok(self.with_expiry(ThrottleRecord {
            tat_ms: tat,
            failures,
            last_ms: now_ms,
            expires_ms: 0,
        }))
    }

    /// Gives back an attempt counted by [`acquire`](Self::acquire) that turned out not to be a
    /// failure: its rate cost is returned and, when `success` (the account proved its
    /// credentials), the consecutive failures start again from zero.
    pub(crate) fn release(
        &self,
        record: Option<ThrottleRecord>,
        now_ms: i64,
        success: bool,
    ) -> Option<ThrottleRecord> {
        let r = record?;
        let failures = if success {
            0
        } else {
            self.failures(&r, now_ms).saturating_sub(1).max(0)
        };
        Some(self.with_expiry(ThrottleRecord {
            tat_ms: r.tat_ms.saturating_sub(self.interval_ms()).max(now_ms),
            failures,
            ..r
        }))
    }

    /// Sets `expires_ms`: as long as the rate rule or the failure memory still matters.
    fn with_expiry(&self, mut r: ThrottleRecord) -> ThrottleRecord {
        let mut expires = r.tat_ms;
        if self.counts_failures() && r.failures > 0 {
            expires = expires.max(r.last_ms.saturating_add(self.forget_ms));
        }
        // A record that no longer limits anything is still kept a moment, so that it is
        // written (and read back) like any other.
        r.expires_ms = expires.max(r.last_ms.saturating_add(1));
        r
    }
}

/// Whole seconds to announce in `Retry-After` for a wait of `ms` (at least 1).
pub(crate) fn retry_after_secs(ms: i64) -> u64 {
    u64::try_from(ms.saturating_add(999) / 1000)
        .unwrap_or(1)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn account() -> Policy {
        Policy {
            limit: 10,
            window_ms: 15 * MIN,
            backoff: true,
            max_delay_ms: 60 * MIN,
            hard_limit: 100,
            forget_ms: 24 * 60 * MIN,
        }
    }

    fn address() -> Policy {
        Policy {
            limit: 100,
            window_ms: 15 * MIN,
            backoff: false,
            max_delay_ms: 0,
            hard_limit: 0,
            forget_ms: 15 * MIN,
        }
    }

    /// An attacker who tries as soon as allowed: the times of the attempts let through during
    /// `duration_ms`, starting at `start`.
    fn attack(p: &Policy, start: i64, duration_ms: i64) -> (Vec<i64>, Option<ThrottleRecord>) {
        let mut rec = None;
        let mut now = start;
        let mut allowed = Vec::new();
        while now < start + duration_ms {
            match p.acquire(rec, now) {
                Ok(r) => {
                    allowed.push(now);
                    rec = Some(r);
                }
                Err(wait) => {
                    assert!(wait > 0);
                    now += wait;
                }
            }
        }
        (allowed, rec)
    }

    #[test]
    fn ten_quick_failures_then_throttled() {
        let p = account();
        let mut rec = None;
        for i in 0..10 {
            rec = Some(
                p.acquire(rec, 1_000 + i)
                    .unwrap_or_else(|w| panic!("{i}: wait {w}")),
            );
        }
        let wait = p.acquire(rec, 1_010).err().unwrap_or(0);
        assert!(
            (89_000..=90_000).contains(&wait),
            "11th waits ~90 s, got {wait}"
        );
        assert_eq!(retry_after_secs(wait), 90);
    }

    #[test]
    fn back_off_doubles_up_to_the_cap() {
        let p = account();
        let (times, _) = attack(&p, 0, 6 * 3600 * 1000);
        let gaps: Vec<i64> = times.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps[..9].iter().all(|g| *g == 0), "{gaps:?}");
        assert_eq!(
            &gaps[9..16],
            &[
                90_000, 180_000, 360_000, 720_000, 1_440_000, 2_880_000, 3_600_000
            ]
        );
        assert!(gaps[16..].iter().all(|g| *g == 3_600_000), "{gaps:?}");
    }

    #[test]
    fn at_most_ten_failures_in_the_first_quarter_hour_plus_slow_ones() {
        let (times, _) = attack(&account(), 0, 15 * MIN);
        assert_eq!(times.iter().filter(|t| **t < 1000).count(), 10);
        // 90 s, 3 min and 6 min later: 13 in the first 15 minutes.
        assert_eq!(times.len(), 13, "{times:?}");
    }

    #[test]
    fn nist_ceiling_hundred_consecutive_failures() {
        let p = account();
        // Ten days of a patient attacker: never more than 100 verified attempts before the hard
        // limit, whose wait runs for a whole day after the last failure.
        let (times, rec) = attack(&p, 0, 4 * 24 * 3600 * 1000);
        assert_eq!(times.len(), 100, "hard limit reached after 100");
        let rec = rec.unwrap_or_default();
        let last = *times.last().unwrap_or(&0);
        let wait = p.wait_ms(Some(&rec), last + 1);
        assert_eq!(wait, 24 * 60 * MIN - 1);
        // A day of quiet: everything is forgotten, and the burst is available again.
        let later = last + 24 * 60 * MIN;
        assert_eq!(p.wait_ms(Some(&rec), later), 0);
        let again = p.acquire(Some(rec), later).unwrap_or_default();
        assert_eq!(again.failures, 1);
    }

    #[test]
    fn refused_attempts_do_not_extend_the_wait() {
        let p = account();
        let mut rec = None;
        for i in 0..10 {
            rec = p.acquire(rec, i).ok();
        }
        let first = p.acquire(rec, 100).err().unwrap_or(0);
        for now in (100..80_000).step_by(500) {
            assert!(p.acquire(rec, now).is_err());
        }
        assert_eq!(p.wait_ms(rec.as_ref(), 100), first);
        assert!(p.acquire(rec, 100 + first).is_ok());
    }

    #[test]
    fn success_resets_failures_and_gives_the_attempt_back() {
        let p = account();
        let mut rec = None;
        for i in 0..9 {
            rec = p.acquire(rec, i).ok();
        }
        // The tenth attempt is the legitimate user's and succeeds.
        let taken = p.acquire(rec, 10).ok();
        let back = p.release(taken, 10, true).unwrap_or_default();
        assert_eq!(back.failures, 0);
        assert_eq!(back.tat_ms, rec.unwrap_or_default().tat_ms);
        // Back-off no longer applies; the rate rule still lets one more through.
        assert!(p.acquire(Some(back), 11).is_ok());
    }

    #[test]
    fn the_window_slides() {
        let p = account();
        let mut rec = None;
        for i in 0..10 {
            rec = p.acquire(rec, i).ok();
        }
        // A success in between (legitimate user), then after the whole window the full burst
        // is available again.
        rec = p.release(rec, 20, true);
        let later = 15 * MIN + 20;
        for i in 0..10 {
            rec = Some(
                p.acquire(rec, later + i)
                    .unwrap_or_else(|w| panic!("{i}: {w}")),
            );
        }
        assert!(p.acquire(rec, later + 11).is_err());
    }

    #[test]
    fn address_rate_without_back_off() {
        let p = address();
        let (times, rec) = attack(&p, 0, 15 * MIN);
        // A burst of 100, then one every 9 s.
        assert_eq!(times.iter().filter(|t| **t == 0).count(), 100);
        assert_eq!(times.len(), 100 + 99, "{}", times.len());
        assert!(rec.is_some_and(|r| r.expires_ms > 15 * MIN));
    }

    #[test]
    fn expiry_covers_what_still_matters() {
        let p = account();
        let r = p.acquire(None, 1_000).unwrap_or_default();
        assert_eq!(r.expires_ms, 1_000 + 24 * 60 * MIN);
        let a = address().acquire(None, 1_000).unwrap_or_default();
        assert_eq!(a.expires_ms, 1_000 + 9_000);
        // Released completely: kept only as long as the rate rule needs.
        let gone = address().release(Some(a), 1_000, true).unwrap_or_default();
        assert_eq!(gone.expires_ms, 1_001);
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(1), 1);
        assert_eq!(retry_after_secs(0), 1);
        assert_eq!(retry_after_secs(1000), 1);
        assert_eq!(retry_after_secs(1001), 2);
    }
}
