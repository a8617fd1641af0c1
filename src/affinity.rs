//! CPU pinning for the separate processes of a measurement run (apiserver, gateway, load generator).

/// Environment variable naming the CPU (0-based index) a gatebench process pins itself to at start.
pub const PIN_CPU_ENV: &str = "GATEBENCH_PIN_CPU";

/// Pins the calling thread (and so every thread it spawns later, e.g. tokio workers) to the CPU
/// named in `GATEBENCH_PIN_CPU`. Returns the CPU pinned to, or `None` when unset or unavailable.
/// Call it first thing in `main`, before any runtime starts.
pub fn pin_from_env() -> Option<usize> {
    let wanted: usize = std::env::var(PIN_CPU_ENV).ok()?.trim().parse().ok()?;
    let core = core_affinity::get_core_ids()?
        .into_iter()
        .find(|c| c.id == wanted)?;
    core_affinity::set_for_current(core).then_some(wanted)
}

/// Pins every thread of process `pid` to `cpu`, for programs that do not read
/// `GATEBENCH_PIN_CPU` (kube-rbac-proxy). Threads it starts later inherit the pin from the thread
/// that starts them. Returns how many threads were pinned.
pub fn pin_process(pid: u32, cpu: usize) -> std::io::Result<usize> {
    use nix::sched::{CpuSet, sched_setaffinity};
    use nix::unistd::Pid;
    let mut set = CpuSet::new();
    set.set(cpu).map_err(std::io::Error::from)?;
    let mut pinned = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let tid = task?.file_name().to_string_lossy().parse::<i32>();
        // A thread can end between the listing and the call: skip it.
        if let Ok(tid) = tid
            && sched_setaffinity(Pid::from_raw(tid), &set).is_ok()
        {
            pinned += 1;
        }
    }
    Ok(pinned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_every_thread_of_a_running_child() {
        let cores = core_affinity::get_core_ids().unwrap_or_default();
        let Some(last) = cores.last().map(|c| c.id) else {
            return;
        };
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pinned = pin_process(child.id(), last).unwrap();
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
        let _ = child.kill();
        let _ = child.wait();
        assert!(pinned >= 1);
        let allowed = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .unwrap()
            .trim()
            .to_string();
        assert_eq!(allowed, last.to_string());
    }
}
