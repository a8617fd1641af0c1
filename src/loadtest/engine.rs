//! Runs one paced phase as a goose attack: each goose user owns a slice of the schedule, takes
//! its tickets from the pacer, sends through its own reqwest client, and records latency from
//! the intended send time. goose keeps its own metrics and reports alongside.

use crate::loadtest::client::{ClientOptions, build_client, error_kind};
use crate::loadtest::credentials::Credential;
use crate::loadtest::pacing::{Ticket, run_pacer};
use crate::loadtest::recording::{Outcome, Recording, RequestRecord};
use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use goose::config::GooseConfiguration;
use goose::goose::{GooseRequest, GooseUser, Scenario, Transaction, TransactionResult};
use goose::metrics::GooseMetrics;
use goose::prelude::GooseAttack;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

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

/// Where and with what the phase sends.
pub struct Target {
    pub goose: GooseConfiguration,
    pub host: String,
    pub credentials: Arc<Vec<Credential>>,
    pub client: ClientOptions,
}

/// What a phase measured.
pub struct PhaseOutcome {
    pub recording: Recording,
    /// Wall clock at the schedule start (base time of the interval log).
    pub started_at: SystemTime,
    /// Schedule start to the last completion.
    pub elapsed: Duration,
}

struct Shared {
    receivers: Mutex<Vec<Option<UnboundedReceiver<Ticket>>>>,
    senders: Mutex<Option<Vec<tokio::sync::mpsc::UnboundedSender<Ticket>>>>,
    started_users: AtomicUsize,
    t0: OnceLock<(Instant, SystemTime)>,
    offsets: Vec<Duration>,
    recording: Mutex<Recording>,
    request: RequestFn,
    credentials: Arc<Vec<Credential>>,
    client: ClientOptions,
    url: String,
    name: String,
    cancel: Mutex<Option<std::sync::mpsc::Sender<()>>>,
    /// First user set-up failure: the phase reports it instead of half-measured data.
    failure: Mutex<Option<String>>,
}

/// Per-user state kept in goose's session data.
struct UserState {
    rx: UnboundedReceiver<Ticket>,
    /// One client per identity for certificates (the identity is per connection), else one.
    clients: Vec<reqwest::Client>,
    last_completion: Option<Instant>,
}

#[derive(Clone)]
struct Session(Arc<tokio::sync::Mutex<UserState>>);

/// Lead time between the last user starting and the first intended send.
const SCHEDULE_LEAD: Duration = Duration::from_millis(20);

pub async fn run_phase(target: &Target, plan: PhasePlan) -> Result<PhaseOutcome> {
    let users = plan.users.max(1);
    let per_user = plan.offsets.len().div_ceil(users);
    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..users).map(|_| unbounded_channel::<Ticket>()).unzip();
    let last_offset = plan.offsets.last().copied().unwrap_or_default();
    let shared = Arc::new(Shared {
        receivers: Mutex::new(receivers.into_iter().map(Some).collect()),
        senders: Mutex::new(Some(senders)),
        started_users: AtomicUsize::new(0),
        t0: OnceLock::new(),
        offsets: plan.offsets,
        recording: Mutex::new(Recording::default()),
        request: plan.request,
        credentials: target.credentials.clone(),
        client: target.client.clone(),
        url: format!("{}{SIGNAL_PATH}", target.host.trim_end_matches('/')),
        name: plan.name.clone(),
        cancel: Mutex::new(None),
        failure: Mutex::new(None),
    });

    let mut config = target.goose.clone();
    config.host = Some(target.host.clone());
    config.users = Some(users);
    config.iterations = Some(per_user);
    config.run_time = None;
    // Start every user at once: the schedule only begins after the last one is up.
    config.increase_rate = Some(format!("{}", users.max(1000)));
    config.increase_time = None;
    // goose's controllers listen on fixed ports, which parallel runs would fight over.
    config.no_telnet = true;
    config.no_websocket = true;

    let on_start = {
        let shared = shared.clone();
        Transaction::new(Arc::new(move |user: &mut GooseUser| {
            let shared = shared.clone();
            Box::pin(async move { start_user(&shared, user) })
        }))
        .set_name("start")
        .set_on_start()
    };
    let send = {
        let shared = shared.clone();
        Transaction::new(Arc::new(move |user: &mut GooseUser| {
            let shared = shared.clone();
            Box::pin(async move { send_one(&shared, user).await })
        }))
        .set_name(&plan.name)
    };
    let scenario = Scenario::new(&plan.name)
        .register_transaction(on_start)
        .register_transaction(send);
    let attack = GooseAttack::initialize_with_config(config)?.register_scenario(scenario);

    let budget = last_offset + target.client.timeout + Duration::from_secs(30);
    let goose = match tokio::time::timeout(budget, attack.execute()).await {
        Ok(result) => result.context("goose attack")?,
        Err(_) => {
            if let Some(cancel) = shared.cancel.lock().expect("lock").take() {
                let _ = cancel.send(());
            }
            return Err(anyhow!(
                "phase {} did not finish within {budget:?}",
                plan.name
            ));
        }
    };
    if let Some(failure) = shared.failure.lock().expect("lock").take() {
        return Err(anyhow!("phase {}: {failure}", plan.name));
    }
    let (t0, started_at) = *shared
        .t0
        .get()
        .ok_or_else(|| anyhow!("phase {}: no goose user started", plan.name))?;
    let recording = std::mem::take(&mut *shared.recording.lock().expect("lock"));
    let elapsed = recording
        .records
        .iter()
        .map(|r| Duration::from_micros(r.completed_offset_us()))
        .max()
        .unwrap_or_else(|| t0.elapsed());
    let goose_requests = goose_request_count(&goose);
    if goose_requests != recording.records.len() as u64 {
        tracing::warn!(
            goose_requests,
            recorded = recording.records.len(),
            phase = %plan.name,
            "goose and the pacer counted different numbers of requests"
        );
    }
    Ok(PhaseOutcome {
        recording,
        started_at,
        elapsed,
    })
}

fn goose_request_count(metrics: &GooseMetrics) -> u64 {
    metrics
        .requests
        .values()
        .map(|r| (r.success_count + r.fail_count) as u64)
        .sum()
}

fn start_user(shared: &Arc<Shared>, user: &mut GooseUser) -> TransactionResult {
    let index = shared.started_users.fetch_add(1, Ordering::SeqCst);
    let result = prepare_user(shared, user, index);
    if let Err(e) = &result {
        shared
            .failure
            .lock()
            .expect("lock")
            .get_or_insert_with(|| e.clone());
    }
    // Start the schedule even if this user failed, so the phase ends instead of waiting.
    if index + 1 == shared.receivers.lock().expect("lock").len() {
        start_pacer(shared);
    }
    result.map_err(|e| Box::new(e.as_str().into()))
}

fn prepare_user(
    shared: &Arc<Shared>,
    user: &mut GooseUser,
    index: usize,
) -> std::result::Result<(), String> {
    let rx = shared
        .receivers
        .lock()
        .expect("lock")
        .get_mut(index)
        .and_then(Option::take)
        .ok_or("more goose users than schedule slices")?;
    let clients = match shared.credentials.first() {
        Some(Credential::Certificate(_)) => shared
            .credentials
            .iter()
            .map(|c| build_client(&shared.client, c))
            .collect::<Result<Vec<_>>>(),
        _ => build_client(&shared.client, &Credential::Anonymous).map(|c| vec![c]),
    }
    .map_err(|e| format!("building client: {e:#}"))?;
    user.client = clients[0].clone();
    user.set_session_data(Session(Arc::new(tokio::sync::Mutex::new(UserState {
        rx,
        clients,
        last_completion: None,
    }))));
    Ok(())
}

fn start_pacer(shared: &Arc<Shared>) {
    let senders = shared
        .senders
        .lock()
        .expect("lock")
        .take()
        .unwrap_or_default();
    let (cancel_tx, cancel_rx) = std::sync::mpsc::channel();
    *shared.cancel.lock().expect("lock") = Some(cancel_tx);
    let t0 = Instant::now() + SCHEDULE_LEAD;
    let _ = shared.t0.set((t0, SystemTime::now() + SCHEDULE_LEAD));
    let shared = shared.clone();
    std::thread::Builder::new()
        .name("pacer".into())
        .spawn(move || run_pacer(t0, &shared.offsets, senders, &cancel_rx))
        .expect("spawning the pacer thread");
}

async fn send_one(shared: &Arc<Shared>, user: &mut GooseUser) -> TransactionResult {
    let session = user
        .get_session_data::<Session>()
        .ok_or_else(|| Box::new("session not started".into()))?
        .clone();
    let mut state = session.0.lock().await;
    let Some(ticket) = state.rx.recv().await else {
        return Ok(());
    };
    let spec = (shared.request)(ticket.seq);
    let credential = shared
        .credentials
        .get(spec.identity % shared.credentials.len().max(1))
        .cloned()
        .unwrap_or(Credential::Anonymous);
    let client = state.clients[spec.identity % state.clients.len()].clone();
    // goose executes with the user's client; swap in this identity's.
    user.client = client.clone();
    let mut builder = client
        .post(&shared.url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(spec.body);
    if let Credential::Bearer(token) = &credential {
        builder = builder.bearer_auth(token);
    }
    let ready = state
        .last_completion
        .map_or(ticket.intended, |c| c.max(ticket.intended));
    let sent = Instant::now();
    let request = GooseRequest::builder()
        .name(shared.name.as_str())
        .set_request_builder(builder)
        .build();
    let outcome = match user.request(request).await {
        Ok(goose_response) => match goose_response.response {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.bytes().await {
                    Ok(_) => Outcome::Status(status),
                    Err(_) => Outcome::Error("body"),
                }
            }
            Err(e) => Outcome::Error(error_kind(&e)),
        },
        Err(_) => Outcome::Error("other"),
    };
    let done = Instant::now();
    state.last_completion = Some(done);
    let t0 = shared.t0.get().map_or(ticket.intended, |t| t.0);
    shared
        .recording
        .lock()
        .expect("lock")
        .record(RequestRecord {
            identity: spec.identity,
            intended_offset_us: micros(ticket.intended.saturating_duration_since(t0)),
            latency_us: micros(done.saturating_duration_since(ticket.intended)),
            service_us: micros(done.saturating_duration_since(sent)),
            send_delay_us: micros(sent.saturating_duration_since(ready)),
            outcome,
        });
    Ok(())
}

fn micros(d: Duration) -> u64 {
    d.as_micros() as u64
}
