//! Intended-send-time schedules and the pacer thread that releases each request at its intended time.
//!
//! Latency is measured from the intended send time (as wrk2 does), so the schedule must not drift
//! with the system under test: a dedicated OS thread hands out tickets at their intended instants
//! and a user that is still busy finds its tickets queued and sends them immediately, late.

use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

/// One request's slot in the schedule.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    pub seq: u64,
    pub intended: Instant,
}

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

/// Sleeps the calling OS thread until `deadline`, overshooting by tens of microseconds rather
/// than the millisecond a tokio timer tick adds (which would bias every measured latency).
pub fn sleep_until_precise(deadline: Instant) {
    const SPIN_WINDOW: Duration = Duration::from_micros(300);
    loop {
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        let left = deadline - now;
        if left > SPIN_WINDOW {
            std::thread::sleep(left - SPIN_WINDOW);
        } else {
            std::thread::yield_now();
        }
    }
}

/// Releases `offsets` as tickets from `t0`, slot `k` to `senders[owner(k)]`, on the calling
/// thread. Returns once every ticket is sent (the senders are then dropped, closing the channels).
/// `cancel` stops it early.
pub fn run_pacer(
    t0: Instant,
    offsets: &[Duration],
    senders: Vec<UnboundedSender<Ticket>>,
    cancel: &Receiver<()>,
) {
    for (k, offset) in offsets.iter().enumerate() {
        let intended = t0 + *offset;
        sleep_until_precise(intended);
        if cancel.try_recv().is_ok() {
            return;
        }
        let seq = k as u64;
        // A closed channel means that user is gone; its slots are simply not sent.
        let _ = senders[owner(seq, senders.len())].send(Ticket { seq, intended });
    }
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
    }

    #[test]
    fn pacer_releases_on_time_and_round_robin() {
        let offsets = fixed_rate_offsets(200.0, Duration::from_millis(250), 2);
        let (tx_a, mut rx_a) = tokio::sync::mpsc::unbounded_channel();
        let (tx_b, mut rx_b) = tokio::sync::mpsc::unbounded_channel();
        let (_cancel_tx, cancel_rx) = std::sync::mpsc::channel();
        let t0 = Instant::now() + Duration::from_millis(5);
        run_pacer(t0, &offsets, vec![tx_a, tx_b], &cancel_rx);
        let finished = Instant::now();
        assert!(finished >= t0 + *offsets.last().unwrap());
        let mut seen = 0;
        while let Ok(t) = rx_a.try_recv() {
            assert_eq!(t.seq % 2, 0);
            assert_eq!(t.intended, t0 + offsets[t.seq as usize]);
            seen += 1;
        }
        while let Ok(t) = rx_b.try_recv() {
            assert_eq!(t.seq % 2, 1);
            seen += 1;
        }
        assert_eq!(seen, offsets.len());
    }

    #[test]
    fn precise_sleep_does_not_undershoot() {
        let deadline = Instant::now() + Duration::from_millis(3);
        sleep_until_precise(deadline);
        assert!(Instant::now() >= deadline);
    }
}
