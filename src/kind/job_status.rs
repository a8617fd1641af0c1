//! Reads a Job's progress from its status (`kubectl get job -o json`), so waiting ends on
//! failure as well as on success instead of running into a timeout.

use k8s_openapi::api::batch::v1::Job;

/// Where a Job is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    Running { active: i32, succeeded: i32 },
    Complete { succeeded: i32 },
    Failed { reason: String },
}

/// The state `job.status` shows. `Complete`/`Failed` conditions decide; counts are for progress.
pub fn state(job: &Job) -> JobState {
    let status = job.status.clone().unwrap_or_default();
    let succeeded = status.succeeded.unwrap_or(0);
    for condition in status.conditions.iter().flatten() {
        if condition.status != "True" {
            continue;
        }
        match condition.type_.as_str() {
            "Complete" => return JobState::Complete { succeeded },
            // "FailureTarget" precedes "Failed" while pods are still being terminated.
            "Failed" | "FailureTarget" => {
                let reason = [condition.reason.as_deref(), condition.message.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(": ");
                return JobState::Failed { reason };
            }
            _ => {}
        }
    }
    JobState::Running {
        active: status.active.unwrap_or(0),
        succeeded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(status: serde_json::Value) -> Job {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "j"}, "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn running_complete_failed() {
        assert_eq!(
            state(&job(serde_json::json!({"active": 3, "succeeded": 1}))),
            JobState::Running {
                active: 3,
                succeeded: 1
            }
        );
        let done = job(serde_json::json!({"succeeded": 3, "conditions": [
            {"type": "SuccessCriteriaMet", "status": "True"},
            {"type": "Complete", "status": "True"}]}));
        assert_eq!(state(&done), JobState::Complete { succeeded: 3 });
        let failed = job(serde_json::json!({"failed": 1, "conditions": [
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
             "message": "Job has reached the specified backoff limit"}]}));
        match state(&failed) {
            JobState::Failed { reason } => assert!(reason.starts_with("BackoffLimitExceeded: ")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_false_condition_does_not_finish_the_job() {
        let j = job(serde_json::json!({"active": 1, "conditions": [
            {"type": "Complete", "status": "False"}]}));
        assert_eq!(
            state(&j),
            JobState::Running {
                active: 1,
                succeeded: 0
            }
        );
    }
}
