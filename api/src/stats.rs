//! Pure statistics over per-holder volumes: concentration (top-N shares, HHI, effective holders,
//! Gini). Kept free of I/O so the formulas are tested against hand-computed values.

use serde::Serialize;
use utoipa::ToSchema;

/// How concentrated volume is among holders (payers or payees).
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Concentration {
    /// Number of holders with any volume in scope.
    pub holders: u64,
    /// Share of volume of the largest holder.
    pub top1_share: f64,
    /// Share of volume of the 5 largest holders.
    pub top5_share: f64,
    /// Share of volume of the 10 largest holders.
    pub top10_share: f64,
    /// Herfindahl-Hirschman index: sum of squared shares, 0..1 (1 = one holder has everything).
    pub hhi: f64,
    /// Effective number of holders, 1 / HHI (0 when there is no volume).
    pub effective_holders: f64,
    /// Gini coefficient of the volumes, 0 (equal) .. (n-1)/n (one holder has everything).
    pub gini: f64,
}

/// Computes concentration over holder volumes (any order; non-positive volumes are ignored).
pub fn concentration(volumes: &[f64]) -> Concentration {
    let mut v: Vec<f64> = volumes.iter().copied().filter(|x| *x > 0.0).collect();
    let n = v.len();
    let total: f64 = v.iter().sum();
    if n == 0 || total <= 0.0 {
        return Concentration {
            holders: n as u64,
            ..Default::default()
        };
    }
    // Descending for top-N (unstable: equal volumes are interchangeable).
    v.sort_unstable_by(|a, b| b.total_cmp(a));
    let top = |k: usize| v.iter().take(k).sum::<f64>() / total;
    let hhi: f64 = v.iter().map(|x| (x / total).powi(2)).sum();
    // Gini over ascending order: G = 2 * sum(i * x_i) / (n * sum x) - (n + 1) / n, i = 1..n.
    let weighted: f64 = v
        .iter()
        .rev()
        .enumerate()
        .map(|(i, x)| (i as f64 + 1.0) * x)
        .sum();
    let nf = n as f64;
    let gini = (2.0 * weighted) / (nf * total) - (nf + 1.0) / nf;
    Concentration {
        holders: n as u64,
        top1_share: top(1),
        top5_share: top(5),
        top10_share: top(10),
        hhi,
        effective_holders: 1.0 / hhi,
        gini: gini.max(0.0),
    }
}

/// `num / den`, or 0 when `den` is 0 (a share of nothing is reported as 0, not NaN).
pub fn ratio(num: f64, den: f64) -> f64 {
    if den == 0.0 {
        0.0
    } else {
        num / den
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn by_hand() {
        // Volumes 10, 20, 30, 40 (total 100): shares .1 .2 .3 .4.
        let c = concentration(&[30.0, 10.0, 40.0, 20.0]);
        assert_eq!(c.holders, 4);
        close(c.top1_share, 0.4);
        close(c.top5_share, 1.0);
        close(c.hhi, 0.01 + 0.04 + 0.09 + 0.16);
        close(c.effective_holders, 1.0 / 0.30);
        // Gini = 2*(1*10+2*20+3*30+4*40)/(4*100) - 5/4 = 600/400 - 1.25 = 0.25.
        close(c.gini, 0.25);
    }

    #[test]
    fn equal_and_degenerate() {
        let c = concentration(&[5.0; 8]);
        close(c.gini, 0.0);
        close(c.hhi, 0.125);
        close(c.effective_holders, 8.0);
        close(c.top5_share, 5.0 / 8.0);
        let one = concentration(&[0.0, 7.0]);
        assert_eq!(one.holders, 1);
        close(one.hhi, 1.0);
        close(one.gini, 0.0);
        assert_eq!(concentration(&[]), Concentration::default());
    }
}
