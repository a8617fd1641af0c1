//! CPU time of a process from /proc, for the generator's own limit check and the gateway's CPU cost.

/// Linux reports /proc times in USER_HZ, which the kernel ABI fixes at 100 per second
/// (whatever the kernel's internal HZ), so no `getconf CLK_TCK` is needed.
const USER_HZ: f64 = 100.0;

/// User + system CPU seconds the calling process has used so far, if /proc is readable.
pub fn self_cpu_secs() -> Option<f64> {
    parse_cpu_secs(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// User + system CPU seconds process `pid` has used so far, if /proc is readable.
pub fn pid_cpu_secs(pid: u32) -> Option<f64> {
    parse_cpu_secs(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// CPU seconds process `pid` has used so far at nanosecond resolution: the sum of its threads'
/// `/proc/PID/task/*/schedstat` run times. `/proc/PID/stat` counts in 10 ms ticks, too coarse for a
/// one-second slot that costs the gateway a few milliseconds; schedstat misses only the time of
/// threads that exited meanwhile (the gateway's worker threads live as long as it does).
/// Falls back to `/proc/PID/stat` where schedstat is not available.
pub fn pid_cpu_secs_precise(pid: u32) -> Option<f64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total_ns: u64 = 0;
    let mut any = false;
    for task in tasks.flatten() {
        let Ok(text) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        if let Some(ns) = parse_schedstat_ns(&text) {
            total_ns += ns;
            any = true;
        }
    }
    match any {
        true => Some(total_ns as f64 / 1e9),
        false => pid_cpu_secs(pid),
    }
}

/// The first field of a schedstat line: nanoseconds spent running.
pub fn parse_schedstat_ns(text: &str) -> Option<u64> {
    text.split_whitespace().next()?.parse().ok()
}

/// utime + stime (fields 14 and 15) of a /proc/PID/stat line, in seconds.
pub fn parse_cpu_secs(stat: &str) -> Option<f64> {
    // The command name (field 2) may contain spaces and parentheses; the fields after its last
    // ')' are fixed, starting at field 3 (state), so utime is index 11 there.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / USER_HZ)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_stat_with_spaces_in_name() {
        let line = "1234 (tokio (x) runtime) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 8 0 100 0 0";
        assert_eq!(parse_cpu_secs(line), Some(3.0));
        assert_eq!(parse_cpu_secs("1234 (short) S 1 2"), None);
        assert!(self_cpu_secs().is_some());
        assert!(pid_cpu_secs(std::process::id()).is_some());
    }

    #[test]
    fn precise_cpu_time_sums_threads_and_advances() {
        assert_eq!(
            parse_schedstat_ns("477163384 95763202 60\n"),
            Some(477_163_384)
        );
        assert_eq!(parse_schedstat_ns(""), None);
        let pid = std::process::id();
        let before = pid_cpu_secs_precise(pid).unwrap();
        let give_up = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut x = 0u64;
        while pid_cpu_secs_precise(pid).unwrap() < before + 0.005 {
            assert!(
                std::time::Instant::now() < give_up,
                "CPU time never advanced"
            );
            for _ in 0..10_000 {
                x = x.wrapping_add(std::hint::black_box(1));
            }
        }
        assert!(x > 0);
        assert!(pid_cpu_secs_precise(u32::MAX).is_none());
    }
}
