//! Claims about failure behaviour: revocation delay and API-server outages.

use super::{Claim, Status, not_measured, status};
use crate::report::{figures, numfmt};
use crate::results::{Results, Scenario};

/// Share of requests a group must get (or be refused) to call outage behaviour as claimed.
const OUTAGE_SHARE: f64 = 0.99;

pub(crate) fn revocation(r: &Results) -> Claim {
    let (claim, note) = ("revocation delay", "up to the cache TTL (5 min)");
    let Some((run, rev)) = figures::runs_of(r, Scenario::Revocation, "cached")
        .find_map(|(run, l)| Some((run, l.revocation.clone()?)))
    else {
        return not_measured(claim, note, "no cached revocation run");
    };
    let scale = figures::time_scale(r);
    let ttl = r.settings.token_ttl_secs_real;
    match rev.delay_ms {
        Some(ms) => {
            let real = figures::revocation_real_secs(run, &rev.method, ms, scale);
            Claim {
                claim,
                in_the_note: note,
                measured: format!(
                    "refused {} after revocation (real-time projected; {} as run)",
                    numfmt::secs(real),
                    numfmt::secs(ms as f64 / 1_000.0)
                ),
                status: status(real <= ttl * 1.05),
            }
        }
        None => {
            let observed =
                figures::revocation_real_secs(run, &rev.method, rev.observed_for_ms, scale);
            if observed >= ttl {
                Claim {
                    claim,
                    in_the_note: note,
                    measured: format!(
                        "still accepted {} after revocation ({} requests)",
                        numfmt::secs(observed),
                        rev.accepted_after_revocation
                    ),
                    status: Status::DidNotHold,
                }
            } else {
                not_measured(
                    claim,
                    note,
                    &format!(
                        "never refused, but observed only {} (shorter than the TTL)",
                        numfmt::secs(observed)
                    ),
                )
            }
        }
    }
}

pub(crate) fn outage(r: &Results) -> Claim {
    let (claim, note) = ("API outage", "cached tokens keep working, new tokens fail");
    let Some(out) =
        figures::runs_of(r, Scenario::Outage, "cached").find_map(|(_, l)| l.outage.clone())
    else {
        return not_measured(
            claim,
            note,
            "no cached outage run (skipped on a real cluster)",
        );
    };
    if out.known.requests == 0 || out.new.requests == 0 {
        return not_measured(
            claim,
            note,
            "the outage run sent no requests for known or new identities",
        );
    }
    Claim {
        claim,
        in_the_note: note,
        measured: format!(
            "known identities {} served, new identities {} served during a {} outage",
            numfmt::pct(out.known.ratio()),
            numfmt::pct(out.new.ratio()),
            numfmt::secs(out.window_secs)
        ),
        status: status(out.known.ratio() >= OUTAGE_SHARE && out.new.ratio() <= 1.0 - OUTAGE_SHARE),
    }
}
