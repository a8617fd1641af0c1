//! Terminal progress of a decide run: "run i/N id", a bar with ETA per run, one result line after each.

use crate::results::{RunOutcome, RunRecord};
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The bar of one run; its position follows wall time against the planned timed window.
pub struct RunBar {
    bar: ProgressBar,
    ticker: tokio::task::JoinHandle<()>,
    /// When the timed window began (start-up before it is not on the bar).
    origin: Arc<Mutex<Instant>>,
}

impl RunBar {
    /// Shows "run i/N id" and starts the bar.
    pub fn start(index: usize, total: usize, id: &str, planned_secs: f64) -> RunBar {
        let planned_ms = (planned_secs * 1000.0).max(1.0) as u64;
        let bar = ProgressBar::new(planned_ms).with_prefix(format!("run {index}/{total} {id}"));
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {elapsed} ETA {eta} {msg}")
                .expect("static template is valid")
                .progress_chars("=> "),
        );
        if bar.is_hidden() {
            println!("run {index}/{total} {id} ({planned_secs:.1} s)");
        }
        bar.set_message("starting");
        let ticking = bar.clone();
        let origin = Arc::new(Mutex::new(Instant::now()));
        let ticker_origin = Arc::clone(&origin);
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let started = *ticker_origin.lock().expect("bar clock lock");
                let elapsed_ms = started.elapsed().as_millis() as u64;
                // Start-up and summary time run past the plan; hold the bar short of full.
                ticking.set_position(elapsed_ms.min(planned_ms.saturating_sub(1)));
            }
        });
        RunBar {
            bar,
            ticker,
            origin,
        }
    }

    /// The timed window starts now: the bar measures from here.
    pub fn window_started(&self) {
        *self.origin.lock().expect("bar clock lock") = Instant::now();
        self.bar.set_position(0);
        self.bar.reset_eta();
    }

    pub fn message(&self, msg: &str) {
        self.bar.set_message(msg.to_string());
    }

    /// Clears the bar and prints the run's one-line result (one per mode of a paired run).
    pub fn finish(self, index: usize, total: usize, records: &[RunRecord]) {
        self.ticker.abort();
        self.bar.finish_and_clear();
        for record in records {
            println!("run {index}/{total} {}", result_line(record));
        }
    }
}

/// "steady/cached/100: ok, 99.8 RPS, p99 1234 us, 12 API calls (tokenreviews 10, ...)".
pub fn result_line(record: &RunRecord) -> String {
    let status = match &record.outcome {
        RunOutcome::Ok => "ok".to_string(),
        RunOutcome::Failed { error } => format!("FAILED: {error}"),
        RunOutcome::NoData { reason } => format!("NO DATA: {reason}"),
        RunOutcome::Skipped { reason } => format!("skipped: {reason}"),
    };
    let mut line = format!("{}: {status}", record.id);
    if let Some(load) = &record.load {
        line.push_str(&format!(", {:.1} RPS achieved", load.achieved_rps));
        // Burst scenarios have no offered rate.
        if load.offered_rps > 0.0 {
            line.push_str(&format!(" of {:.0} offered", load.offered_rps));
        }
        line.push_str(&format!(
            ", p50 {} us, p99 {} us, {} requests",
            load.latency_us.p50, load.latency_us.p99, load.latency_us.count
        ));
    }
    if !matches!(record.outcome, RunOutcome::Skipped { .. }) {
        let total: u64 = record.server().apiserver_calls.values().sum();
        let reviews: Vec<String> = ["tokenreviews", "subjectaccessreviews"]
            .iter()
            .filter_map(|r| {
                record
                    .server()
                    .apiserver_calls
                    .get(*r)
                    .map(|n| format!("{r} {n}"))
            })
            .collect();
        line.push_str(&format!(", {total} API calls"));
        if !reviews.is_empty() {
            line.push_str(&format!(" ({})", reviews.join(", ")));
        }
    }
    line
}
