//! The verdict section of the page, in the order a platform lead reads it: the branch, the
//! sentence, the inputs that decided it with their intervals, then this machine's absolute
//! figures, then every other input and the rule.

use super::markup::{esc, table};
use super::numfmt;
use crate::results::{Branch, Results, Verdict, VerdictInput};

pub fn branch_class(branch: Branch) -> &'static str {
    match branch {
        Branch::KeepTokenReview => "branch-keep",
        Branch::ReconsiderMtls => "branch-mtls",
        Branch::Alternative => "branch-alt",
        Branch::Inconclusive => "branch-none",
    }
}

fn rows<'a>(inputs: impl Iterator<Item = &'a VerdictInput>) -> Vec<Vec<String>> {
    inputs
        .map(|c| {
            let status = match c.ok {
                Some(true) => "<span class=\"held\">met</span>",
                Some(false) => "<span class=\"not-held\">not met</span>",
                None => "<span class=\"not-measured\">not resolved or not measured</span>",
            };
            vec![
                esc(&c.name),
                esc(&c.measured),
                esc(&c.threshold),
                status.to_string(),
            ]
        })
        .collect()
}

/// Each comparison's absolute end-to-end latency on this machine, floor and cached first.
fn absolute_rows(results: &Results) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for c in &results.comparisons {
        for m in &c.modes {
            let q =
                |e: &Option<crate::results::Estimate>| numfmt::opt(e.as_ref(), numfmt::estimate_us);
            out.push(vec![
                numfmt::rps(c.offered_rps),
                esc(&m.mode),
                esc(&q(&m.latency_us.p50)),
                esc(&q(&m.latency_us.p99)),
                numfmt::int(m.requests as f64),
                esc(&numfmt::latency_us(c.generator.send_delay_p99_us)),
            ]);
        }
    }
    out
}

pub fn render(results: &Results, v: &Verdict) -> String {
    let mut out = format!(
        "<section class=\"{}\"><h2>1. Verdict</h2>",
        branch_class(v.branch)
    );
    let branch = match &v.mode {
        Some(mode) => format!("{} ({mode})", v.branch.as_str()),
        None => v.branch.as_str().to_string(),
    };
    out.push_str(&format!(
        "<p><strong>Branch:</strong> <code>{}</code></p><p class=\"verdict\">{}</p>",
        esc(&branch),
        esc(&v.sentence)
    ));
    let decisive: Vec<&VerdictInput> = v.inputs.iter().filter(|i| i.decisive).collect();
    if !decisive.is_empty() {
        out.push_str("<h3>What decided it</h3>");
        out.push_str(&table(
            "checks",
            &["input", "measured (95% interval)", "bar", ""],
            &rows(decisive.into_iter()),
        ));
    }
    let absolute = absolute_rows(results);
    if !absolute.is_empty() {
        out.push_str("<h3>Absolute figures on this machine</h3>");
        out.push_str(&table(
            "absolute",
            &[
                "offered RPS",
                "mode",
                "p50 end to end",
                "p99 end to end",
                "requests",
                "generator send delay p99",
            ],
            &absolute,
        ));
        out.push_str(
            "<p class=\"note\">End-to-end latency includes what the machine, the network stack \
             and the generator cost with no authentication at all; it varies between identical \
             runs by more than the auth cost, which is why the verdict reads the cost over the \
             floor of the same rounds instead.</p>",
        );
    }
    out.push_str("<h3>Every input of the rule</h3>");
    out.push_str(&table(
        "checks",
        &["input", "measured (95% interval)", "bar", ""],
        &rows(v.inputs.iter().filter(|i| !i.decisive)),
    ));
    out.push_str(&format!(
        "<p><strong>Rule.</strong> {}</p></section>",
        esc(&v.rule)
    ));
    out
}
