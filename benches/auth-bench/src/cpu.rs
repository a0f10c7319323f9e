//! The servers' core during a run, from `/proc/stat`: how busy it was and its busy time per
//! request. A ratio of busy time per request is the cost ratio of two servers even when the
//! throughput of a round is disturbed (a neighbour on the host, a slow client); and a core that
//! was not saturated says the client, not the server, set the throughput.

/// `/proc/stat` counts in `USER_HZ` ticks, 100 per second on Linux.
const TICKS_PER_SECOND: f64 = 100.0;

/// One reading of a core's counters, in ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticks {
    busy: u64,
    idle: u64,
    steal: u64,
}

/// The core's use over one run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoreUse {
    /// Busy share of the run's time (user, system, interrupts), 0 to 1.
    pub busy: f64,
    /// Share of the run's time the hypervisor gave to someone else, 0 to 1.
    pub steal: f64,
    /// Busy time per completed request, in microseconds.
    pub us_per_request: f64,
}

impl Ticks {
    /// The counters of core `core` now (`None` when `/proc/stat` cannot be read).
    pub fn read(core: usize) -> Option<Self> {
        parse(&std::fs::read_to_string("/proc/stat").ok()?, core)
    }

    /// The use between `self` and a later reading `end`, over `requests` requests.
    pub fn until(self, end: Self, requests: u64) -> Option<CoreUse> {
        let busy = end.busy.checked_sub(self.busy)?;
        let idle = end.idle.checked_sub(self.idle)?;
        let steal = end.steal.checked_sub(self.steal)?;
        let all = busy + idle + steal;
        if all == 0 || requests == 0 {
            return None;
        }
        #[allow(clippy::cast_precision_loss)]
        Some(CoreUse {
            busy: busy as f64 / all as f64,
            steal: steal as f64 / all as f64,
            us_per_request: busy as f64 / TICKS_PER_SECOND * 1e6 / requests as f64,
        })
    }
}

/// The `cpuN` line of a `/proc/stat` text: user nice system idle iowait irq softirq steal.
fn parse(stat: &str, core: usize) -> Option<Ticks> {
    let name = format!("cpu{core}");
    let line = stat
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name.as_str()))?;
    let n: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let at = |i: usize| n.get(i).copied().unwrap_or(0);
    Some(Ticks {
        busy: at(0) + at(1) + at(2) + at(5) + at(6),
        idle: at(3) + at(4),
        steal: at(7),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  900 0 300 5000 10 0 40 5 0 0\n\
                        cpu0 600 0 200 1000 0 0 30 5 0 0\n\
                        cpu1 300 0 100 4000 10 0 10 0 0 0\n";

    #[test]
    fn reads_one_core_and_computes_its_use() {
        let start = parse(STAT, 0);
        assert_eq!(
            start,
            Some(Ticks {
                busy: 830,
                idle: 1000,
                steal: 5
            })
        );
        assert_eq!(parse(STAT, 2), None);
        let end = Ticks {
            busy: 830 + 450,
            idle: 1000 + 40,
            steal: 5 + 10,
        };
        let u = start.and_then(|s| s.until(end, 90_000));
        let u = u.expect("a use");
        assert!((u.busy - 0.9).abs() < 1e-9);
        assert!((u.steal - 0.02).abs() < 1e-9);
        assert!((u.us_per_request - 50.0).abs() < 1e-9);
        assert_eq!(end.until(end, 10), None);
    }
}
