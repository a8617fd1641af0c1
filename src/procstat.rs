//! CPU time of a process from `/proc/PID/stat`, for the generator's own limit check and the gateway's CPU cost.

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
}
