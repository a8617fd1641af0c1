//! Is the load generator itself the limit? Its own CPU use (from /proc/self/stat) and how late it
//! sent requests, so a report never blames the gateway for the load tool.

use crate::results::GeneratorLimit;
use std::time::{Duration, Instant};

/// Process CPU seconds (user + system) so far, if /proc is readable.
pub fn process_cpu_secs() -> Option<f64> {
    crate::procstat::self_cpu_secs()
}

/// CPUs this process may run on (honours affinity, e.g. GATEBENCH_PIN_CPU).
pub fn cores_available() -> f64 {
    std::thread::available_parallelism().map_or(1, |n| n.get()) as f64
}

/// CPU and wall clock at the start of a measured window.
pub struct CpuWindow {
    cpu_secs: Option<f64>,
    started: Instant,
}

impl CpuWindow {
    pub fn start() -> Self {
        CpuWindow {
            cpu_secs: process_cpu_secs(),
            started: Instant::now(),
        }
    }

    /// Cores used on average since `start` (1.0 = one full core).
    pub fn cores_used(&self) -> f64 {
        match (self.cpu_secs, process_cpu_secs()) {
            (Some(a), Some(b)) => cores_over(a, b, self.started.elapsed()),
            _ => 0.0,
        }
    }
}

/// Average cores used when CPU time went from `before_secs` to `after_secs` over `wall`.
fn cores_over(before_secs: f64, after_secs: f64, wall: Duration) -> f64 {
    (after_secs - before_secs).max(0.0) / wall.as_secs_f64().max(1e-3)
}

/// What a run observed about its own sending.
#[derive(Debug, Clone, Copy)]
pub struct Observed {
    pub offered_rps: f64,
    pub achieved_rps: f64,
    pub cores_used: f64,
    pub cores_available: f64,
    /// p99 of actual send minus the later of intended time and the user being free.
    pub send_delay_p99: Duration,
    /// Share of the users' time spent waiting on responses (sum of service times over
    /// users x elapsed).
    pub users_busy: f64,
}

/// Users this busy were waiting on the gateway: a shortfall is then the gateway's (or too few
/// `--users`), not the generator's.
const USERS_BUSY_GATEWAY_BOUND: f64 = 0.8;

/// Judges a run: the generator is the limit when its CPU is (nearly) saturated, or when the
/// achieved rate fell short while its users were mostly free yet sent late.
pub fn judge(o: Observed) -> GeneratorLimit {
    let mut reasons = Vec::new();
    if o.cores_used >= 0.9 * o.cores_available {
        reasons.push(format!(
            "generator CPU {:.0}% of {} core(s)",
            100.0 * o.cores_used / o.cores_available,
            o.cores_available
        ));
    }
    let short = o.offered_rps > 0.0 && o.achieved_rps < 0.95 * o.offered_rps;
    if short
        && o.users_busy < USERS_BUSY_GATEWAY_BOUND
        && o.send_delay_p99 >= Duration::from_millis(1)
    {
        reasons.push(format!(
            "achieved {:.0}% of offered with users {:.0}% busy and generator send delay p99 {} us",
            100.0 * o.achieved_rps / o.offered_rps,
            100.0 * o.users_busy,
            o.send_delay_p99.as_micros()
        ));
    }
    GeneratorLimit {
        limited: !reasons.is_empty(),
        reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
        cpu_cores_used: o.cores_used,
        send_delay_p99_us: o.send_delay_p99.as_micros() as u64,
        users_busy: o.users_busy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_cpu_advances_with_busy_work() {
        // Only that the reading advances: a ratio over a short window is quantized by the
        // 10 ms tick and shared with whatever else this test process runs in parallel.
        let start_cpu = process_cpu_secs().unwrap();
        let give_up = Instant::now() + Duration::from_secs(20);
        let mut x = 0u64;
        while process_cpu_secs().unwrap() < start_cpu + 0.05 {
            assert!(Instant::now() < give_up, "CPU time never advanced");
            for _ in 0..10_000 {
                x = x.wrapping_add(std::hint::black_box(1));
            }
        }
        assert!(x > 0);
        assert!(CpuWindow::start().cores_used() >= 0.0);
    }

    #[test]
    fn cores_are_cpu_time_over_wall_time() {
        assert_eq!(cores_over(1.0, 2.5, Duration::from_secs(1)), 1.5);
        assert_eq!(cores_over(3.0, 3.5, Duration::from_secs(2)), 0.25);
        assert_eq!(
            cores_over(2.0, 1.0, Duration::from_secs(1)),
            0.0,
            "never negative"
        );
    }

    #[test]
    fn judges_cpu_and_late_sends() {
        let base = Observed {
            offered_rps: 1000.0,
            achieved_rps: 990.0,
            cores_used: 0.4,
            cores_available: 1.0,
            send_delay_p99: Duration::from_micros(80),
            users_busy: 0.1,
        };
        assert!(!judge(base).limited);
        let cpu = judge(Observed {
            cores_used: 0.97,
            ..base
        });
        assert!(cpu.limited && cpu.reason.unwrap().contains("CPU"));
        let late = judge(Observed {
            achieved_rps: 700.0,
            send_delay_p99: Duration::from_millis(4),
            ..base
        });
        assert!(late.limited && late.reason.unwrap().contains("70%"));
        let server_slow = judge(Observed {
            achieved_rps: 700.0,
            ..base
        });
        assert!(
            !server_slow.limited,
            "a slow server is not the generator's fault"
        );
        let users_waiting = judge(Observed {
            achieved_rps: 500.0,
            send_delay_p99: Duration::from_millis(8),
            users_busy: 0.97,
            ..base
        });
        assert!(!users_waiting.limited, "users waiting on the gateway");
    }
}
