//! The median of a multiset given as (value, count) pairs, by selection instead of sorting: a
//! summary's payment sizes read one bin per distinct amount of every day in the window, and
//! sorting them all on every request cost more than the rest of the summary.

/// The smallest value whose cumulative count (values ascending) reaches `k` (1-based), as
/// Postgres' `percentile_disc` picks it; `None` when the counts add up to less than `k`.
/// Reorders `bins`. Expected time linear in `bins.len()` (three-way quickselect on the value,
/// weighted by the counts).
pub(super) fn weighted_kth<T: Ord + Copy>(bins: &mut [(T, i64)], mut k: i64) -> Option<T> {
    let mut v = bins;
    while !v.is_empty() {
        let pivot = median_of_three(v);
        // v = [less | equal | greater] by value.
        let (mut lt, mut i, mut gt) = (0, 0, v.len());
        while i < gt {
            match v[i].0.cmp(&pivot) {
                std::cmp::Ordering::Less => {
                    v.swap(lt, i);
                    lt += 1;
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    gt -= 1;
                    v.swap(i, gt);
                }
                std::cmp::Ordering::Equal => i += 1,
            }
        }
        let less: i64 = v[..lt].iter().map(|b| b.1).sum();
        let equal: i64 = v[lt..gt].iter().map(|b| b.1).sum();
        if k <= less {
            v = &mut v[..lt];
        } else if k <= less + equal {
            return Some(pivot);
        } else {
            k -= less + equal;
            v = &mut v[gt..];
        }
    }
    None
}

fn median_of_three<T: Ord + Copy>(v: &[(T, i64)]) -> T {
    let (a, b, c) = (v[0].0, v[v.len() / 2].0, v[v.len() - 1].0);
    a.max(b).min(a.min(b).max(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same answer by sorting, as the summary computed it before.
    fn by_sorting(bins: &[(u64, i64)], k: i64) -> Option<u64> {
        let mut sorted = bins.to_vec();
        sorted.sort_unstable();
        let mut seen = 0;
        sorted
            .iter()
            .find(|b| {
                seen += b.1;
                seen >= k
            })
            .map(|b| b.0)
    }

    #[test]
    fn picks_the_first_value_reaching_k() {
        // Values 1 x2, 5 x1, 9 x3: positions 1-2 -> 1, 3 -> 5, 4-6 -> 9.
        let bins = [(9u64, 3i64), (1, 2), (5, 1)];
        for (k, want) in [
            (1, Some(1)),
            (2, Some(1)),
            (3, Some(5)),
            (4, Some(9)),
            (6, Some(9)),
        ] {
            assert_eq!(weighted_kth(&mut bins.clone(), k), want, "k = {k}");
        }
        assert_eq!(weighted_kth(&mut bins.clone(), 7), None);
        assert_eq!(weighted_kth::<u64>(&mut [], 1), None);
    }

    #[test]
    fn agrees_with_sorting_on_random_multisets() {
        // splitmix64, so the cases are the same on every run.
        let mut state = 7u64;
        let mut next = || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        for round in 0..200 {
            let n = (next() % 300) as usize;
            // Few distinct values in some rounds (many duplicates), many in others.
            let spread = if round % 2 == 0 { 5 } else { 1_000_000 };
            let bins: Vec<(u64, i64)> = (0..n)
                .map(|_| (next() % spread, 1 + (next() % 4) as i64))
                .collect();
            let total: i64 = bins.iter().map(|b| b.1).sum();
            for k in [1, (total + 1) / 2, total.max(1)] {
                assert_eq!(
                    weighted_kth(&mut bins.clone(), k),
                    by_sorting(&bins, k),
                    "round {round}, k {k}"
                );
            }
        }
    }
}
