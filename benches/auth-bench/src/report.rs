//! Medians and the result table.

use crate::cpu::CoreUse;
use crate::wrk::WrkResult;

/// A case's results over the rounds, in round order.
pub struct CaseResults {
    /// The case's name.
    pub name: &'static str,
    /// `METHOD path`, for the table.
    pub request: String,
    /// The minimum ratio to bare that the issue asks for, if any.
    pub target: Option<f64>,
    /// One result per round.
    pub rounds: Vec<WrkResult>,
    /// The servers' core in each round, when `/proc/stat` could be read.
    pub cpu: Vec<Option<CoreUse>>,
}

/// The median (mean of the middle two for an even count); `NaN` for no values.
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => f64::midpoint(v[n / 2 - 1], v[n / 2]),
    }
}

/// A distribution-free 95 % confidence interval of the median of `values`: the order
/// statistics `k` and `n + 1 - k` for the largest `k` with P(Binomial(n, 1/2) < k) <= 2.5 %.
/// `None` below six values, where even the extremes cover less than 95 %.
pub fn median_interval(values: &[f64]) -> Option<(f64, f64)> {
    let n = values.len();
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    // P(X <= i) for X ~ Binomial(n, 1/2), accumulated term by term.
    let mut term = 0.5_f64.powi(i32::try_from(n).ok()?);
    let mut below = 0.0;
    let mut k = 0;
    for i in 0..n {
        below += term;
        if below > 0.025 {
            break;
        }
        k = i + 1;
        term *= (n - i) as f64 / (i + 1) as f64;
    }
    (k >= 1).then(|| (v[k - 1], v[n - k]))
}

/// PASS when the whole confidence interval of the ratio is at or above the target, MARGINAL
/// when only the median is, MISS otherwise; without an interval, the median decides.
fn verdict(target: f64, ratio: f64, interval: Option<(f64, f64)>) -> &'static str {
    match interval {
        _ if ratio < target => "MISS",
        Some((low, _)) if low < target => "MARGINAL",
        _ => "PASS",
    }
}

/// Prints the table. `bare` is the reference case (the first of `cases`).
pub fn print(cases: &[CaseResults], cores: usize, load: &str) {
    let Some(bare) = cases.first() else { return };
    println!();
    println!("Results ({load}; {cores} cores online):");
    println!(
        "{:<10} {:<22} {:>11} {:>9} {:>9} {:>9} {:>13}  {:<17} rounds (req/s)",
        "case", "request", "req/s", "p50", "p99", "ratio", "95% CI", "target"
    );
    for case in cases {
        let rps: Vec<f64> = case.rounds.iter().map(|r| r.rps).collect();
        let p99: Vec<f64> = case.rounds.iter().map(|r| r.p99_ms).collect();
        let p50: Vec<f64> = case.rounds.iter().map(|r| r.p50_ms).collect();
        let ratios: Vec<f64> = case
            .rounds
            .iter()
            .zip(&bare.rounds)
            .map(|(c, b)| c.rps / b.rps)
            .collect();
        let ratio = median(&ratios);
        let interval = median_interval(&ratios);
        let target = case.target.map_or_else(
            || "-".to_owned(),
            |t| format!(">= {t:.2} {}", verdict(t, ratio, interval)),
        );
        let shown = interval.map_or_else(|| "-".to_owned(), |(l, h)| format!("{l:.3}-{h:.3}"));
        let per_round = rps
            .iter()
            .map(|r| format!("{r:.0}"))
            .collect::<Vec<_>>()
            .join(" / ");
        println!(
            "{:<10} {:<22} {:>11.0} {:>7.2}ms {:>7.2}ms {:>9.3} {:>13}  {:<17} {}",
            case.name,
            case.request,
            median(&rps),
            median(&p50),
            median(&p99),
            ratio,
            shown,
            target,
            per_round
        );
    }
    println!();
    print_cpu(cases, bare);
    println!();
    println!(
        "req/s, p50 and p99 are medians over rounds; ratio is the median of the per-round ratios to \
         bare, with a distribution-free 95% confidence interval of that median (6 rounds or more)."
    );
    println!(
        "Each round runs the cases in a Williams order (every case after every other once per {} \
         rounds), so what a run leaves behind does not favour one case.",
        crate::order::design_length(cases.len())
    );
    println!(
        "Targets (issue): token >= 0.7 x bare, session >= 0.5 x bare; MARGINAL: the median meets \
         the target, the interval's low end does not. The benchmark reports; it does not gate."
    );
}

/// Prints the servers' core use per case: busy share, steal, busy time per request and the
/// cost ratio (bare's busy time per request over the case's, median of the rounds).
fn print_cpu(cases: &[CaseResults], bare: &CaseResults) {
    if cases.iter().all(|c| c.cpu.iter().all(Option::is_none)) {
        return;
    }
    println!(
        "{:<10} {:>9} {:>9} {:>14} {:>10}   (the servers' core, /proc/stat)",
        "case", "busy", "steal", "us/request", "cpu ratio"
    );
    for case in cases {
        let of =
            |f: fn(&CoreUse) -> f64| -> Vec<f64> { case.cpu.iter().flatten().map(f).collect() };
        let ratios: Vec<f64> = case
            .cpu
            .iter()
            .zip(&bare.cpu)
            .filter_map(|(c, b)| Some(b.as_ref()?.us_per_request / c.as_ref()?.us_per_request))
            .collect();
        println!(
            "{:<10} {:>8.0}% {:>8.1}% {:>14.2} {:>10.3}",
            case.name,
            median(&of(|c| c.busy)) * 100.0,
            median(&of(|c| c.steal)) * 100.0,
            median(&of(|c| c.us_per_request)),
            median(&ratios)
        );
    }
    println!(
        "A busy share well under 100% means the client, not the server, set that case's \
         throughput; the cpu ratio is the cost ratio whatever the round's throughput was."
    );
}

/// Prints Rampart's speed-up over its peer for each `(ours, theirs)` pair of case names:
/// the median of the per-round ratios of requests per second.
pub fn speedups(cases: &[CaseResults], pairs: &[(&str, &str)]) {
    let find = |name: &str| cases.iter().find(|c| c.name == name);
    for (ours, theirs) in pairs {
        let (Some(a), Some(b)) = (find(ours), find(theirs)) else {
            continue;
        };
        let ratios: Vec<f64> = a
            .rounds
            .iter()
            .zip(&b.rounds)
            .map(|(x, y)| x.rps / y.rps)
            .collect();
        let speedup = median(&ratios);
        let verdict = if speedup >= 20.0 { "PASS" } else { "MISS" };
        println!(
            "Speed-up of {ours} over Flask-Security ({theirs}): {speedup:.1}x (target >= 20x {verdict})"
        );
    }
    println!();
}

#[cfg(test)]
mod tests {
    use super::{median, median_interval, verdict};

    #[test]
    fn median_intervals() {
        let five: Vec<f64> = (1..=5).map(f64::from).collect();
        assert_eq!(
            median_interval(&five),
            None,
            "5 values cover at most 93.75 %"
        );
        let six: Vec<f64> = (1..=6).map(f64::from).collect();
        assert_eq!(median_interval(&six), Some((1.0, 6.0)));
        // n = 16: P(X <= 3) = 0.0106, P(X <= 4) = 0.0384, so ranks 4 and 13.
        let sixteen: Vec<f64> = (1..=16).rev().map(f64::from).collect();
        assert_eq!(median_interval(&sixteen), Some((4.0, 13.0)));
    }

    #[test]
    fn verdicts() {
        assert_eq!(verdict(0.7, 0.75, Some((0.71, 0.8))), "PASS");
        assert_eq!(verdict(0.7, 0.75, Some((0.65, 0.8))), "MARGINAL");
        assert_eq!(verdict(0.7, 0.69, Some((0.71, 0.8))), "MISS");
        assert_eq!(verdict(0.7, 0.75, None), "PASS");
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[7.0]), 7.0);
        assert!(median(&[]).is_nan());
    }
}
