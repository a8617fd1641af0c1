//! The loadtest command line built typed: a `Cli` with every default, changed field by field,
//! rendered back into its flags (`to_args`) for decide to spawn `loadtest` with.

use super::cli::Cli;
use crate::results::Scenario;
use clap::{Parser, ValueEnum};
use std::path::{Path, PathBuf};

impl Cli {
    /// Every flag at its default, for `scenario` writing its summary to `summary_out`.
    pub fn new(scenario: Scenario, summary_out: &Path) -> Cli {
        Cli::try_parse_from([
            "loadtest".into(),
            "--scenario".into(),
            scenario.as_str().to_string(),
            "--summary-out".into(),
            summary_out.display().to_string(),
        ])
        .expect("the required flags alone parse")
    }

    /// The flags that reproduce this `Cli` (every field of ours, and goose's host, users,
    /// report files and certificate check; decide sets no other goose flag).
    pub fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        let mut flag = |name: &str, value: String| {
            args.push(format!("--{name}"));
            args.push(value);
        };
        let path = |p: &PathBuf| p.display().to_string();
        flag("scenario", self.scenario.as_str().into());
        flag("summary-out", path(&self.summary_out));
        if let Some(p) = &self.histogram_out {
            flag("histogram-out", path(p));
        }
        flag("rate", self.rate.to_string());
        flag("duration", self.duration.to_string());
        flag("identities", self.identities.to_string());
        if let Some(p) = &self.kubeconfig {
            flag("kubeconfig", path(p));
        }
        flag("namespace", self.namespace.clone());
        for (name, value) in [
            ("tokens-file", &self.tokens_file),
            ("pki-dir", &self.pki_dir),
            ("ca-cert", &self.ca_cert),
            ("crl-out", &self.crl_out),
        ] {
            if let Some(p) = value {
                flag(name, path(p));
            }
        }
        if let Some(url) = &self.gateway_metrics {
            flag("gateway-metrics", url.clone());
        }
        if !self.gateway_pid.is_empty() {
            flag("gateway-pid", join(&self.gateway_pid));
        }
        flag("duplicate-fraction", self.duplicate_fraction.to_string());
        flag(
            "request-timeout-secs",
            self.request_timeout_secs.to_string(),
        );
        flag("start-rate", self.start_rate.to_string());
        flag("max-rate", self.max_rate.to_string());
        flag("step-factor", self.step_factor.to_string());
        flag("min-step-samples", self.min_step_samples.to_string());
        flag("slo-p99-us", self.slo_p99_us.to_string());
        flag("churn-levels", join(&self.churn_levels));
        flag("concurrency", self.concurrency.to_string());
        flag("revoke", value_name(&self.revoke));
        if let Some(s) = self.revoke_after_secs {
            flag("revoke-after-secs", s.to_string());
        }
        if let Some(s) = self.outage_at_secs {
            flag("outage-at-secs", s.to_string());
        }
        flag("outage-secs", self.outage_secs.to_string());
        flag("outage-kind", self.outage_kind.clone());
        if let Some(n) = self.apiserver_max_inflight {
            flag("apiserver-max-inflight", n.to_string());
        }
        for pair in &self.pair {
            flag("pair", pair.to_string());
        }
        flag("floor", self.floor.clone());
        flag("rounds", self.rounds.to_string());
        flag("slot-secs", self.slot_secs.to_string());
        for model in &self.model {
            flag("model", model.to_string());
        }
        if let Some(host) = &self.goose.host {
            flag("host", host.clone());
        }
        if let Some(users) = self.goose.users {
            flag("users", users.to_string());
        }
        for file in &self.goose.report_file {
            flag("report-file", file.clone());
        }
        for (set, name) in [
            (self.setup_rbac, "--setup-rbac"),
            (self.new_connection, "--new-connection"),
            (self.goose.accept_invalid_certs, "--accept-invalid-certs"),
        ] {
            if set {
                args.push(name.into());
            }
        }
        args
    }
}

fn join<T: ToString>(values: &[T]) -> String {
    values
        .iter()
        .map(T::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn value_name<T: ValueEnum>(value: &T) -> String {
    value
        .to_possible_value()
        .expect("no skipped variants")
        .get_name()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadtest::cli::RevokeMethod;

    #[test]
    fn rendered_flags_parse_back_to_the_same_cli() {
        let mut cli = Cli::new(Scenario::Paired, Path::new("/tmp/s.json"));
        cli.rate = 250.5;
        cli.kubeconfig = Some("/tmp/kc".into());
        cli.gateway_pid = vec![3, 4];
        cli.churn_levels = vec![0.0, 0.5];
        cli.revoke = RevokeMethod::Crl;
        cli.new_connection = true;
        cli.pair = vec!["none=http://h:1;pid=3".parse().unwrap()];
        cli.model = vec!["cached:tokenreviews:5".parse().unwrap()];
        cli.goose.host = Some("https://h:2".into());
        let args = cli.to_args();
        let again =
            Cli::try_parse_from(std::iter::once("loadtest".to_string()).chain(args.clone()))
                .unwrap();
        assert_eq!(again.to_args(), args);
        assert_eq!(again.rate, 250.5);
        assert_eq!(again.revoke, RevokeMethod::Crl);
        assert!(again.new_connection);
        assert_eq!(again.pair, cli.pair);
        assert_eq!(again.gateway_pid, [3, 4]);
    }
}
