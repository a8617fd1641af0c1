//! Child processes of a decide run: spawn, wait for the "listening" line, log to a file, stop on drop.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot start {name} ({program}): {source}")]
    Spawn {
        name: String,
        program: String,
        source: std::io::Error,
    },
    #[error("{name}: cannot open log {path}: {source}")]
    Log {
        name: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{name} did not report listening within {secs} s; see {log}")]
    ListenTimeout {
        name: String,
        secs: u64,
        log: PathBuf,
    },
    #[error("{name} exited before listening ({status}); see {log}")]
    ExitedEarly {
        name: String,
        status: String,
        log: PathBuf,
    },
    #[error("{name} did not exit within {secs} s (killed); see {log}")]
    ExitTimeout {
        name: String,
        secs: u64,
        log: PathBuf,
    },
    #[error("waiting for {name}: {source}")]
    Wait {
        name: String,
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

/// What to run and where its output goes.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Short name for messages ("apiserver", "gateway", "loadtest").
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// stderr (and stdout after the listening line) are appended here.
    pub log: PathBuf,
}

impl Spec {
    pub fn new(name: &str, program: &Path, args: Vec<String>, log: &Path) -> Spec {
        Spec {
            name: name.to_string(),
            program: program.to_path_buf(),
            args,
            env: Vec::new(),
            log: log.to_path_buf(),
        }
    }

    pub fn env(mut self, key: &str, value: impl Into<String>) -> Spec {
        self.env.push((key.to_string(), value.into()));
        self
    }
}

/// A running child, killed when dropped (so Ctrl-C and errors never leave strays).
#[derive(Debug)]
pub struct Managed {
    pub name: String,
    pub log: PathBuf,
    child: Child,
}

fn open_log(spec: &Spec) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&spec.log)
        .map_err(|source| Error::Log {
            name: spec.name.clone(),
            path: spec.log.clone(),
            source,
        })
}

fn spawn(spec: &Spec, stdout: Stdio) -> Result<Child> {
    let stderr = open_log(spec)?;
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::from(stderr))
        .kill_on_drop(true);
    cmd.spawn().map_err(|source| Error::Spawn {
        name: spec.name.clone(),
        program: spec.program.display().to_string(),
        source,
    })
}

impl Managed {
    /// Starts a server child and returns it with the JSON of its `{"event":"listening",..}` line.
    pub async fn start_listening(
        spec: &Spec,
        timeout: Duration,
    ) -> Result<(Managed, serde_json::Value)> {
        let mut child = spawn(spec, Stdio::piped())?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let wait_line = async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(value) = serde_json::from_str::<serde_json::Value>(line.trim())
                    && value.get("event").and_then(|e| e.as_str()) == Some("listening")
                {
                    return Some(value);
                }
            }
            None
        };
        let found = tokio::time::timeout(timeout, wait_line).await;
        let mut managed = Managed {
            name: spec.name.clone(),
            log: spec.log.clone(),
            child,
        };
        match found {
            Ok(Some(value)) => {
                // Keep draining stdout so the child never blocks on a full pipe.
                let log = open_log(spec)?;
                tokio::spawn(drain(lines.into_inner(), log));
                Ok((managed, value))
            }
            Ok(None) => {
                let status = match managed.child.wait().await {
                    Ok(s) => s.to_string(),
                    Err(e) => e.to_string(),
                };
                Err(Error::ExitedEarly {
                    name: spec.name.clone(),
                    status,
                    log: spec.log.clone(),
                })
            }
            Err(_) => {
                managed.kill().await;
                Err(Error::ListenTimeout {
                    name: spec.name.clone(),
                    secs: timeout.as_secs(),
                    log: spec.log.clone(),
                })
            }
        }
    }

    /// Starts a child whose stdout and stderr both go to its log.
    pub fn start(spec: &Spec) -> Result<Managed> {
        let stdout = open_log(spec)?;
        let child = spawn(spec, Stdio::from(stdout))?;
        Ok(Managed {
            name: spec.name.clone(),
            log: spec.log.clone(),
            child,
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The exit status if the child has already exited.
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits for the child to exit; kills it when `timeout` passes first.
    pub async fn wait(&mut self, timeout: Duration) -> Result<std::process::ExitStatus> {
        match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(status) => status.map_err(|source| Error::Wait {
                name: self.name.clone(),
                source,
            }),
            Err(_) => {
                self.kill().await;
                Err(Error::ExitTimeout {
                    name: self.name.clone(),
                    secs: timeout.as_secs(),
                    log: self.log.clone(),
                })
            }
        }
    }

    /// SIGTERM (graceful), then SIGKILL if still alive after `grace`.
    pub async fn stop(mut self, grace: Duration) {
        if let Some(pid) = self.child.id() {
            crate::fsutil::terminate(pid);
            if tokio::time::timeout(grace, self.child.wait()).await.is_ok() {
                return;
            }
        }
        self.kill().await;
    }

    async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }
}

async fn drain(reader: impl AsyncRead + Unpin, log: std::fs::File) {
    let mut log = tokio::fs::File::from_std(log);
    let mut reader = reader;
    let _ = tokio::io::copy(&mut reader, &mut log).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, log: &Path) -> Spec {
        Spec::new(
            "sh",
            Path::new("/bin/sh"),
            vec!["-c".into(), script.into()],
            log,
        )
    }

    #[tokio::test]
    async fn reads_the_listening_line_and_logs_stderr() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("child.log");
        let spec = sh(
            r#"echo noise; echo oops >&2; echo '{"event":"listening","url":"http://127.0.0.1:9"}'; exec sleep 30"#,
            &log,
        );
        let (child, value) = Managed::start_listening(&spec, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(value["url"], "http://127.0.0.1:9");
        child.stop(Duration::from_secs(5)).await;
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.contains("oops"), "{text}");
    }

    #[tokio::test]
    async fn reports_a_child_that_exits_before_listening() {
        let dir = tempfile::tempdir().unwrap();
        let spec = sh("echo bad flag >&2; exit 3", &dir.path().join("c.log"));
        let err = Managed::start_listening(&spec, Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::ExitedEarly { .. }), "{err}");
    }

    #[tokio::test]
    async fn times_out_and_kills_a_silent_child() {
        let dir = tempfile::tempdir().unwrap();
        let spec = sh("exec sleep 30", &dir.path().join("c.log"));
        let err = Managed::start_listening(&spec, Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::ListenTimeout { .. }), "{err}");
        let mut waiter = Managed::start(&sh("exit 4", &dir.path().join("d.log"))).unwrap();
        let status = waiter.wait(Duration::from_secs(10)).await.unwrap();
        assert_eq!(status.code(), Some(4));
    }
}
