//! The claims check: every claim and rule of the design note beside the measured value, and
//! whether it held, did not hold, or was not measured (and why).

mod failure;
mod load;
mod rules;

use super::figures;
use super::markup::{esc, table};
use crate::results::Results;
pub(crate) use failure::{outage, revocation};
use load::{cached_latency, call_reduction, calls_per_token, gateway_load, uncached};
use rules::{client_throttling, keep_rule, mtls_wins, reconsider_rule};

/// Whether a claim held on these measurements.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Held,
    DidNotHold,
    NotMeasured(String),
    /// Tested on paper only: from measured per-request costs projected to a rate not run.
    Projected {
        held: bool,
    },
}

/// One row of the claims table.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub claim: &'static str,
    pub in_the_note: &'static str,
    pub measured: String,
    pub status: Status,
}

pub(super) fn status(held: bool) -> Status {
    if held {
        Status::Held
    } else {
        Status::DidNotHold
    }
}

pub(super) fn not_measured(claim: &'static str, in_the_note: &'static str, why: &str) -> Claim {
    Claim {
        claim,
        in_the_note,
        measured: "n/a".into(),
        status: Status::NotMeasured(why.into()),
    }
}

/// Every row of the DESIGN.md claims table, measured (pure).
pub fn claims(results: &Results) -> Vec<Claim> {
    vec![
        cached_latency(results),
        uncached(results),
        call_reduction(results),
        calls_per_token(results),
        revocation(results),
        outage(results),
        gateway_load(results),
        keep_rule(results),
        reconsider_rule(results),
        mtls_wins(results),
        client_throttling(results),
    ]
}

/// The claims table as an HTML fragment.
pub fn render(results: &Results) -> String {
    let rows: Vec<Vec<String>> = claims(results)
        .into_iter()
        .map(|c| {
            let (class, text) = match &c.status {
                Status::Held => ("held", "held".to_string()),
                Status::DidNotHold => ("not-held", "did not hold".to_string()),
                Status::NotMeasured(why) => ("not-measured", format!("not measured: {why}")),
                Status::Projected { held: true } => ("held", "held (projected)".to_string()),
                Status::Projected { held: false } => {
                    ("not-held", "did not hold (projected)".to_string())
                }
            };
            vec![
                esc(c.claim),
                esc(c.in_the_note),
                esc(&c.measured),
                format!("<span class=\"{class}\">{}</span>", esc(&text)),
            ]
        })
        .collect();
    format!(
        "{}<p class=\"note\">Latency claims are judged on the cost over the no-auth floor measured \
         in the same rounds (with its 95% interval); a claim whose range the measurement is not in \
         did not hold, and the report says how many times faster or slower it was. API-call figures of cached modes are projected to real time by the time-scale \
         factor {}; per-request calls are not scaled.</p>",
        table(
            "claims",
            &["claim or rule", "in the design note", "measured", "verdict"],
            &rows
        ),
        esc(&figures::time_scale(results).to_string())
    )
}
