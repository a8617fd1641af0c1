//! Builds the distributed-load Job from `deploy/jobs/loadtest-job.yaml` (compiled in, so the file
//! a kubectl user applies and the Job `gatebench kind load` creates cannot drift apart).

use super::manifests::{Manifest, parse_documents};
use super::{Error, Result};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Container;

/// The manifest the Job is built from.
pub const TEMPLATE: &str = include_str!("../../deploy/jobs/loadtest-job.yaml");
const TEMPLATE_ORIGIN: &str = "deploy/jobs/loadtest-job.yaml";

/// Name of the init container that runs `loadtest` in each Job pod.
pub const LOADTEST_CONTAINER: &str = "loadtest";
/// Name of the container whose log carries the result frames.
pub const RESULTS_CONTAINER: &str = "results";

/// What to change in the template; `None` keeps the template's value.
#[derive(Debug, Clone, Default)]
pub struct LoadJobOptions {
    pub parallelism: Option<i32>,
    /// Defaults to `parallelism` when that is given: one run per pod.
    pub completions: Option<i32>,
    pub scenario: Option<String>,
    pub rate_rps: Option<f64>,
    pub duration_secs: Option<u64>,
    pub identities: Option<u64>,
    pub host: Option<String>,
    pub image: Option<String>,
    /// Further loadtest flags, appended verbatim.
    pub extra_args: Vec<String>,
}

/// The template Job, unchanged.
pub fn template() -> Result<Job> {
    let mut docs = parse_documents(TEMPLATE, TEMPLATE_ORIGIN)?;
    match (docs.pop(), docs.is_empty()) {
        (Some(Manifest::Job(job)), true) => Ok(job),
        _ => Err(Error::Job(format!(
            "{TEMPLATE_ORIGIN} must hold exactly one Job"
        ))),
    }
}

/// The template with `options` applied.
pub fn build(options: &LoadJobOptions) -> Result<Job> {
    let mut job = template()?;
    let spec = job
        .spec
        .as_mut()
        .ok_or_else(|| Error::Job("template has no spec".into()))?;
    if let Some(parallelism) = options.parallelism {
        positive("parallelism", parallelism)?;
        spec.parallelism = Some(parallelism);
        spec.completions = Some(parallelism);
    }
    if let Some(completions) = options.completions {
        positive("completions", completions)?;
        spec.completions = Some(completions);
    }
    let pod = spec
        .template
        .spec
        .as_mut()
        .ok_or_else(|| Error::Job("template has no pod spec".into()))?;
    if let Some(image) = &options.image {
        let all = pod
            .init_containers
            .iter_mut()
            .flatten()
            .chain(&mut pod.containers);
        for container in all {
            container.image = Some(image.clone());
        }
    }
    let loadtest = pod
        .init_containers
        .iter_mut()
        .flatten()
        .find(|c| c.name == LOADTEST_CONTAINER)
        .ok_or_else(|| {
            Error::Job(format!(
                "template has no `{LOADTEST_CONTAINER}` init container"
            ))
        })?;
    let overrides = [
        ("--scenario", options.scenario.clone()),
        ("--rate", options.rate_rps.map(|r| r.to_string())),
        ("--duration", options.duration_secs.map(|d| d.to_string())),
        ("--identities", options.identities.map(|n| n.to_string())),
        ("--host", options.host.clone()),
    ];
    for (flag, value) in overrides {
        if let Some(value) = value {
            set_flag(loadtest, flag, &value);
        }
    }
    loadtest
        .args
        .get_or_insert_with(Vec::new)
        .extend(options.extra_args.iter().cloned());
    Ok(job)
}

/// Replaces `--flag=...` (or `--flag ...`) in the container's args, or appends `--flag=value`.
fn set_flag(container: &mut Container, flag: &str, value: &str) {
    let args = container.args.get_or_insert_with(Vec::new);
    let joined = format!("{flag}=");
    if let Some(i) = args.iter().position(|a| a.starts_with(&joined)) {
        args[i] = format!("{flag}={value}");
    } else if let Some(i) = args.iter().position(|a| a == flag) {
        match args.get_mut(i + 1) {
            Some(next) => *next = value.to_string(),
            None => args.push(value.to_string()),
        }
    } else {
        args.push(format!("{flag}={value}"));
    }
}

fn positive(what: &str, n: i32) -> Result<()> {
    if n > 0 {
        Ok(())
    } else {
        Err(Error::Job(format!("{what} must be at least 1, got {n}")))
    }
}

/// The Job's namespace and name, as kubectl needs them.
pub fn namespace_and_name(job: &Job) -> (String, String) {
    (
        job.metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into()),
        job.metadata.name.clone().unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loadtest_args(job: &Job) -> Vec<String> {
        let pod = job.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
        let init = pod.init_containers.as_ref().unwrap();
        let c = init.iter().find(|c| c.name == LOADTEST_CONTAINER).unwrap();
        c.args.clone().unwrap()
    }

    #[test]
    fn template_is_one_indexed_job_with_results_container() {
        let job = template().unwrap();
        let spec = job.spec.as_ref().unwrap();
        assert_eq!(spec.completion_mode.as_deref(), Some("Indexed"));
        assert_eq!(spec.backoff_limit, Some(0));
        let pod = spec.template.spec.as_ref().unwrap();
        assert!(pod.containers.iter().any(|c| c.name == RESULTS_CONTAINER));
        assert!(
            loadtest_args(&job)
                .iter()
                .any(|a| a.starts_with("--summary-out="))
        );
    }

    #[test]
    fn overrides_replace_flags_and_counts() {
        let job = build(&LoadJobOptions {
            parallelism: Some(5),
            rate_rps: Some(250.5),
            duration_secs: Some(30),
            scenario: Some("churn".into()),
            image: Some("registry.local/gatebench:1".into()),
            extra_args: vec!["--churn-fraction".into(), "0.2".into()],
            ..Default::default()
        })
        .unwrap();
        let spec = job.spec.as_ref().unwrap();
        assert_eq!((spec.parallelism, spec.completions), (Some(5), Some(5)));
        let args = loadtest_args(&job);
        assert!(args.contains(&"--rate=250.5".to_string()), "{args:?}");
        assert!(args.contains(&"--duration=30".to_string()));
        assert!(args.contains(&"--scenario=churn".to_string()));
        assert_eq!(args.iter().filter(|a| a.starts_with("--rate")).count(), 1);
        assert_eq!(args[args.len() - 2..], ["--churn-fraction", "0.2"]);
        let pod = spec.template.spec.as_ref().unwrap();
        assert!(
            pod.containers
                .iter()
                .all(|c| c.image.as_deref() == Some("registry.local/gatebench:1"))
        );
    }

    #[test]
    fn completions_can_exceed_parallelism() {
        let job = build(&LoadJobOptions {
            parallelism: Some(2),
            completions: Some(6),
            ..Default::default()
        })
        .unwrap();
        let spec = job.spec.unwrap();
        assert_eq!((spec.parallelism, spec.completions), (Some(2), Some(6)));
    }

    #[test]
    fn rejects_zero_pods() {
        let options = LoadJobOptions {
            parallelism: Some(0),
            ..Default::default()
        };
        assert!(build(&options).is_err());
    }

    #[test]
    fn set_flag_handles_separate_value_form() {
        let mut c = Container {
            args: Some(vec!["--rate".into(), "1".into(), "--x".into()]),
            ..Default::default()
        };
        set_flag(&mut c, "--rate", "9");
        set_flag(&mut c, "--new", "v");
        assert_eq!(c.args.unwrap(), ["--rate", "9", "--x", "--new=v"]);
    }
}
