//! Number formatting for the report: thousands separators, percentages, latencies.

use crate::results::Estimate;

/// `1234567.0` -> "1,234,567" (rounded to an integer).
pub fn int(value: f64) -> String {
    if !value.is_finite() {
        return "n/a".to_string();
    }
    let rounded = value.round() as i64;
    let digits = rounded.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if rounded < 0 { format!("-{out}") } else { out }
}

/// Requests per second: integers with separators, one decimal below 10.
pub fn rps(value: f64) -> String {
    if value.abs() < 10.0 && value.fract() != 0.0 {
        format!("{value:.1}")
    } else {
        int(value)
    }
}

/// A ratio in 0..=1 as a percentage with one decimal ("94.9%").
pub fn pct(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

/// A latency in microseconds, in the unit that reads best ("850 µs", "1.25 ms", "2.3 s").
pub fn latency_us(us: u64) -> String {
    match us {
        0..1_000 => format!("{us} µs"),
        1_000..1_000_000 => format!("{:.2} ms", us as f64 / 1_000.0),
        _ => format!("{:.2} s", us as f64 / 1_000_000.0),
    }
}

/// Seconds with a unit that reads best ("450 ms", "12.0 s", "5.0 min").
pub fn secs(value: f64) -> String {
    if value < 1.0 {
        format!("{:.0} ms", value * 1_000.0)
    } else if value < 120.0 {
        format!("{value:.1} s")
    } else {
        format!("{:.1} min", value / 60.0)
    }
}

/// A latency estimate with its interval: "310 µs (95% CI 290 µs to 340 µs)".
pub fn estimate_us(e: &Estimate) -> String {
    format!(
        "{} (95% CI {} to {})",
        signed_us(e.value),
        signed_us(e.lo),
        signed_us(e.hi)
    )
}

/// A cost over the floor: the estimate with its interval, or, where the interval contains zero,
/// what this machine resolved: "below what this machine resolved: < 40 µs (... )".
pub fn cost_us(e: &Estimate) -> String {
    if e.contains_zero() {
        format!(
            "below what this machine resolved: < {} (measured {})",
            signed_us(e.hi.max(0.0)),
            estimate_us(e)
        )
    } else {
        estimate_us(e)
    }
}

/// Microseconds that may be negative or fractional (a difference), in the unit that reads best.
pub fn signed_us(us: f64) -> String {
    let sign = if us < 0.0 { "-" } else { "" };
    let a = us.abs();
    if a < 10.0 {
        format!("{sign}{a:.1} µs")
    } else if a < 1_000.0 {
        format!("{sign}{a:.0} µs")
    } else {
        format!("{sign}{}", latency_us(a.round() as u64))
    }
}

/// A rate estimate with its interval: "52,000 RPS (95% CI 48,000 to 55,000)".
pub fn estimate_rps(e: &Estimate) -> String {
    format!(
        "{} RPS (95% CI {} to {})",
        rps(e.value),
        rps(e.lo),
        rps(e.hi)
    )
}

/// An optional value, or "n/a".
pub fn opt<T>(value: Option<T>, f: impl FnOnce(T) -> String) -> String {
    value.map(f).unwrap_or_else(|| "n/a".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_read_as_a_person_writes_them() {
        assert_eq!(int(1_234_567.2), "1,234,567");
        assert_eq!(int(999.0), "999");
        assert_eq!(int(-1001.0), "-1,001");
        assert_eq!(rps(2.5), "2.5");
        assert_eq!(rps(1001.0), "1,001");
        assert_eq!(pct(0.949), "94.9%");
        assert_eq!(latency_us(850), "850 µs");
        assert_eq!(latency_us(1_250), "1.25 ms");
        assert_eq!(secs(0.45), "450 ms");
        assert_eq!(secs(300.0), "5.0 min");
        assert_eq!(signed_us(-3.25), "-3.2 µs");
        assert_eq!(signed_us(1_250.0), "1.25 ms");
        let resolved = Estimate {
            value: 12.0,
            lo: 5.0,
            hi: 20.0,
            n: 10,
        };
        assert_eq!(cost_us(&resolved), "12 µs (95% CI 5.0 µs to 20 µs)");
        let unresolved = Estimate {
            lo: -8.0,
            ..resolved
        };
        assert!(cost_us(&unresolved).starts_with("below what this machine resolved: < 20 µs"));
    }
}
