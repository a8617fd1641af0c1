//! Client-side token bucket for API-server calls, like client-go's flowcontrol: callers wait their
//! turn, but never longer than their call's timeout, and a cancelled caller gives its turn back.

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

    fn lock(&self) -> std::sync::MutexGuard<'_, Bucket> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How long the caller must wait for its token; the token is taken now unless the wait would
    /// exceed `max_wait` (then nothing is taken and the wait is returned as the error).
    fn reserve(&self, max_wait: Duration) -> Result<Duration, Duration> {
        let mut bucket = self.lock();
        let now = Instant::now();
        let elapsed_secs = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed_secs * self.qps).min(self.burst);
        bucket.updated = now;
        let after = bucket.tokens - 1.0;
        let wait = if after >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-after / self.qps)
        };
        if wait > max_wait {
            return Err(wait);
        }
        bucket.tokens = after;
        Ok(wait)
    }

    /// Returns a reserved token (a caller that gave up before its turn).
    fn give_back(&self) {
        let mut bucket = self.lock();
        bucket.tokens = (bucket.tokens + 1.0).min(self.burst);
    }

    /// Waits for a token and returns how long that took; fails at once, taking nothing, when the
    /// wait would exceed `max_wait`. Dropping the future before its turn gives the token back.
    pub async fn acquire(&self, max_wait: Duration) -> Result<Duration, Duration> {
        let wait = self.reserve(max_wait)?;
        if !wait.is_zero() {
            let turn = Turn {
                limiter: self,
                taken: false,
            };
            tokio::time::sleep(wait).await;
            turn.take();
        }
        Ok(wait)
    }
}

/// A reservation still waiting for its time; gives its token back if dropped before then.
struct Turn<'a> {
    limiter: &'a RateLimiter,
    taken: bool,
}

impl Turn<'_> {
    fn take(mut self) {
        self.taken = true;
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if !self.taken {
            self.limiter.give_back();
        }
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

    const LONG: Duration = Duration::from_secs(60);

    #[test]
    fn burst_then_paced_reservations() {
        let limiter = RateLimiter::new(Some(10.0), 2).unwrap();
        assert_eq!(limiter.reserve(LONG), Ok(Duration::ZERO));
        assert_eq!(limiter.reserve(LONG), Ok(Duration::ZERO));
        // Queued callers each owe one more token: 100 ms, then 200 ms.
        let third = limiter.reserve(LONG).unwrap().as_secs_f64();
        let fourth = limiter.reserve(LONG).unwrap().as_secs_f64();
        assert!((third - 0.1).abs() < 0.01, "{third}");
        assert!((fourth - 0.2).abs() < 0.01, "{fourth}");
    }

    #[test]
    fn a_wait_beyond_the_timeout_fails_and_takes_nothing() {
        let limiter = RateLimiter::new(Some(10.0), 1).unwrap();
        assert_eq!(limiter.reserve(LONG), Ok(Duration::ZERO));
        // The next token is 100 ms away: refused under a 50 ms budget, and nothing was taken,
        // so a caller with a larger budget still waits only ~100 ms.
        let refused = limiter.reserve(Duration::from_millis(50)).unwrap_err();
        assert!(refused > Duration::from_millis(50), "{refused:?}");
        let next = limiter.reserve(LONG).unwrap().as_secs_f64();
        assert!((next - 0.1).abs() < 0.01, "{next}");
    }

    #[tokio::test]
    async fn acquire_waits_for_its_token() {
        let limiter = RateLimiter::new(Some(20.0), 1).unwrap();
        limiter.acquire(LONG).await.unwrap();
        let start = Instant::now();
        let waited = limiter.acquire(LONG).await.unwrap();
        assert!(waited > Duration::from_millis(30));
        assert!(start.elapsed() >= waited);
    }

    #[tokio::test]
    async fn a_cancelled_caller_gives_its_turn_back() {
        let limiter = RateLimiter::new(Some(5.0), 1).unwrap();
        limiter.acquire(LONG).await.unwrap();
        // This caller's turn is 200 ms away; it gives up after 20 ms.
        let gave_up = tokio::time::timeout(Duration::from_millis(20), limiter.acquire(LONG)).await;
        assert!(gave_up.is_err());
        // Without the give-back the next caller would wait ~400 ms (behind the cancelled one).
        let next = limiter.reserve(LONG).unwrap().as_secs_f64();
        assert!(next < 0.25, "{next}");
    }
}
