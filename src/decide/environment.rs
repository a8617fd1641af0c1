//! What machine, tools and command produced a results file, so a reader can reproduce it.

use crate::results::Environment;

/// How `loadtest` measures latency; the summary's own `method` string overrides it when present.
pub const LATENCY_METHOD: &str = "latency from each request's intended send time on a fixed-rate schedule \
     (coordinated omission corrected, as wrk2), recorded in microseconds in HdrHistograms (3 significant digits)";

/// Inputs that come from the command line rather than the machine.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub profile: String,
    pub time_scale: f64,
    pub target: String,
    pub pinned: bool,
}

/// Gathers the environment now (start of the run).
pub fn gather(info: &RunInfo) -> Environment {
    Environment {
        gatebench_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: git_commit(),
        rustc_version: rustc_version(),
        os: os_description(),
        cpu_model: cpu_model().unwrap_or_else(|| "unknown".into()),
        cpus: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        profile: info.profile.clone(),
        time_scale: info.time_scale,
        target: info.target.clone(),
        command_line: std::env::args().collect::<Vec<_>>().join(" "),
        started_at: now(),
        finished_at: None,
        latency_method: LATENCY_METHOD.to_string(),
        pinned: info.pinned,
        kube_apiserver_version: None,
        etcd_version: None,
    }
}

/// Current time as RFC 3339 UTC.
pub fn now() -> String {
    jiff::Timestamp::now().to_string()
}

fn command_stdout(program: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// The commit of the checkout decide runs in, else of the one it was built from.
fn git_commit() -> Option<String> {
    [".", env!("CARGO_MANIFEST_DIR")].iter().find_map(|dir| {
        let head = command_stdout("git", &["-C", dir, "rev-parse", "HEAD"])?;
        let dirty = command_stdout(
            "git",
            &["-C", dir, "status", "--porcelain", "--untracked-files=no"],
        )
        .is_some();
        Some(if dirty { format!("{head}-dirty") } else { head })
    })
}

fn rustc_version() -> String {
    // Prefer the compiler cargo would use; the binary may run where no toolchain is installed.
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    command_stdout(&rustc, &["-V"]).unwrap_or_else(|| "unknown (rustc not on PATH)".into())
}

fn os_description() -> String {
    let kernel = command_stdout("uname", &["-sr"]);
    let pretty = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        });
    match (pretty, kernel) {
        (Some(p), Some(k)) => format!("{p} ({k})"),
        (Some(p), None) => p,
        (None, Some(k)) => k,
        (None, None) => std::env::consts::OS.to_string(),
    }
}

fn cpu_model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    parse_cpu_model(&text)
}

fn parse_cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        matches!(key.trim(), "model name" | "Model" | "cpu model").then(|| value.trim().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_model_from_cpuinfo() {
        let text = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n";
        assert_eq!(
            parse_cpu_model(text).as_deref(),
            Some("Intel(R) Xeon(R) CPU @ 2.20GHz")
        );
        assert_eq!(parse_cpu_model("processor : 0\n"), None);
    }

    #[test]
    fn gathers_this_machine() {
        let env = gather(&RunInfo {
            profile: "tiny".into(),
            time_scale: 60.0,
            target: "embedded".into(),
            pinned: false,
        });
        assert!(env.cpus >= 1);
        assert!(env.started_at.ends_with('Z'), "{}", env.started_at);
        assert_eq!(env.time_scale, 60.0);
    }
}
