//! `revocation`: revokes identity 0 mid-run (deletes its ServiceAccount, or revokes its client
//! certificate through a CRL) and records how long until the gateway first refuses it.

use super::{Window, base_summary, fixed_rate_phase, offset_us, round_robin, write};
use crate::loadtest::cli::RevokeMethod;
use crate::loadtest::context::Context;
use crate::loadtest::credentials::delete_service_account;
use crate::loadtest::generator::CpuWindow;
use crate::loadtest::recording::{Outcome, RequestRecord};
use crate::loadtest::summary::METHOD;
use crate::results::RevocationResult;
use anyhow::{Context as _, Result, bail};
use std::time::{Duration, SystemTime};

/// The identity the scenario revokes.
const REVOKED: usize = 0;

pub async fn run(ctx: &Context) -> Result<()> {
    check_flags(ctx)?;
    let rate = ctx.cli.rate;
    let duration = ctx.duration();
    let revoke_after = Duration::from_secs_f64(
        ctx.cli
            .revoke_after_secs
            .unwrap_or(duration.as_secs_f64() / 3.0),
    );
    let cpu = CpuWindow::start();
    let request = round_robin(ctx, ctx.credentials.len(), 5);
    let load = fixed_rate_phase(ctx, &ctx.target, "revocation", rate, duration, request);
    let revoke = async {
        tokio::time::sleep(revoke_after).await;
        revoke(ctx).await?;
        Ok::<_, anyhow::Error>(SystemTime::now())
    };
    let (m, revoked_at) = tokio::join!(load, revoke);
    let (m, revoked_at) = (m?, revoked_at?);
    let revoked_offset_us = offset_us(m.outcome.started_at, revoked_at);
    let mut summary = base_summary(ctx, METHOD, rate, Window::of(&m), &cpu);
    summary.revocation = Some(judge(
        method_name(ctx.cli.revoke),
        &m.outcome.recording.records,
        revoked_offset_us,
    ));
    write(
        ctx,
        &mut summary,
        &m.outcome.recording,
        m.outcome.started_at,
    )
}

fn check_flags(ctx: &Context) -> Result<()> {
    match ctx.cli.revoke {
        RevokeMethod::Sa if ctx.kube.is_none() => {
            bail!("--revoke sa needs --kubeconfig (tokens minted for load-N)")
        }
        RevokeMethod::Crl if ctx.cli.pki_dir.is_none() || ctx.cli.crl_out.is_none() => {
            bail!("--revoke crl needs --pki-dir and --crl-out")
        }
        _ => Ok(()),
    }
}

fn method_name(method: RevokeMethod) -> &'static str {
    match method {
        RevokeMethod::Sa => "serviceaccount-delete",
        RevokeMethod::Crl => "crl",
    }
}

async fn revoke(ctx: &Context) -> Result<()> {
    match ctx.cli.revoke {
        RevokeMethod::Sa => {
            let kube = ctx.kube.as_ref().context("no kube client")?;
            delete_service_account(kube, &ctx.cli.namespace, &format!("load-{REVOKED}")).await
        }
        RevokeMethod::Crl => {
            let dir = ctx.cli.pki_dir.as_deref().context("no --pki-dir")?;
            let out = ctx.cli.crl_out.as_deref().context("no --crl-out")?;
            let serial = crate::pki::cert_serial(&dir.join(format!("client-{REVOKED}.pem")))?;
            crate::pki::write_crl(dir, &[serial], out)?;
            Ok(())
        }
    }
}

/// First refusal (401/403, or a failed handshake for a CRL) of the revoked identity among requests sent after the revocation.
pub fn judge(method: &str, records: &[RequestRecord], revoked_offset_us: u64) -> RevocationResult {
    let mut after: Vec<&RequestRecord> = records
        .iter()
        .filter(|r| r.identity == REVOKED && r.intended_offset_us >= revoked_offset_us)
        .collect();
    after.sort_by_key(|r| r.intended_offset_us);
    // A revoked client certificate is refused in the TLS handshake, before any HTTP status.
    let by_crl = method == "crl";
    let refused = |r: &&&RequestRecord| match r.outcome {
        Outcome::Status(401 | 403) => true,
        Outcome::Error(_) => by_crl,
        Outcome::Status(_) => false,
    };
    let delay_ms = after
        .iter()
        .find(refused)
        .map(|r| (r.completed_offset_us() - revoked_offset_us) / 1000);
    let observed_for_ms = after
        .iter()
        .map(|r| r.completed_offset_us())
        .max()
        .map_or(0, |end| (end - revoked_offset_us) / 1000);
    RevocationResult {
        method: method.to_string(),
        delay_ms,
        observed_for_ms,
        accepted_after_revocation: after.iter().filter(|r| r.outcome.is_success()).count() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(identity: usize, at_ms: u64, status: u16) -> RequestRecord {
        RequestRecord {
            identity,
            intended_offset_us: at_ms * 1000,
            latency_us: 1000,
            service_us: 1000,
            send_delay_us: 0,
            outcome: Outcome::Status(status),
        }
    }

    #[test]
    fn first_refusal_after_revocation() {
        let records = vec![
            rec(0, 100, 201),
            rec(0, 600, 201),
            rec(1, 700, 401),
            rec(0, 900, 201),
            rec(0, 1500, 401),
            rec(0, 1200, 201),
            rec(0, 2000, 401),
        ];
        let r = judge("crl", &records, 500_000);
        assert_eq!(r.delay_ms, Some(1001));
        assert_eq!(r.accepted_after_revocation, 3);
        assert_eq!(r.observed_for_ms, 1501);
        assert_eq!(judge("crl", &records[..2], 500_000).delay_ms, None);
        let mut tls = records.clone();
        tls[3].outcome = Outcome::Error("tls");
        assert_eq!(judge("crl", &tls, 500_000).delay_ms, Some(401));
        assert_eq!(
            judge("serviceaccount-delete", &tls, 500_000).delay_ms,
            Some(1001)
        );
    }
}
