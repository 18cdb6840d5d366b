//! Which identifier each request asks for: uniform or Zipf-skewed over a loaded [`DatasetSpec`], with a share of
//! identifiers that do not exist.

use rand::rngs::SmallRng;
use rand::{Rng as _, SeedableRng};
use rand_distr::{Distribution, Zipf};

use crate::dataset::DatasetSpec;

/// A large prime that scatters Zipf ranks over the data set, so the hot keys are not all of one enterprise.
const SCATTER: u64 = 2_654_435_761;

/// The key distribution.
#[derive(Debug, Clone)]
pub struct KeySpec {
    /// The data set the node holds.
    pub dataset: DatasetSpec,
    /// Zipf exponent (`None`: uniform).
    pub zipf: Option<f64>,
    /// Share of requests for identifiers that do not exist (0..1).
    pub miss_ratio: f64,
}

/// One worker's key source.
pub struct Keys {
    spec: KeySpec,
    zipf: Option<Zipf<f64>>,
    rng: SmallRng,
    misses: u64,
}

impl Keys {
    /// The key source of worker `seed`.
    pub fn new(spec: KeySpec, seed: u64) -> Self {
        let zipf = spec.zipf.and_then(|s| Zipf::new(spec.dataset.count.max(1) as f64, s).ok());
        Self { spec, zipf, rng: SmallRng::seed_from_u64(seed), misses: seed << 32 }
    }

    /// The next identifier, and whether it exists.
    pub fn next_key(&mut self) -> (String, bool) {
        let d = &self.spec.dataset;
        if self.spec.miss_ratio > 0.0 && self.rng.random_bool(self.spec.miss_ratio.min(1.0)) {
            self.misses += 1;
            return (d.missing(self.misses), false);
        }
        let i = match &self.zipf {
            Some(z) => (z.sample(&mut self.rng) as u64).saturating_sub(1).wrapping_mul(SCATTER) % d.count.max(1),
            None => self.rng.random_range(0..d.count.max(1)),
        };
        (d.handle(i), true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_is_skewed_uniform_is_not_and_misses_are_misses() {
        let spec = |zipf, miss_ratio| KeySpec { dataset: DatasetSpec::new(10_000, 10), zipf, miss_ratio };
        let top_share = |z| {
            let mut k = Keys::new(spec(z, 0.0), 1);
            let mut counts = std::collections::HashMap::new();
            for _ in 0..20_000 {
                *counts.entry(k.next_key().0).or_insert(0u32) += 1;
            }
            let mut v: Vec<u32> = counts.into_values().collect();
            v.sort_unstable_by(|a, b| b.cmp(a));
            v.iter().take(100).sum::<u32>() as f64 / 20_000.0
        };
        assert!(top_share(Some(1.0)) > 0.4, "Zipf: the top 1% of keys take a large share");
        assert!(top_share(None) < 0.05, "uniform: they do not");
        let mut k = Keys::new(spec(None, 0.25), 2);
        let misses = (0..4000).filter(|_| !k.next_key().1).count();
        assert!((800..1200).contains(&misses), "{misses}");
        assert!(k.next_key().0.starts_with("88.798."));
    }
}
