//! goose's side of a phase: one goose attack per phase, and its last half second finished in the
//! background. goose's main loop wakes every 500 ms to notice that its users have exited, then
//! writes its report; waiting for that would add up to half a second of dead time to every phase
//! (a paired run alternates slots of 0.5-2 s), so a phase returns as soon as its users are done and
//! the attack ends while the next phase, usually on another target, already runs.

use goose::config::GooseConfiguration;
use goose::metrics::GooseMetrics;
use goose::prelude::{GooseAttack, GooseError};
use std::sync::Mutex;
use tokio::sync::OwnedMutexGuard;
use tokio::task::JoinHandle;

/// goose launches users at this rate: all at once, since the schedule only starts once the last
/// one is up.
const LAUNCH_RATE: &str = "1000000";

pub type Attack = JoinHandle<Result<GooseMetrics, GooseError>>;

/// Attacks whose users are done but whose goose loop has not returned yet.
static FINISHING: Mutex<Vec<JoinHandle<()>>> = Mutex::new(Vec::new());

/// goose's flags for one phase: `users` users running `iterations` iterations each, started at
/// once, with goose's fixed-port telnet controller off (parallel runs would fight over its port).
pub fn config(
    base: &GooseConfiguration,
    host: &str,
    users: usize,
    iterations: usize,
) -> GooseConfiguration {
    let mut config = base.clone();
    config.host = Some(host.to_string());
    config.users = Some(users);
    config.iterations = Some(iterations.max(1));
    config.run_time = None;
    config.increase_rate = Some(LAUNCH_RATE.into());
    config.increase_time = None;
    config.no_telnet = true;
    config
}

/// Starts `attack` on the runtime.
pub fn start(attack: GooseAttack) -> Attack {
    tokio::spawn(attack.execute())
}

/// Lets `attack` end in the background, holding `slot` (its target's attack lock) until it has,
/// so the same target's next attack never overlaps it. Warns when goose counted a different
/// number of requests than the users logged.
pub fn finish_in_background(
    attack: Attack,
    slot: OwnedMutexGuard<()>,
    phase: String,
    recorded: u64,
) {
    let handle = tokio::spawn(async move {
        let _slot = slot;
        match attack.await {
            Ok(Ok(metrics)) => check_counts(&metrics, &phase, recorded),
            Ok(Err(e)) => tracing::warn!(%phase, "goose attack ended with an error: {e}"),
            Err(e) => tracing::warn!(%phase, "goose attack task failed: {e}"),
        }
    });
    let mut finishing = FINISHING.lock().expect("lock");
    finishing.retain(|h| !h.is_finished());
    finishing.push(handle);
}

/// Waits for every attack still finishing (their reports are written then). Call before exiting.
pub async fn finish_all() {
    loop {
        let pending: Vec<_> = std::mem::take(&mut *FINISHING.lock().expect("lock"));
        if pending.is_empty() {
            return;
        }
        for handle in pending {
            let _ = handle.await;
        }
    }
}

pub fn check_counts(metrics: &GooseMetrics, phase: &str, recorded: u64) {
    let goose_requests: u64 = metrics
        .requests
        .values()
        .map(|r| (r.success_count + r.fail_count) as u64)
        .sum();
    if goose_requests != recorded {
        tracing::warn!(
            goose_requests,
            recorded,
            phase,
            "goose and the users' logs counted different numbers of requests"
        );
    }
}
