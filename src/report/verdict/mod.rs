//! The verdict: keep TokenReview + cache, reconsider mTLS, the alternative that met the bar, or
//! inconclusive, decided on quantities this machine resolves (costs over the no-auth floor of
//! the same rounds with their intervals, CPU-projected capacity, the API-call model checked
//! against exact counts, throttling and failure behaviour), never on one run's absolute p99.

mod inputs;
mod text;

pub use crate::results::{Branch, Verdict, VerdictInput};
pub use inputs::{at_least, at_most};

use crate::report::figures;
use crate::results::{Results, Scenario};

/// Alternatives to TokenReview + cache, in the order they are preferred on a tie, with the
/// trade-off a reader must accept.
const ALTERNATIVES: [(&str, &str); 3] = [
    (
        "jwks",
        "no API call per request (local JWT verification against the cluster's JWKS), but a revoked token stays valid until it expires",
    ),
    (
        "mtls",
        "no TokenReview at all, but every client needs a certificate: you run a PKI and revoke through a CRL",
    ),
    (
        "hybrid",
        "certificates where clients have them and cached tokens elsewhere, so you operate both paths",
    ),
];

/// Every input of the rule for the cached mode, judged.
struct Inputs {
    latency: Vec<VerdictInput>,
    capacity: VerdictInput,
    hit: VerdictInput,
    model: VerdictInput,
    throttling: VerdictInput,
    floor: VerdictInput,
    failure: Vec<VerdictInput>,
}

impl Inputs {
    fn gather(r: &Results) -> Inputs {
        let model = inputs::model(r);
        Inputs {
            latency: inputs::latency(r, "cached"),
            capacity: inputs::capacity(r, "cached"),
            hit: inputs::hit_ratio_projected(r, &model),
            model,
            throttling: inputs::throttling(r),
            floor: inputs::floor(r),
            failure: inputs::failure(r),
        }
    }

    fn into_list(self) -> Vec<VerdictInput> {
        let mut all = self.latency;
        all.extend([
            self.capacity,
            self.hit,
            self.model,
            self.throttling,
            self.floor,
        ]);
        all.extend(self.failure);
        all
    }
}

/// A decided branch, before its inputs are listed.
struct Decision {
    branch: Branch,
    mode: Option<String>,
    sentence: String,
    /// Keys of the inputs that decided it.
    decisive: Vec<String>,
    /// Inputs of another mode that decided it (an alternative's costs).
    extra: Vec<VerdictInput>,
}

/// Computes the verdict from measured values (pure).
pub fn verdict(results: &Results) -> Verdict {
    let inputs = Inputs::gather(results);
    let mut d = decide(results, &inputs);
    if d.branch == Branch::KeepTokenReview
        && let Some(peer) = text::off_the_shelf(results)
    {
        d.sentence = format!("{} {peer}", d.sentence);
    }
    let mut list = inputs.into_list();
    list.extend(d.extra);
    for input in &mut list {
        input.decisive = d.decisive.contains(&input.key);
    }
    Verdict {
        branch: d.branch,
        mode: d.mode,
        sentence: d.sentence,
        rule: text::rule(results),
        inputs: list,
    }
}

fn decide(r: &Results, i: &Inputs) -> Decision {
    let keys = |inputs: &[&VerdictInput]| inputs.iter().map(|x| x.key.clone()).collect();
    let any_cached = r.comparisons.iter().any(|c| c.mode("cached").is_some())
        || figures::runs_of(r, Scenario::Steady, "cached")
            .next()
            .is_some();
    if !any_cached {
        return Decision {
            branch: Branch::Inconclusive,
            mode: None,
            sentence: "No verdict: there is no cached TokenReview measurement, so nothing can be \
                       compared against the rule."
                .into(),
            decisive: Vec::new(),
            extra: Vec::new(),
        };
    }
    if i.floor.ok != Some(true) {
        return Decision {
            branch: Branch::Inconclusive,
            mode: None,
            sentence: format!(
                "No verdict: the no-auth floor was not measured in the same rounds as the cached \
                 gateway ({}), so what authentication costs cannot be separated from what this \
                 machine costs. Run decide with mode none in --modes.",
                i.floor.measured
            ),
            decisive: keys(&[&i.floor]),
            extra: Vec::new(),
        };
    }
    if i.throttling.ok == Some(false) || i.capacity.ok == Some(false) {
        let why: Vec<&VerdictInput> = [&i.throttling, &i.capacity]
            .into_iter()
            .filter(|x| x.ok == Some(false))
            .collect();
        return Decision {
            branch: Branch::ReconsiderMtls,
            mode: None,
            sentence: text::reconsider(r, &i.throttling, &i.capacity),
            decisive: keys(&why),
            extra: Vec::new(),
        };
    }
    let missed: Vec<&VerdictInput> = i
        .latency
        .iter()
        .chain([&i.hit])
        .filter(|x| x.ok == Some(false))
        .collect();
    if !missed.is_empty() {
        return match best_alternative(r) {
            Some((mode, tradeoff, alt)) => {
                let mut decisive: Vec<String> = keys(&missed);
                decisive.extend(alt.iter().map(|x| x.key.clone()));
                Decision {
                    branch: Branch::Alternative,
                    sentence: text::alternative(mode, tradeoff, &missed, &alt),
                    mode: Some(mode.to_string()),
                    decisive,
                    extra: alt,
                }
            }
            None => Decision {
                branch: Branch::Inconclusive,
                mode: None,
                sentence: text::missed_without_alternative(&missed),
                decisive: keys(&missed),
                extra: Vec::new(),
            },
        };
    }
    let unresolved: Vec<&VerdictInput> = i
        .latency
        .iter()
        .chain([&i.capacity, &i.hit, &i.throttling])
        .filter(|x| x.ok.is_none())
        .collect();
    if !unresolved.is_empty() {
        return Decision {
            branch: Branch::Inconclusive,
            mode: None,
            sentence: text::unresolved(&unresolved),
            decisive: keys(&unresolved),
            extra: Vec::new(),
        };
    }
    let failed: Vec<&VerdictInput> = i.failure.iter().filter(|x| x.ok == Some(false)).collect();
    if !failed.is_empty() {
        return Decision {
            branch: Branch::Inconclusive,
            mode: None,
            sentence: text::failure_differs(&failed),
            decisive: keys(&failed),
            extra: Vec::new(),
        };
    }
    let mut decisive: Vec<&VerdictInput> = i.latency.iter().collect();
    decisive.extend([&i.capacity, &i.hit, &i.throttling]);
    Decision {
        branch: Branch::KeepTokenReview,
        mode: None,
        sentence: text::keep(r, &i.latency, &i.capacity, &i.hit),
        decisive: keys(&decisive),
        extra: Vec::new(),
    }
}

/// The alternative whose p99 cost met the budget at every verdict rate and whose capacity is not
/// below the growth rate, with the lowest upper bound of its cost at the last (growth) rate.
fn best_alternative(r: &Results) -> Option<(&'static str, &'static str, Vec<VerdictInput>)> {
    ALTERNATIVES
        .iter()
        .filter_map(|(mode, tradeoff)| {
            let latency = inputs::latency(r, mode);
            let met = !latency.is_empty() && latency.iter().all(|x| x.ok == Some(true));
            let capacity = inputs::capacity(r, mode);
            (met && capacity.ok != Some(false)).then_some((*mode, *tradeoff, latency))
        })
        .min_by(|a, b| {
            let hi = |l: &[VerdictInput]| l.last().and_then(|x| x.estimate).map_or(0.0, |e| e.hi);
            hi(&a.2).total_cmp(&hi(&b.2))
        })
}
