//! Runs the external tools of the kind path (`kind`, `docker`, `kubectl`) and turns "not
//! installed" and non-zero exits into errors that say what to do.

use super::{Error, Result};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::io::AsyncWriteExt;

/// One command line, built by pure code and run by [`run`]/[`output`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    pub program: String,
    pub args: Vec<String>,
    /// Written to the command's stdin (e.g. a manifest for `kubectl create -f -`).
    pub stdin: Option<String>,
    /// Where to run; the current directory when `None`.
    pub dir: Option<PathBuf>,
}

impl Cmd {
    pub fn new<I, S>(program: &str, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Cmd {
            program: program.to_string(),
            args: args.into_iter().map(Into::into).collect(),
            stdin: None,
            dir: None,
        }
    }

    pub fn stdin(mut self, input: String) -> Self {
        self.stdin = Some(input);
        self
    }

    pub fn in_dir(mut self, dir: &Path) -> Self {
        self.dir = Some(dir.to_path_buf());
        self
    }
}

impl fmt::Display for Cmd {
    /// Shell-like rendering for logs and error messages (quotes arguments with spaces).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.program)?;
        for arg in &self.args {
            if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || c == '\'') {
                write!(f, " '{}'", arg.replace('\'', r"'\''"))?;
            } else {
                write!(f, " {arg}")?;
            }
        }
        if self.stdin.is_some() {
            write!(f, " < (generated input)")?;
        }
        Ok(())
    }
}

/// Where to get a tool, for the "not installed" message.
pub fn install_hint(tool: &str) -> &'static str {
    match tool {
        "kind" => "install kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
        "docker" => {
            "kind needs a running Docker (or Podman) engine: https://docs.docker.com/engine/install/"
        }
        "kubectl" => {
            "install kubectl: https://kubernetes.io/docs/tasks/tools/ (Debian: apt-get install kubernetes-client)"
        }
        _ => "install it and put it on PATH",
    }
}

/// The first executable called `tool` on `path_var` (a PATH-style list), if any.
pub fn find_on_path(tool: &str, path_var: &std::ffi::OsStr) -> Option<PathBuf> {
    std::env::split_paths(path_var)
        .map(|dir| dir.join(tool))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Fails with an install hint unless every tool is on PATH; checked before a multi-step command
/// starts, so `kind up` does not create a cluster and then stop for want of kubectl.
pub fn require(tools: &[&str]) -> Result<()> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for tool in tools {
        if find_on_path(tool, &path).is_none() {
            return Err(Error::ToolMissing {
                tool: tool.to_string(),
                hint: install_hint(tool),
            });
        }
    }
    Ok(())
}

/// Runs `cmd` with stdout/stderr passed through to the user; fails on a non-zero exit.
pub async fn run(cmd: &Cmd) -> Result<()> {
    tracing::info!(command = %cmd, "running");
    let mut child = spawn(cmd, Stdio::inherit(), Stdio::inherit())?;
    feed_stdin(cmd, &mut child).await?;
    let status = child.wait().await.map_err(|e| Error::io(&cmd.program, e))?;
    check(cmd, status, String::new())
}

/// Runs `cmd` and returns its stdout; stderr is kept for the error message.
pub async fn output(cmd: &Cmd) -> Result<String> {
    tracing::debug!(command = %cmd, "running");
    let mut child = spawn(cmd, Stdio::piped(), Stdio::piped())?;
    feed_stdin(cmd, &mut child).await?;
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| Error::io(&cmd.program, e))?;
    check(
        cmd,
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn spawn(cmd: &Cmd, stdout: Stdio, stderr: Stdio) -> Result<tokio::process::Child> {
    let mut command = tokio::process::Command::new(&cmd.program);
    command
        .args(&cmd.args)
        .stdin(if cmd.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(stdout)
        .stderr(stderr)
        .kill_on_drop(true);
    if let Some(dir) = &cmd.dir {
        command.current_dir(dir);
    }
    command.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::ToolMissing {
            tool: cmd.program.clone(),
            hint: install_hint(&cmd.program),
        },
        _ => Error::io(&cmd.program, e),
    })
}

async fn feed_stdin(cmd: &Cmd, child: &mut tokio::process::Child) -> Result<()> {
    if let (Some(input), Some(mut stdin)) = (&cmd.stdin, child.stdin.take()) {
        stdin
            .write_all(input.as_bytes())
            .await
            .map_err(|e| Error::io(&cmd.program, e))?;
        // Dropping stdin closes it, so the tool sees end of input.
    }
    Ok(())
}

fn check(cmd: &Cmd, status: std::process::ExitStatus, stderr: String) -> Result<()> {
    if status.success() {
        Ok(())
    } else {
        Err(Error::ToolFailed {
            command: cmd.to_string(),
            status: status.to_string(),
            stderr: stderr.trim().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_only_when_needed() {
        let cmd = Cmd::new("kubectl", ["-n", "a b", "it's"]).stdin("x".into());
        assert_eq!(
            cmd.to_string(),
            r"kubectl -n 'a b' 'it'\''s' < (generated input)"
        );
    }

    #[test]
    fn finds_tools_only_when_executable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let tool = dir.path().join("kind");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        let path = std::env::join_paths([dir.path()]).unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(find_on_path("kind", &path), None);
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_on_path("kind", &path), Some(tool));
    }

    #[tokio::test]
    async fn missing_tool_says_how_to_install() {
        let cmd = Cmd::new("gatebench-no-such-tool-xyz", ["x"]);
        let err = output(&cmd).await.unwrap_err();
        assert!(matches!(err, Error::ToolMissing { .. }), "{err}");
    }

    #[tokio::test]
    async fn failure_carries_stderr_and_stdin_reaches_the_tool() {
        let echo = Cmd::new("sh", ["-c", "cat"]).stdin("hello".into());
        assert_eq!(output(&echo).await.unwrap(), "hello");
        let fail = Cmd::new("sh", ["-c", "echo broken >&2; exit 3"]);
        match output(&fail).await.unwrap_err() {
            Error::ToolFailed { stderr, status, .. } => {
                assert_eq!(stderr, "broken");
                assert!(status.contains('3'), "{status}");
            }
            other => panic!("{other}"),
        }
    }
}
