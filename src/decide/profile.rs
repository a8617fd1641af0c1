//! Profiles of `gatebench decide`: how long each scenario runs and how far TTLs are scaled down.

/// A named trade-off between run time and fidelity to real-time TTLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// A few minutes on 2 cores: TTLs and durations scaled down 60x.
    Quick,
    /// About 20 minutes: TTLs scaled down 10x.
    Standard,
    /// Real 5-minute TTLs; runs last longer than one TTL (hours in total).
    Full,
    /// Seconds: for tests of the harness itself, not for decisions.
    #[value(hide = true)]
    Tiny,
}

/// TTLs the design note and the gateway use in real time, in seconds.
pub mod real_ttl_secs {
    pub const TOKEN: f64 = 300.0;
    pub const TOKEN_NEGATIVE: f64 = 10.0;
    pub const SAR_ALLOWED: f64 = 300.0;
    pub const SAR_DENIED: f64 = 30.0;
    pub const DEDUP_WINDOW: f64 = 300.0;
}

/// Everything a profile fixes; the matrix is built from it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileSpec {
    pub name: &'static str,
    /// Real seconds per run second for TTLs (60 = a 300 s TTL runs as 5 s).
    pub time_scale: f64,
    /// Timed window of each steady run.
    pub steady_secs: f64,
    /// Shortest time at each rate step of a saturation run.
    pub saturation_step_secs: f64,
    /// A step lasts long enough for this many requests (its p99 needs them).
    pub saturation_min_step_samples: u64,
    /// Saturation steps: start rate, multiplied by the factor each step, up to the max.
    pub saturation_start_rps: f64,
    pub saturation_step_factor: f64,
    pub saturation_max_rps: f64,
    /// Fewest rounds of a paired steady comparison (each gives every mode one slot).
    pub paired_rounds: usize,
    /// Time each mode is measured in a paired comparison: at high rates slots are short and
    /// rounds many, so a burst of machine noise lands in many modes' slots rather than in a few.
    pub paired_mode_secs: f64,
    /// A slot lasts long enough for this many requests, and at least `paired_min_slot_secs`.
    pub paired_slot_samples: f64,
    pub paired_min_slot_secs: f64,
    /// Time at each churn level.
    pub churn_level_secs: f64,
    pub churn_levels: Vec<f64>,
    /// Load identities (ServiceAccounts) a steady run round-robins over.
    pub identities: u64,
    pub cold_burst_concurrency: u64,
    pub throttle_concurrency: u64,
    pub handshake_secs: f64,
    /// Whether scenarios beyond steady run (tiny runs steady only).
    pub full_matrix: bool,
    /// Whether secondary modes (e.g. jwks and hybrid under churn) run too, not only the main ones.
    pub broad: bool,
}

impl ProfileSpec {
    pub fn of(profile: Profile) -> ProfileSpec {
        match profile {
            Profile::Quick => ProfileSpec {
                name: "quick",
                time_scale: 60.0,
                steady_secs: 6.0,
                saturation_step_secs: 0.25,
                saturation_min_step_samples: 2000,
                saturation_start_rps: 1000.0,
                saturation_step_factor: 2.0,
                saturation_max_rps: 32000.0,
                paired_rounds: 10,
                paired_mode_secs: 8.0,
                paired_slot_samples: 50.0,
                paired_min_slot_secs: 0.1,
                churn_level_secs: 2.0,
                churn_levels: vec![0.0, 0.02, 0.05, 0.1],
                identities: 10,
                cold_burst_concurrency: 100,
                throttle_concurrency: 200,
                handshake_secs: 3.0,
                full_matrix: true,
                broad: false,
            },
            Profile::Standard => ProfileSpec {
                name: "standard",
                time_scale: 10.0,
                steady_secs: 35.0,
                saturation_step_secs: 2.0,
                saturation_min_step_samples: 5000,
                saturation_start_rps: 500.0,
                saturation_step_factor: 1.5,
                saturation_max_rps: 32000.0,
                paired_rounds: 20,
                paired_mode_secs: 40.0,
                paired_slot_samples: 200.0,
                paired_min_slot_secs: 0.2,
                churn_level_secs: 8.0,
                churn_levels: vec![0.0, 0.01, 0.02, 0.05, 0.1, 0.2],
                identities: 50,
                cold_burst_concurrency: 200,
                throttle_concurrency: 200,
                handshake_secs: 15.0,
                full_matrix: true,
                broad: true,
            },
            Profile::Full => ProfileSpec {
                name: "full",
                time_scale: 1.0,
                steady_secs: 330.0,
                saturation_step_secs: 20.0,
                saturation_min_step_samples: 20000,
                saturation_start_rps: 500.0,
                saturation_step_factor: 1.5,
                saturation_max_rps: 32000.0,
                paired_rounds: 30,
                paired_mode_secs: 150.0,
                paired_slot_samples: 500.0,
                paired_min_slot_secs: 1.0,
                churn_level_secs: 60.0,
                churn_levels: vec![0.0, 0.01, 0.02, 0.05, 0.1, 0.2],
                identities: 100,
                cold_burst_concurrency: 200,
                throttle_concurrency: 200,
                handshake_secs: 60.0,
                full_matrix: true,
                broad: true,
            },
            Profile::Tiny => ProfileSpec {
                name: "tiny",
                time_scale: 60.0,
                steady_secs: 2.0,
                saturation_step_secs: 0.5,
                saturation_min_step_samples: 20,
                saturation_start_rps: 100.0,
                saturation_step_factor: 2.0,
                saturation_max_rps: 200.0,
                paired_rounds: 3,
                paired_mode_secs: 0.6,
                paired_slot_samples: 20.0,
                paired_min_slot_secs: 0.2,
                churn_level_secs: 1.0,
                churn_levels: vec![0.0, 0.1],
                identities: 4,
                cold_burst_concurrency: 20,
                throttle_concurrency: 20,
                handshake_secs: 1.0,
                full_matrix: false,
                broad: false,
            },
        }
    }

    /// Multiplies every timed window (not the TTLs) by `factor`, for test runs.
    pub fn scale_durations(&mut self, factor: f64) {
        self.steady_secs *= factor;
        self.saturation_step_secs *= factor;
        self.churn_level_secs *= factor;
        self.paired_min_slot_secs *= factor;
        self.paired_mode_secs *= factor;
        self.paired_slot_samples *= factor;
        self.handshake_secs *= factor;
    }

    /// Rates a saturation run steps through (it may stop earlier, once the SLO breaks).
    pub fn saturation_rates(&self) -> Vec<f64> {
        let mut rates = Vec::new();
        let mut rate = self.saturation_start_rps;
        while rate <= self.saturation_max_rps * 1.0001 && rates.len() < 64 {
            rates.push(rate);
            rate *= self.saturation_step_factor.max(1.01);
        }
        rates
    }

    /// A saturation step's planned length at `rate`.
    pub fn saturation_step_secs_at(&self, rate: f64) -> f64 {
        self.saturation_step_secs
            .max(self.saturation_min_step_samples as f64 / rate.max(1e-3))
    }

    /// A paired slot's length at `rate`: enough samples, and not shorter than the minimum.
    pub fn paired_slot_secs(&self, rate: f64) -> f64 {
        (self.paired_slot_samples / rate.max(1e-3)).max(self.paired_min_slot_secs)
    }

    /// Rounds of a paired comparison at `rate`: `paired_mode_secs` of slots per mode, and at
    /// least `paired_rounds`.
    pub fn paired_rounds_at(&self, rate: f64) -> usize {
        let rounds = (self.paired_mode_secs / self.paired_slot_secs(rate)).round() as usize;
        rounds.max(self.paired_rounds)
    }

    /// A real-time duration as it runs under this profile.
    pub fn scaled_secs(&self, real_secs: f64) -> f64 {
        real_secs / self.time_scale
    }

    /// Token-cache TTL as run.
    pub fn token_ttl_secs(&self) -> f64 {
        self.scaled_secs(real_ttl_secs::TOKEN)
    }
}

/// The gateway flags that run its TTLs `time_scale` times faster than real time (1 = real).
pub fn gateway_ttl_args(time_scale: f64) -> Vec<String> {
    let flag = |name: &str, real: f64| {
        vec![
            name.to_string(),
            format!("{}ms", (real / time_scale * 1000.0).round().max(1.0) as u64),
        ]
    };
    [
        flag("--token-cache-ttl", real_ttl_secs::TOKEN),
        flag("--token-negative-ttl", real_ttl_secs::TOKEN_NEGATIVE),
        flag("--sar-allowed-ttl", real_ttl_secs::SAR_ALLOWED),
        flag("--sar-denied-ttl", real_ttl_secs::SAR_DENIED),
        flag("--dedup-window", real_ttl_secs::DEDUP_WINDOW),
    ]
    .concat()
}

/// The token and SAR (allowed) cache TTLs, seconds, at `time_scale`: the API-call model's inputs.
pub fn model_ttl_secs(time_scale: f64) -> (f64, f64) {
    (
        real_ttl_secs::TOKEN / time_scale,
        real_ttl_secs::SAR_ALLOWED / time_scale,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_scales_the_five_minute_ttl_to_five_seconds() {
        let spec = ProfileSpec::of(Profile::Quick);
        assert_eq!(spec.token_ttl_secs(), 5.0);
        assert_eq!(
            spec.saturation_rates(),
            [1000.0, 2000.0, 4000.0, 8000.0, 16000.0, 32000.0]
        );
        // Every step long enough for 2,000 samples (a p99 of 20 slowest requests).
        assert_eq!(spec.saturation_step_secs_at(1000.0), 2.0);
        assert_eq!(spec.saturation_step_secs_at(32000.0), 0.25);
        assert_eq!(spec.paired_slot_secs(100.0), 0.5);
        assert_eq!(spec.paired_slot_secs(1000.0), 0.1);
        // 8 s per mode, at least 10 rounds: 16 rounds of 0.5 s at 100 RPS, 80 of 0.1 s at 1,000.
        assert_eq!(spec.paired_rounds_at(100.0), 16);
        assert_eq!(spec.paired_rounds_at(1000.0), 80);
        assert_eq!(spec.paired_rounds_at(1e9), 80);
        let args = gateway_ttl_args(spec.time_scale);
        let at = args.iter().position(|a| a == "--token-cache-ttl").unwrap();
        assert_eq!(args[at + 1], "5000ms");
        assert_eq!(gateway_ttl_args(1.0)[at + 1], "300000ms", "real time");
        let neg = args
            .iter()
            .position(|a| a == "--token-negative-ttl")
            .unwrap();
        assert_eq!(args[neg + 1], "167ms");
    }

    #[test]
    fn full_runs_real_time_and_longer_than_one_ttl() {
        let spec = ProfileSpec::of(Profile::Full);
        assert_eq!(spec.time_scale, 1.0);
        assert!(spec.steady_secs > spec.token_ttl_secs());
    }

    #[test]
    fn duration_scale_leaves_ttls_alone() {
        let mut spec = ProfileSpec::of(Profile::Standard);
        let ttl = spec.token_ttl_secs();
        spec.scale_durations(0.5);
        assert_eq!(spec.steady_secs, 17.5);
        assert_eq!(spec.token_ttl_secs(), ttl);
    }
}
