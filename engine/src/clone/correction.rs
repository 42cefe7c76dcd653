//! Cloning's slope refit: how wrong the shared surrogate is near one target, from the search's own renders.

use warble_speaker::prior::solve_spd;

use super::dot;

/// The surrogate's error near the best render, learnt from this target's own renders.
///
/// The shipped surrogate is one linear map for every voice; near a voice it never saw, both its value and its
/// slope are off. The error at the best render `s0` is `r0` (actual minus predicted embedding); the other renders
/// `s_j` show how the error changes: `Δr_j ≈ C·Δs_j` with `Δs_j = s_j − s0`. `C` is the smallest (ridge) matrix
/// that explains them, `C = ΔR·(ΔSᵀΔS + λI)⁻¹·ΔSᵀ`, kept in that factored form (k ≤ the evaluations, so the solve
/// is k × k). The corrected surrogate is `normalise(ĝ(s) + r0 + C·(s − s0))`.
pub(super) struct Correction {
    s0: Vec<f32>,
    r0: Vec<f32>,
    ds: Vec<Vec<f32>>,
    dr: Vec<Vec<f32>>,
    /// `(ΔSᵀΔS + λI)⁻¹`, k × k row-major.
    m: Vec<f32>,
}

/// Ridge strength relative to the mean squared step `|Δs_j|²`: strong enough that a slope seen along one or two
/// steps is not extrapolated far, weak enough that the renders are explained to within a few per cent.
const SLOPE_RIDGE: f32 = 0.1;

impl Correction {
    /// From the renders `(identity, actual − predicted)`, the best one being `best`; without `slope`, the error
    /// at the best render only (`C = 0`).
    pub(super) fn fit(renders: &[(Vec<f32>, Vec<f32>)], best: usize, slope: bool) -> Self {
        let (s0, r0) = renders[best].clone();
        let (ds, dr): (Vec<Vec<f32>>, Vec<Vec<f32>>) = renders
            .iter()
            .enumerate()
            .filter(|(i, _)| slope && *i != best)
            .map(|(_, (s, r))| {
                (s.iter().zip(&s0).map(|(a, b)| a - b).collect(), r.iter().zip(&r0).map(|(a, b)| a - b).collect())
            })
            .unzip();
        let k = ds.len();
        let mut gram: Vec<f32> = (0..k * k).map(|ij| dot(&ds[ij / k], &ds[ij % k])).collect();
        let lambda = SLOPE_RIDGE * (0..k).map(|i| gram[i * k + i]).sum::<f32>() / k.max(1) as f32;
        (0..k).for_each(|i| gram[i * k + i] += lambda.max(1e-9));
        match invert_spd(&gram, k) {
            Some(m) => Self { s0, r0, ds, dr, m },
            // Steps that cannot be solved for teach nothing: keep the error at the best render only.
            None => Self { s0, r0, ds: Vec::new(), dr: Vec::new(), m: Vec::new() },
        }
    }

    /// The modelled error at identity `s`.
    pub(super) fn at(&self, s: &[f32]) -> Vec<f32> {
        let delta: Vec<f32> = s.iter().zip(&self.s0).map(|(a, b)| a - b).collect();
        let c = self.solve(&self.ds, &delta);
        let mut r = self.r0.clone();
        for (cj, drj) in c.iter().zip(&self.dr) {
            r.iter_mut().zip(drj).for_each(|(x, d)| *x += cj * d);
        }
        r
    }

    /// `Cᵀ·a`: how the modelled error's pull along `a` changes with the identity.
    pub(super) fn pull(&self, a: &[f32]) -> Vec<f32> {
        let d = self.solve(&self.dr, a);
        let mut g = vec![0f32; self.s0.len()];
        for (dj, dsj) in d.iter().zip(&self.ds) {
            g.iter_mut().zip(dsj).for_each(|(x, s)| *x += dj * s);
        }
        g
    }

    /// `M·(rows · v)`.
    fn solve(&self, rows: &[Vec<f32>], v: &[f32]) -> Vec<f32> {
        let k = rows.len();
        let proj: Vec<f32> = rows.iter().map(|r| dot(r, v)).collect();
        (0..k).map(|i| dot(&self.m[i * k..(i + 1) * k], &proj)).collect()
    }
}

/// Inverse of a symmetric positive-definite k × k matrix: `warble_speaker`'s Cholesky solve against the
/// identity, in f64. `None` when the matrix is not positive definite (renders holding NaN, say).
fn invert_spd(a: &[f32], k: usize) -> Option<Vec<f32>> {
    let mut a: Vec<f64> = a.iter().map(|&x| f64::from(x)).collect();
    let mut inv: Vec<f64> = (0..k * k).map(|ij| if ij / k == ij % k { 1.0 } else { 0.0 }).collect();
    solve_spd(&mut a, k, &mut inv, k).ok()?;
    Some(inv.into_iter().map(|x| x as f32).collect())
}

#[cfg(test)]
mod tests {
    use super::super::norm;
    use super::*;

    /// A small deterministic generator (xorshift) for test vectors.
    fn vectors(seed: u64, count: usize, dim: usize) -> Vec<Vec<f32>> {
        let mut x = seed;
        (0..count)
            .map(|_| {
                (0..dim)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        (x % 2001) as f32 / 1000.0 - 1.0
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn the_inverse_undoes_the_matrix() {
        let k = 5;
        let rows = vectors(3, k, 9);
        let mut a: Vec<f32> = (0..k * k).map(|ij| dot(&rows[ij / k], &rows[ij % k])).collect();
        (0..k).for_each(|i| a[i * k + i] += 0.1);
        let inv = invert_spd(&a, k).unwrap();
        for i in 0..k {
            for j in 0..k {
                let v: f32 = (0..k).map(|t| a[i * k + t] * inv[t * k + j]).sum();
                assert!((v - if i == j { 1.0 } else { 0.0 }).abs() < 1e-4, "({i},{j}) {v}");
            }
        }
    }

    /// A render holding NaN (a failed clip) makes the steps unsolvable: the refit keeps the best render's error
    /// instead of spreading NaN through every later prediction.
    #[test]
    fn an_unsolvable_refit_falls_back_to_the_best_error() {
        let dim = 4;
        let mut renders: Vec<(Vec<f32>, Vec<f32>)> = vectors(13, 3, dim).into_iter().zip(vectors(17, 3, dim)).collect();
        renders[1].0[0] = f32::NAN;
        let fix = Correction::fit(&renders, 0, true);
        assert_eq!(fix.at(&renders[2].0), renders[0].1);
        assert!(fix.pull(&[1.0; 4]).iter().all(|&g| g == 0.0));
        assert!(invert_spd(&[1.0, 2.0, 2.0, 1.0], 2).is_none(), "an indefinite matrix has no Cholesky factor");
    }

    /// Renders whose error grows linearly with the identity: the refit explains them (up to the ridge), predicts
    /// the error at a new point along the steps it saw, and its gradient is the derivative of what it predicts.
    #[test]
    fn the_slope_refit_learns_a_linear_error_and_differentiates_it() {
        let dim = 12;
        let slope = vectors(7, dim, dim); // the error's true slope, dim × dim
        let error = |s: &[f32]| -> Vec<f32> { slope.iter().map(|row| 0.3 + dot(row, s)).collect() };
        let points = vectors(11, 8, dim);
        let renders: Vec<(Vec<f32>, Vec<f32>)> = points.iter().map(|s| (s.clone(), error(s))).collect();
        let fix = Correction::fit(&renders, 2, true);
        let flat = Correction::fit(&renders, 2, false);
        // A point inside the renders' span, between two of them.
        let s: Vec<f32> = points[4].iter().zip(&points[6]).map(|(a, b)| 0.5 * (a + b)).collect();
        let gap = |r: &[f32]| norm(&r.iter().zip(error(&s)).map(|(a, b)| a - b).collect::<Vec<_>>());
        assert!(gap(&fix.at(&s)) < 0.25 * gap(&flat.at(&s)), "{} vs {}", gap(&fix.at(&s)), gap(&flat.at(&s)));
        assert_eq!(flat.at(&s), renders[2].1, "without the slope the error is the best render's");
        // pull(a) = Cᵀa: the derivative of a·at(s) along any direction.
        let a = vectors(5, 1, dim).remove(0);
        let dir = vectors(9, 1, dim).remove(0);
        let h = 1e-2;
        let shifted: Vec<f32> = s.iter().zip(&dir).map(|(x, d)| x + h * d).collect();
        let numeric = (dot(&a, &fix.at(&shifted)) - dot(&a, &fix.at(&s))) / h;
        let analytic = dot(&fix.pull(&a), &dir);
        assert!((numeric - analytic).abs() < 1e-2 * (1.0 + analytic.abs()), "{numeric} vs {analytic}");
    }
}
