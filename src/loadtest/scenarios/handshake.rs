//! `handshake`: the same fixed rate with keep-alive and with a new connection (a TLS handshake
//! on https) per request, for whichever credential the run uses (bearer or client certificate).

use super::{Window, base_summary, fixed_rate_phase, round_robin, write};
use crate::loadtest::client::ClientOptions;
use crate::loadtest::context::Context;
use crate::loadtest::generator::CpuWindow;
use crate::loadtest::recording::{Recording, latency_summary};
use crate::loadtest::summary::METHOD;
use crate::results::HandshakeResult;
use anyhow::Result;

pub async fn run(ctx: &Context) -> Result<()> {
    let rate = ctx.cli.rate;
    let cpu = CpuWindow::start();
    let options = |new_connection| ClientOptions {
        new_connection,
        ..ctx.target.options().clone()
    };
    let keepalive_target = ctx.target.with_options(options(false))?;
    let fresh_target = ctx.target.with_options(options(true))?;
    let request = |seed| round_robin(ctx, ctx.credentials.len(), seed);
    let duration = ctx.duration();
    let keep = fixed_rate_phase(
        ctx,
        &keepalive_target,
        "keepalive",
        rate,
        duration,
        request(3),
    )
    .await?;
    let fresh = fixed_rate_phase(
        ctx,
        &fresh_target,
        "new-connection",
        rate,
        duration,
        request(4),
    )
    .await?;
    let result = HandshakeResult {
        credential: ctx
            .credentials
            .first()
            .map_or("anonymous", |c| c.kind())
            .to_string(),
        keepalive_latency_us: latency_summary(&keep.outcome.recording.histogram(None)),
        new_connection_latency_us: latency_summary(&fresh.outcome.recording.histogram(None)),
        keepalive_handshakes: keep.server.tls_handshakes.unwrap_or(0),
        new_connection_handshakes: fresh.server.tls_handshakes.unwrap_or(0),
    };
    let started_at = keep.outcome.started_at;
    let elapsed = keep.outcome.elapsed + fresh.outcome.elapsed;
    let users = keep.users.max(fresh.users);
    let d = fresh.after.since(&keep.before);
    let mut combined = Recording::default();
    let keep_elapsed = keep.outcome.elapsed;
    combined.absorb(keep.outcome.recording, std::time::Duration::ZERO);
    combined.absorb(fresh.outcome.recording, keep_elapsed);
    let window = Window {
        recording: &combined,
        elapsed,
        users,
        server: &d,
    };
    let mut summary = base_summary(ctx, METHOD, rate, window, &cpu);
    summary.connection = "keepalive, then new-connection-per-request".into();
    summary.handshake = Some(result);
    write(ctx, &mut summary, &combined, started_at)
}
