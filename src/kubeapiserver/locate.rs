//! Finding the kube-apiserver and etcd binaries and reading their versions.

use std::path::{Path, PathBuf};

use super::{Error, Result};

/// The Kubernetes release `scripts/install-kube-apiserver.sh` builds (keep the two in step).
pub const K8S_VERSION: &str = "v1.37.2";
/// The kube-rbac-proxy release the same script builds (keep the two in step).
pub const KRP_VERSION: &str = "v0.19.1";
/// The path of a `kube-rbac-proxy` executable, used instead of the one in `.tools/`.
pub const KRP_BIN_ENV: &str = "GATEBENCH_KUBE_RBAC_PROXY";
/// The script that builds the binaries into `.tools/`.
pub const INSTALL_SCRIPT: &str = "scripts/install-kube-apiserver.sh";
/// A directory holding `kube-apiserver` and `etcd`, searched before `.tools/`.
pub const BIN_DIR_ENV: &str = "GATEBENCH_KUBE_BIN_DIR";

/// Paths of the two executables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binaries {
    pub kube_apiserver: PathBuf,
    pub etcd: PathBuf,
}

/// What the binaries say they are (`v1.37.2`, `3.7.3`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Versions {
    pub kube_apiserver: String,
    pub etcd: String,
}

impl Binaries {
    fn in_dir(dir: &Path) -> Binaries {
        Binaries {
            kube_apiserver: dir.join("kube-apiserver"),
            etcd: dir.join("etcd"),
        }
    }

    fn present(&self) -> bool {
        self.kube_apiserver.is_file() && self.etcd.is_file()
    }

    /// `$GATEBENCH_KUBE_BIN_DIR`, else `.tools/kubernetes/<version>/bin` under the working directory
    /// or under the checkout this binary was built from.
    pub fn find() -> Result<Binaries> {
        let candidates = candidate_dirs(
            std::env::var_os(BIN_DIR_ENV).map(PathBuf::from),
            std::env::current_dir().ok(),
        );
        candidates
            .iter()
            .map(|dir| Binaries::in_dir(dir))
            .find(Binaries::present)
            .ok_or_else(|| Error::BinariesMissing {
                searched: candidates
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Runs `--version` on both.
    pub fn versions(&self) -> Result<Versions> {
        let kube = version_output(&self.kube_apiserver)?;
        let etcd = version_output(&self.etcd)?;
        Ok(Versions {
            kube_apiserver: parse_kube_version(&kube).unwrap_or(kube),
            etcd: parse_etcd_version(&etcd).unwrap_or(etcd),
        })
    }
}

/// The `kube-rbac-proxy` executable: `$GATEBENCH_KUBE_RBAC_PROXY`, else
/// `.tools/kube-rbac-proxy/<version>/bin/` under the working directory or the checkout.
pub fn kube_rbac_proxy() -> Result<PathBuf> {
    let candidates = match std::env::var_os(KRP_BIN_ENV).filter(|v| !v.is_empty()) {
        Some(path) => vec![PathBuf::from(path)],
        None => tools_dirs(
            &Path::new(".tools/kube-rbac-proxy")
                .join(KRP_VERSION)
                .join("bin"),
            std::env::current_dir().ok(),
        )
        .into_iter()
        .map(|d| d.join("kube-rbac-proxy"))
        .collect(),
    };
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| Error::KubeRbacProxyMissing {
            searched: candidates
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Where binaries are looked for, in order. With the variable set, only there: a user who names a
/// directory wants those binaries or an error, not a silent fallback.
fn candidate_dirs(env_dir: Option<PathBuf>, cwd: Option<PathBuf>) -> Vec<PathBuf> {
    if let Some(dir) = env_dir.filter(|d| !d.as_os_str().is_empty()) {
        return vec![dir];
    }
    tools_dirs(
        &Path::new(".tools/kubernetes").join(K8S_VERSION).join("bin"),
        cwd,
    )
}

/// `tools` (a path relative to a checkout) under the working directory, then under the checkout
/// this binary was built from.
fn tools_dirs(tools: &Path, cwd: Option<PathBuf>) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = cwd.into_iter().map(|d| d.join(tools)).collect();
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join(tools);
    if !dirs.contains(&checkout) {
        dirs.push(checkout);
    }
    dirs
}

fn version_output(program: &Path) -> Result<String> {
    let failed = |reason: String| Error::Version {
        program: program.display().to_string(),
        reason,
    };
    let out = std::process::Command::new(program)
        .arg("--version")
        .output()
        .map_err(|e| failed(e.to_string()))?;
    if !out.status.success() {
        return Err(failed(format!("exit {}", out.status)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `Kubernetes v1.37.2` -> `v1.37.2`.
pub fn parse_kube_version(text: &str) -> Option<String> {
    text.split_whitespace()
        .find(|w| w.starts_with('v') && w[1..].starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_string)
}

/// `etcd Version: 3.7.3\nGit SHA: ...` -> `3.7.3`.
pub fn parse_etcd_version(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix("etcd Version:"))
        .map(|v| v.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_from_the_real_outputs() {
        assert_eq!(
            parse_kube_version("Kubernetes v1.37.2").as_deref(),
            Some("v1.37.2")
        );
        assert_eq!(parse_kube_version("Kubernetes"), None);
        let etcd = "etcd Version: 3.7.3\nGit SHA: GitNotFound\nGo Version: go1.26.8\nGo OS/Arch: linux/amd64";
        assert_eq!(parse_etcd_version(etcd).as_deref(), Some("3.7.3"));
        assert_eq!(parse_etcd_version("etcd"), None);
    }

    #[test]
    fn the_variable_wins_alone_and_tools_dirs_follow_the_working_directory() {
        let only = candidate_dirs(Some("/opt/k8s".into()), Some("/work".into()));
        assert_eq!(only, vec![PathBuf::from("/opt/k8s")]);
        let dirs = candidate_dirs(None, Some("/elsewhere".into()));
        assert_eq!(
            dirs[0],
            Path::new("/elsewhere/.tools/kubernetes")
                .join(K8S_VERSION)
                .join("bin")
        );
        assert!(dirs.last().unwrap().starts_with(env!("CARGO_MANIFEST_DIR")));
    }

    #[test]
    fn a_missing_install_names_the_script() {
        let dir = std::env::temp_dir().join(format!("gb-no-bins-{}", std::process::id()));
        let err = Binaries::in_dir(&dir).present();
        assert!(!err);
        let message = Error::BinariesMissing {
            searched: dir.display().to_string(),
        }
        .to_string();
        assert!(message.contains(INSTALL_SCRIPT), "{message}");
        assert!(message.contains(BIN_DIR_ENV), "{message}");
    }
}
