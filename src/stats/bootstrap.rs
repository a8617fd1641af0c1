//! Cluster bootstrap over rounds: a statistic recomputed on rounds drawn with replacement, and
//! the percentile interval of its values. Rounds, not requests, are resampled because requests
//! of one round share the machine's state at that moment (their errors are correlated); a
//! paired statistic sees the same drawn rounds for both of its modes, which keeps the pairing.

use crate::results::Estimate;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Resamples drawn; the percentile interval's end points move by well under 1% beyond this.
pub const RESAMPLES: usize = 2000;

/// How many draws, from which seed (deterministic intervals for the same data).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bootstrap {
    pub resamples: usize,
    pub seed: u64,
}

impl Bootstrap {
    /// `RESAMPLES` draws from `seed`.
    pub fn new(seed: u64) -> Bootstrap {
        Bootstrap {
            resamples: RESAMPLES,
            seed,
        }
    }
}

/// Confidence level of every interval.
pub const LEVEL: f64 = 0.95;

/// Point estimate `statistic(all rounds)` with the 95% percentile interval of `statistic` over
/// `boot.resamples` draws of `rounds` round indices with replacement. `None` when the statistic
/// is undefined on the full data (e.g. no samples).
pub fn interval<F>(rounds: usize, boot: Bootstrap, statistic: F) -> Option<Estimate>
where
    F: Fn(&[usize]) -> Option<f64>,
{
    intervals(rounds, boot, |draw| vec![statistic(draw)])
        .pop()
        .flatten()
}

/// [`interval`] for several statistics computed together from each draw (one pass over the
/// samples for all of them); the i-th estimate belongs to the i-th value `statistic` returns.
pub fn intervals<F>(rounds: usize, boot: Bootstrap, statistic: F) -> Vec<Option<Estimate>>
where
    F: Fn(&[usize]) -> Vec<Option<f64>>,
{
    if rounds == 0 {
        return Vec::new();
    }
    let all: Vec<usize> = (0..rounds).collect();
    let values = statistic(&all);
    let mut resampled: Vec<Vec<f64>> = vec![Vec::with_capacity(boot.resamples); values.len()];
    let mut rng = StdRng::seed_from_u64(boot.seed);
    let mut draw = vec![0usize; rounds];
    for _ in 0..boot.resamples {
        for d in draw.iter_mut() {
            *d = rng.random_range(0..rounds);
        }
        for (slot, v) in resampled.iter_mut().zip(statistic(&draw)) {
            slot.extend(v);
        }
    }
    values
        .into_iter()
        .zip(resampled)
        .map(|(value, mut draws)| {
            let value = value?;
            if draws.is_empty() {
                return Some(Estimate::point(value));
            }
            draws.sort_by(f64::total_cmp);
            let at = |q: f64| draws[((draws.len() - 1) as f64 * q).round() as usize];
            let tail = (1.0 - LEVEL) / 2.0;
            Some(Estimate {
                value,
                lo: at(tail).min(value),
                hi: at(1.0 - tail).max(value),
                n: rounds as u64,
            })
        })
        .collect()
}

/// The `q` quantile (0..=1) of `samples` by the nearest-rank method HdrHistogram also uses;
/// reorders `samples`.
pub fn quantile(samples: &mut [u32], q: f64) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1;
    let (_, v, _) = samples.select_nth_unstable(rank);
    Some(*v as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let mut v: Vec<u32> = (1..=100).collect();
        assert_eq!(quantile(&mut v, 0.5), Some(50.0));
        assert_eq!(quantile(&mut v, 0.99), Some(99.0));
        assert_eq!(quantile(&mut v, 1.0), Some(100.0));
        assert_eq!(quantile(&mut v, 0.0), Some(1.0));
        assert_eq!(quantile(&mut [], 0.5), None);
    }

    #[test]
    fn interval_of_a_mean_covers_it_and_narrows_with_more_rounds() {
        // Round means 0..9 and 0..99 (uniform): the interval of the mean must hold the true mean
        // and shrink roughly with the square root of the rounds.
        fn mean(data: &[f64]) -> impl Fn(&[usize]) -> Option<f64> + '_ {
            move |draw| Some(draw.iter().map(|&i| data[i]).sum::<f64>() / draw.len() as f64)
        }
        let small: Vec<f64> = (0..10).map(|i| i as f64).collect();
        let large: Vec<f64> = (0..100).map(|i| (i % 10) as f64).collect();
        let a = interval(small.len(), Bootstrap::new(1), mean(&small)).unwrap();
        let b = interval(large.len(), Bootstrap::new(1), mean(&large)).unwrap();
        assert_eq!(a.value, 4.5);
        assert!(a.lo < 4.5 && a.hi > 4.5, "{a:?}");
        assert!(b.hi - b.lo < (a.hi - a.lo) / 2.0, "{a:?} vs {b:?}");
        assert_eq!(interval(0, Bootstrap::new(1), mean(&small)), None);
        // Deterministic for a seed.
        assert_eq!(
            interval(small.len(), Bootstrap::new(1), mean(&small)),
            Some(a)
        );
    }
}
