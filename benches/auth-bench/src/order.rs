//! The order of the cases within each round: a Williams design.
//!
//! On this VM a run's throughput depends on the run before it (the case measured right after
//! `bare` was 10–15 % faster than the same server measured after another Rampart case, in
//! either order), and a fixed order turns that carry-over into a bias of one case against
//! another. In a Williams design every case takes every position once and follows every other
//! case once over `n` rounds (`2n` for an odd number of cases), so the carry-over is spread
//! evenly; the per-round ratios to `bare` then stay unbiased.

/// The case indices of round `round` (0-based) for `n` cases.
pub fn round_order(round: usize, n: usize) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let shift = round % n;
    let mut row: Vec<usize> = first_row(n).iter().map(|&c| (c + shift) % n).collect();
    // For an odd n the design needs the mirrored square as well.
    if !n.is_multiple_of(2) && (round / n) % 2 == 1 {
        row.reverse();
    }
    row
}

/// How many rounds make one balanced design for `n` cases.
pub fn design_length(n: usize) -> usize {
    if n.is_multiple_of(2) { n } else { 2 * n }
}

/// `0, 1, n-1, 2, n-2, …`: the first row of a Williams square.
fn first_row(n: usize) -> Vec<usize> {
    let mut row = Vec::with_capacity(n);
    row.push(0);
    let (mut low, mut high) = (1, n.saturating_sub(1));
    while row.len() < n {
        if row.len() % 2 == 1 {
            row.push(low);
            low += 1;
        } else {
            row.push(high);
            high -= 1;
        }
    }
    row
}

#[cfg(test)]
mod tests {
    use super::{design_length, round_order};

    #[test]
    fn every_round_is_a_permutation_and_the_design_is_balanced() {
        for n in 1..=9 {
            let rounds = design_length(n);
            let mut position = vec![vec![0; n]; n];
            let mut follows = vec![vec![0; n]; n];
            for r in 0..rounds {
                let row = round_order(r, n);
                let mut sorted = row.clone();
                sorted.sort_unstable();
                assert_eq!(
                    sorted,
                    (0..n).collect::<Vec<_>>(),
                    "n={n} round {r}: {row:?}"
                );
                for (p, &c) in row.iter().enumerate() {
                    position[c][p] += 1;
                }
                for pair in row.windows(2) {
                    follows[pair[0]][pair[1]] += 1;
                }
            }
            let per_position = rounds / n;
            for (c, counts) in position.iter().enumerate() {
                assert!(
                    counts.iter().all(|&k| k == per_position),
                    "n={n} case {c}: {counts:?}"
                );
            }
            let per_pair = rounds / n;
            for (a, row) in follows.iter().enumerate() {
                for (b, &k) in row.iter().enumerate() {
                    let expected = if a == b { 0 } else { per_pair };
                    assert_eq!(k, expected, "n={n}: {b} after {a}");
                }
            }
        }
    }

    #[test]
    fn four_cases() {
        let rows: Vec<Vec<usize>> = (0..4).map(|r| round_order(r, 4)).collect();
        assert_eq!(rows[0], [0, 1, 3, 2]);
        assert_eq!(rows[1], [1, 2, 0, 3]);
        assert_eq!(round_order(4, 4), rows[0], "the design repeats");
    }
}
