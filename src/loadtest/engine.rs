//! Runs one paced phase as a goose attack. Each goose user owns a slice of the schedule (slots
//! `u, u + users, ...`), sleeps on its own precise timer until a slot's intended send time, sends
//! on the target's most recently used idle connection with the lean client, records into a log of its
//! own (merged when the phase ends, so no lock is shared per request) and reports the request to
//! goose's metrics, so goose's report counts and times every request as before.

use crate::loadtest::attack;
use crate::loadtest::client::Conn;
use crate::loadtest::pacing::{PreciseTimer, spin_margin};
use crate::loadtest::recording::{Recording, RequestRecord};
use crate::loadtest::target::Pool;
use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use goose::client::GooseClientBuilder;
use goose::goose::{GooseUser, Scenario, Transaction, TransactionError, TransactionResult};
use goose::prelude::GooseAttack;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{Notify, watch};

pub use crate::loadtest::target::Target;

/// The route every scenario posts to.
pub const SIGNAL_PATH: &str = "/api/v1/signals/prometheus";

/// What request `seq` sends.
pub struct RequestSpec {
    pub identity: usize,
    pub body: Bytes,
}

pub type RequestFn = Arc<dyn Fn(u64) -> RequestSpec + Send + Sync>;

/// One paced phase.
pub struct PhasePlan {
    /// goose request name (shows in goose's report).
    pub name: String,
    /// Intended send time of request k, from the phase's schedule start.
    pub offsets: Vec<Duration>,
    pub users: usize,
    pub request: RequestFn,
}

/// What a phase measured.
pub struct PhaseOutcome {
    pub recording: Recording,
    /// Wall clock at the schedule start (base time of the interval log).
    pub started_at: SystemTime,
    /// Schedule start to the last completion.
    pub elapsed: Duration,
}

/// Lead time between the last user being ready (connections open, timer armed) and the first
/// intended send: long enough for every user task to reach its first wait.
const SCHEDULE_LEAD: Duration = Duration::from_millis(5);

type Schedule = Option<(Instant, SystemTime)>;

struct Phase {
    name: String,
    offsets: Vec<Duration>,
    /// See `pacing::spin_margin`.
    spin: Duration,
    users: usize,
    request: RequestFn,
    pool: Arc<Pool>,
    started_users: AtomicUsize,
    ready_users: AtomicUsize,
    schedule: watch::Sender<Schedule>,
    logs: Mutex<Vec<Vec<RequestRecord>>>,
    /// Set when the phase overran its budget: users skip their remaining slots.
    cancelled: AtomicBool,
    /// Users that have stopped; the last one to stop notifies `done`.
    stopped_users: AtomicUsize,
    done: Notify,
    /// First user set-up failure: the phase reports it instead of half-measured data.
    failure: Mutex<Option<String>>,
}

/// One goose user's state for a phase, kept in goose's session data.
struct UserState {
    /// Next slot this user sends.
    next: usize,
    schedule: watch::Receiver<Schedule>,
    t0: Option<Instant>,
    timer: PreciseTimer,
    /// The keep-alive connection this user dialed (or took) before the schedule, handed to the
    /// target's pool at its first send: the phase starts with one open connection per user.
    reserve: Option<Conn>,
    last_completion: Option<Instant>,
    log: Vec<RequestRecord>,
}

/// goose session data must be `Clone`; each user's lives behind its own lock, taken once per
/// transaction and never contended.
#[derive(Clone)]
struct Session(Arc<Mutex<Option<Box<UserState>>>>);

pub async fn run_phase(target: &Target, plan: PhasePlan) -> Result<PhaseOutcome> {
    let entered = Instant::now();
    let users = plan.users.max(1);
    let per_user = plan.offsets.len().div_ceil(users);
    let last_offset = plan.offsets.last().copied().unwrap_or_default();
    let (schedule, _) = watch::channel(None);
    let phase = Arc::new(Phase {
        name: plan.name.clone(),
        spin: spin_margin(plan.offsets.len(), last_offset),
        offsets: plan.offsets,
        users,
        request: plan.request,
        pool: target.pool(),
        started_users: AtomicUsize::new(0),
        ready_users: AtomicUsize::new(0),
        schedule,
        logs: Mutex::new(Vec::with_capacity(users)),
        cancelled: AtomicBool::new(false),
        stopped_users: AtomicUsize::new(0),
        done: Notify::new(),
        failure: Mutex::new(None),
    });

    let config = attack::config(&target.goose, target.host(), users, per_user);
    let goose = GooseAttack::initialize_with_config(config)?
        // Users send with the lean client; one shared reqwest client instead of one per user
        // keeps goose's start-up in the milliseconds.
        .set_client_builder_without_cookies(GooseClientBuilder::new().without_cookies())?
        .register_scenario(scenario(&phase, &plan.name));
    // The same target's previous attack may still be finishing (see `attack`).
    let slot = target.attack_slot().await;
    let mut running = attack::start(goose);
    let budget = last_offset + target.options().timeout + Duration::from_secs(30);
    let finished_early = tokio::select! {
        _ = phase.done.notified() => None,
        result = &mut running => Some(result),
        _ = tokio::time::sleep(budget) => {
            phase.cancelled.store(true, Ordering::SeqCst);
            return Err(anyhow!("phase {} did not finish within {budget:?}", plan.name));
        }
    };
    if let Some(failure) = phase.failure.lock().expect("lock").take() {
        return Err(anyhow!("phase {}: {failure}", plan.name));
    }
    let (t0, started_at) = (*phase.schedule.borrow())
        .ok_or_else(|| anyhow!("phase {}: no goose user started", plan.name))?;
    let recording = merge(std::mem::take(&mut *phase.logs.lock().expect("lock")));
    let elapsed = recording
        .records
        .iter()
        .map(|r| Duration::from_micros(r.completed_offset_us()))
        .max()
        .unwrap_or_else(|| t0.elapsed());
    let recorded = recording.records.len() as u64;
    match finished_early {
        None => attack::finish_in_background(running, slot, plan.name.clone(), recorded),
        Some(result) => {
            let metrics = result
                .context("goose attack task")?
                .context("goose attack")?;
            attack::check_counts(&metrics, &plan.name, recorded);
        }
    }
    tracing::debug!(
        phase = %plan.name,
        setup_ms = t0.saturating_duration_since(entered).as_secs_f64() * 1e3,
        teardown_ms = Instant::now().saturating_duration_since(t0 + elapsed).as_secs_f64() * 1e3,
        "phase timing outside the schedule"
    );
    Ok(PhaseOutcome {
        recording,
        started_at,
        elapsed,
    })
}

fn scenario(phase: &Arc<Phase>, name: &str) -> Scenario {
    let start = {
        let phase = phase.clone();
        Transaction::new(Arc::new(move |user: &mut GooseUser| {
            let phase = phase.clone();
            Box::pin(async move { start_user(&phase, user).await })
        }))
        .set_name("start")
        .set_on_start()
    };
    let send = {
        let phase = phase.clone();
        Transaction::new(Arc::new(move |user: &mut GooseUser| {
            let phase = phase.clone();
            Box::pin(async move { send_next(&phase, user).await })
        }))
        .set_name(name)
    };
    let stop = {
        let phase = phase.clone();
        Transaction::new(Arc::new(move |user: &mut GooseUser| {
            let phase = phase.clone();
            Box::pin(async move { stop_user(&phase, user) })
        }))
        .set_name("stop")
        .set_on_stop()
    };
    Scenario::new(name)
        .register_transaction(start)
        .register_transaction(send)
        .register_transaction(stop)
}

/// A records log per user, merged into one recording in intended-send order.
fn merge(logs: Vec<Vec<RequestRecord>>) -> Recording {
    let mut records: Vec<RequestRecord> = logs.into_iter().flatten().collect();
    records.sort_by_key(|r| r.intended_offset_us);
    let mut recording = Recording::with_capacity(records.len());
    for r in records {
        recording.record(r);
    }
    recording
}

fn custom_error(message: String) -> Box<TransactionError> {
    Box::new(TransactionError::Custom(message))
}

/// Takes this user's connections (dialing the keep-alive one now, outside the timed window) and
/// starts the schedule once the last user is ready.
async fn start_user(phase: &Arc<Phase>, user: &mut GooseUser) -> TransactionResult {
    let index = phase.started_users.fetch_add(1, Ordering::SeqCst);
    let state = prepare_user(phase, index).await;
    let ready = phase.ready_users.fetch_add(1, Ordering::SeqCst) + 1;
    if ready == phase.users {
        let t0 = Instant::now() + SCHEDULE_LEAD;
        phase
            .schedule
            .send_replace(Some((t0, SystemTime::now() + SCHEDULE_LEAD)));
    }
    let state = state.map_err(|e| {
        phase
            .failure
            .lock()
            .expect("lock")
            .get_or_insert_with(|| e.clone());
        custom_error(e)
    })?;
    user.set_session_data(Session(Arc::new(Mutex::new(Some(Box::new(state))))));
    Ok(())
}

async fn prepare_user(phase: &Arc<Phase>, index: usize) -> std::result::Result<UserState, String> {
    let timer = PreciseTimer::new().map_err(|e| format!("timerfd: {e}"))?;
    let pool = &phase.pool;
    let single_slot = pool.client.slot(1) == 0;
    let reserve = if single_slot && !pool.client.options().new_connection {
        // A failed dial is not the phase's failure: the first request dials again and its
        // error is recorded like any other.
        match pool.checkout(0) {
            Some(c) => Some(c),
            None => pool.client.connect(0).await.ok(),
        }
    } else {
        None
    };
    let slots = phase
        .offsets
        .len()
        .saturating_sub(index)
        .div_ceil(phase.users);
    Ok(UserState {
        next: index,
        schedule: phase.schedule.subscribe(),
        t0: None,
        timer,
        reserve,
        last_completion: None,
        log: Vec::with_capacity(slots),
    })
}

fn take_state(user: &mut GooseUser) -> Result<(Session, Box<UserState>), Box<TransactionError>> {
    let session = user
        .get_session_data::<Session>()
        .ok_or_else(|| custom_error("user not started".into()))?
        .clone();
    let state = session
        .0
        .lock()
        .expect("lock")
        .take()
        .ok_or_else(|| custom_error("user state in use".into()))?;
    Ok((session, state))
}

/// Sends this user's next slot at its intended time (at once if the user is already late).
async fn send_next(phase: &Arc<Phase>, user: &mut GooseUser) -> TransactionResult {
    let (session, mut state) = take_state(user)?;
    let result = send_slot(phase, user, &mut state).await;
    *session.0.lock().expect("lock") = Some(state);
    result
}

async fn send_slot(
    phase: &Phase,
    user: &mut GooseUser,
    state: &mut UserState,
) -> TransactionResult {
    let seq = state.next;
    if seq >= phase.offsets.len() || phase.cancelled.load(Ordering::Relaxed) {
        return Ok(());
    }
    state.next += phase.users;
    let t0 = match state.t0 {
        Some(t0) => t0,
        None => {
            let schedule = *state
                .schedule
                .wait_for(Option::is_some)
                .await
                .map_err(|_| custom_error("schedule never started".into()))?;
            let t0 = schedule.expect("waited for Some").0;
            state.t0 = Some(t0);
            t0
        }
    };
    // The request is built before the wait, so its cost never counts as lateness.
    let spec = (phase.request)(seq as u64);
    let client = &phase.pool.client;
    let slot = client.slot(spec.identity);
    let request = client.request(spec.identity, spec.body);
    let intended = t0 + phase.offsets[seq];
    state
        .timer
        .sleep_until(intended, phase.spin)
        .await
        .map_err(|e| custom_error(format!("timer: {e}")))?;
    if let Some(reserve) = state.reserve.take() {
        phase.pool.give_back(0, reserve);
    }
    // Users share the target's connections, most recently used first (as oha and Go's HTTP
    // client do): at low concurrency one warm connection carries the load, instead of each
    // user's own connection going cold between its turns.
    let mut conn = phase.pool.checkout(slot);
    let ready = state.last_completion.map_or(intended, |c| c.max(intended));
    let sent = Instant::now();
    let outcome = client.send(&mut conn, slot, request).await;
    let done = Instant::now();
    if let Some(conn) = conn {
        phase.pool.give_back(slot, conn);
    }
    state.last_completion = Some(done);
    state.log.push(RequestRecord {
        identity: spec.identity,
        intended_offset_us: micros(intended.saturating_duration_since(t0)),
        latency_us: micros(done.saturating_duration_since(intended)),
        service_us: micros(done.saturating_duration_since(sent)),
        send_delay_us: micros(sent.saturating_duration_since(ready)),
        outcome,
    });
    let (status, error) = match outcome {
        crate::loadtest::recording::Outcome::Status(s) => (Some(s), None),
        crate::loadtest::recording::Outcome::Error(kind) => (None, Some(kind)),
    };
    // goose's own metrics and report: the request as goose would have timed it (send to
    // completion). A refusal is a counted failure there, not a failed transaction.
    let _ = user
        .record_custom_request_duration(
            "POST",
            &phase.name,
            done - sent,
            outcome.is_success(),
            status,
            error,
        )
        .await;
    Ok(())
}

/// Gives the user's connections back to the target and hands its log to the phase.
fn stop_user(phase: &Arc<Phase>, user: &mut GooseUser) -> TransactionResult {
    let result = hand_back(phase, user);
    if phase.stopped_users.fetch_add(1, Ordering::SeqCst) + 1 == phase.users {
        // A stored permit: run_phase may not be waiting yet.
        phase.done.notify_one();
    }
    result
}

fn hand_back(phase: &Arc<Phase>, user: &mut GooseUser) -> TransactionResult {
    let (_session, mut state) = take_state(user)?;
    if let Some(reserve) = state.reserve.take() {
        phase.pool.give_back(0, reserve);
    }
    phase
        .logs
        .lock()
        .expect("lock")
        .push(std::mem::take(&mut state.log));
    Ok(())
}

fn micros(d: Duration) -> u64 {
    d.as_micros() as u64
}
