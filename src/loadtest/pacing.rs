//! Intended-send-time schedules and the precise timer each sending task waits on.
//!
//! Latency is measured from the intended send time (as wrk2 does), so the schedule must not drift
//! with the system under test: each goose user owns a fixed slice of the schedule, sleeps on its
//! own timer until a slot's intended instant, and a user still busy with an earlier request sends
//! the next one as soon as it is free, late, with the wait counted.

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::{Duration, Instant};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// Offsets of a fixed-rate schedule: `count` requests spaced `1/rate` apart, starting at zero.
/// `count` is rounded up to a multiple of `users` so every user owns the same number of slots.
pub fn fixed_rate_offsets(rate_rps: f64, duration: Duration, users: usize) -> Vec<Duration> {
    let users = users.max(1) as u64;
    let wanted = (rate_rps * duration.as_secs_f64()).round().max(1.0) as u64;
    let count = wanted.div_ceil(users) * users;
    (0..count)
        .map(|k| Duration::from_secs_f64(k as f64 / rate_rps))
        .collect()
}

/// Offsets of a burst: `count` requests all intended at the same instant.
pub fn burst_offsets(count: usize) -> Vec<Duration> {
    vec![Duration::ZERO; count]
}

/// Which user owns slot `seq` when `users` users share a schedule round-robin.
pub fn owner(seq: u64, users: usize) -> usize {
    (seq % users.max(1) as u64) as usize
}

/// A timer with microsecond precision for the sending tasks: a timerfd the tokio reactor watches.
///
/// tokio's own timer wheel has 1 ms ticks and rounds every deadline up to the next tick, so a
/// request released by `tokio::time::sleep_until` leaves 0-1 ms (about 0.5 ms on average) after
/// its intended time, and that lateness would count in every measured latency. A timerfd is an
/// hrtimer without timer slack: the kernel wakes the reactor within tens of microseconds of the
/// deadline, and the waiting task costs nothing while it waits (no spinning thread).
pub struct PreciseTimer {
    fd: AsyncFd<OwnedTimerFd>,
}

/// The timerfd as tokio's reactor wants it (`AsRawFd`); owned, so it stays open while registered.
struct OwnedTimerFd(TimerFd);

impl AsRawFd for OwnedTimerFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

impl PreciseTimer {
    /// Must be called inside a tokio runtime (the timer registers with its reactor).
    pub fn new() -> std::io::Result<Self> {
        let fd = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        // tokio deprecates the safe constructor in favour of an `unsafe` one whose contract is
        // that the fd stays open and the same while registered; the crate forbids unsafe code,
        // and the contract holds here: the AsyncFd owns the only handle to the timerfd.
        #[allow(deprecated)]
        let fd = AsyncFd::with_interest(OwnedTimerFd(fd), Interest::READABLE)?;
        Ok(PreciseTimer { fd })
    }

    /// Returns at `deadline` (at once if it has passed), never before it. With `early`, the
    /// timer fires that much before the deadline and the rest is spun: waking an idle core (a
    /// VM's vCPU especially) takes tens of microseconds, which would count as the request's
    /// lateness. The spin holds the runtime's thread, so callers keep `early` small.
    pub async fn sleep_until(&mut self, deadline: Instant, early: Duration) -> std::io::Result<()> {
        self.wait(deadline.checked_sub(early).unwrap_or(deadline))
            .await?;
        while Instant::now() < deadline {
            std::hint::spin_loop();
        }
        Ok(())
    }

    async fn wait(&mut self, deadline: Instant) -> std::io::Result<()> {
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Ok(());
            }
            // Relative to a fresh `now`: Instant and the timerfd share CLOCK_MONOTONIC.
            let left = TimeSpec::from_duration(deadline - now);
            self.fd
                .get_ref()
                .0
                .set(Expiration::OneShot(left), TimerSetTimeFlags::empty())?;
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| fd.get_ref().0.wait().map_err(std::io::Error::from)) {
                // Expired and drained: the fd stays quiet until the next `set`.
                Ok(result) => {
                    result?;
                    guard.clear_ready();
                }
                Err(_would_block) => continue,
            }
        }
    }
}

/// How much before each intended send a user's timer fires, the rest spun: at most 100 us (about
/// what waking an idle vCPU costs here), and never more than 5% of a core at the phase's rate, so
/// spinning only happens where the generator is mostly idle (0.5% of a core at 100 RPS, 5% at
/// 1,000, none to speak of at 10,000).
pub fn spin_margin(requests: usize, span: Duration) -> Duration {
    const MAX: Duration = Duration::from_micros(100);
    const CPU_SHARE: f64 = 0.05;
    if requests < 2 || span.is_zero() {
        return Duration::ZERO;
    }
    let rate = requests as f64 / span.as_secs_f64();
    Duration::from_secs_f64(CPU_SHARE / rate).min(MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_rate_spacing_and_rounding() {
        let offsets = fixed_rate_offsets(100.0, Duration::from_secs(2), 3);
        assert_eq!(
            offsets.len(),
            201,
            "200 rounded up to a multiple of 3 users"
        );
        assert_eq!(offsets[0], Duration::ZERO);
        assert_eq!(offsets[100], Duration::from_secs(1));
        assert_eq!(owner(4, 3), 1);
        assert_eq!(burst_offsets(3), vec![Duration::ZERO; 3]);
    }

    #[test]
    fn spin_margin_is_capped_by_cpu_share() {
        let secs = Duration::from_secs(10);
        assert_eq!(spin_margin(1_000, secs), Duration::from_micros(100));
        assert_eq!(spin_margin(10_000, secs), Duration::from_micros(50));
        assert_eq!(spin_margin(100_000, secs), Duration::from_micros(5));
        assert_eq!(
            spin_margin(200, Duration::ZERO),
            Duration::ZERO,
            "a burst never spins"
        );
    }

    #[tokio::test]
    async fn precise_timer_never_wakes_early_and_is_reusable() {
        let mut timer = PreciseTimer::new().unwrap();
        let start = Instant::now();
        for k in 1..=20u32 {
            let deadline = start + Duration::from_micros(250) * k;
            let early = Duration::from_micros(50 * (k as u64 % 2));
            timer.sleep_until(deadline, early).await.unwrap();
            assert!(Instant::now() >= deadline, "woke before slot {k}");
        }
        // A deadline in the past returns at once, without arming the timer.
        let past = Instant::now() - Duration::from_millis(5);
        timer.sleep_until(past, Duration::ZERO).await.unwrap();
        assert!(start.elapsed() >= Duration::from_millis(5));
    }
}
