//! Client-side token bucket for API-server calls, like client-go's flowcontrol: callers wait, never fail.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// A token bucket refilled at `qps` up to `burst`. Waiting callers reserve a future token, so
/// concurrent callers queue in order exactly like `golang.org/x/time/rate` reservations.
#[derive(Debug)]
pub struct RateLimiter {
    qps: f64,
    burst: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    /// May go negative: each waiting caller owns one token of debt.
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    /// `None` when `qps` is absent or not positive (unlimited, the gateway default).
    pub fn new(qps: Option<f64>, burst: u32) -> Option<Self> {
        let qps = qps.filter(|q| *q > 0.0 && q.is_finite())?;
        let burst = f64::from(burst.max(1));
        Some(RateLimiter {
            qps,
            burst,
            state: Mutex::new(Bucket {
                tokens: burst,
                updated: Instant::now(),
            }),
        })
    }

    /// How long the caller must wait for its token; the token is taken now.
    fn reserve(&self) -> Duration {
        let mut bucket = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let elapsed_secs = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed_secs * self.qps).min(self.burst);
        bucket.updated = now;
        bucket.tokens -= 1.0;
        if bucket.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-bucket.tokens / self.qps)
        }
    }

    /// Waits for a token and returns how long that took.
    pub async fn acquire(&self) -> Duration {
        let wait = self.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_when_qps_missing() {
        assert!(RateLimiter::new(None, 10).is_none());
        assert!(RateLimiter::new(Some(0.0), 10).is_none());
    }

    #[test]
    fn burst_then_paced_reservations() {
        let limiter = RateLimiter::new(Some(10.0), 2).unwrap();
        assert_eq!(limiter.reserve(), Duration::ZERO);
        assert_eq!(limiter.reserve(), Duration::ZERO);
        // Queued callers each owe one more token: 100 ms, then 200 ms.
        let third = limiter.reserve().as_secs_f64();
        let fourth = limiter.reserve().as_secs_f64();
        assert!((third - 0.1).abs() < 0.01, "{third}");
        assert!((fourth - 0.2).abs() < 0.01, "{fourth}");
    }

    #[tokio::test]
    async fn acquire_waits_for_its_token() {
        let limiter = RateLimiter::new(Some(20.0), 1).unwrap();
        limiter.acquire().await;
        let start = Instant::now();
        let waited = limiter.acquire().await;
        assert!(waited > Duration::from_millis(30));
        assert!(start.elapsed() >= waited);
    }
}
