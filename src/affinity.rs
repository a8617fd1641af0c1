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
