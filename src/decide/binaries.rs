//! Finding the `gatebench` and `loadtest` executables a decide run spawns (building `loadtest` if cargo can).

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot find the running executable: {0}")]
    CurrentExe(std::io::Error),
    #[error(
        "the `loadtest` binary is not next to {exe_dir}; build it with `cargo build {profile_flag}--bin loadtest` \
         (or `cargo build --release` for both binaries) and run decide again"
    )]
    LoadtestMissing {
        exe_dir: String,
        profile_flag: &'static str,
    },
    #[error("`{command}` failed ({status}); build `loadtest` by hand and run decide again")]
    BuildFailed { command: String, status: String },
}

pub type Result<T> = std::result::Result<T, Error>;

/// The `gatebench` executable: this process.
pub fn gatebench() -> Result<PathBuf> {
    std::env::current_exe().map_err(Error::CurrentExe)
}

/// The `loadtest` next to this executable. When it is missing and this process was started by
/// cargo (`CARGO` is set, as under `cargo run`), builds it with the same profile, telling `say` first.
pub fn loadtest(say: impl Fn(&str)) -> Result<PathBuf> {
    let exe = gatebench()?;
    let dir = exe.parent().unwrap_or(Path::new(".")).to_path_buf();
    let candidate = dir.join(format!("loadtest{}", std::env::consts::EXE_SUFFIX));
    if candidate.is_file() {
        return Ok(candidate);
    }
    let release = dir.file_name().is_some_and(|n| n == "release");
    let profile_flag = if release { "--release " } else { "" };
    let Ok(cargo) = std::env::var("CARGO") else {
        return Err(Error::LoadtestMissing {
            exe_dir: dir.display().to_string(),
            profile_flag,
        });
    };
    let mut args = vec!["build".to_string(), "--bin".into(), "loadtest".into()];
    if release {
        args.push("--release".into());
    }
    // `cargo run` tells its child where the package is; the working directory may be elsewhere.
    if let Ok(dir) = std::env::var("CARGO_MANIFEST_DIR") {
        args.push("--manifest-path".into());
        args.push(Path::new(&dir).join("Cargo.toml").display().to_string());
    }
    let command = format!("{cargo} {}", args.join(" "));
    say(&format!("`loadtest` is not built yet; running `{command}`"));
    let status = std::process::Command::new(&cargo)
        .args(&args)
        .status()
        .map_err(|e| Error::BuildFailed {
            command: command.clone(),
            status: e.to_string(),
        })?;
    if !status.success() || !candidate.is_file() {
        return Err(Error::BuildFailed {
            command,
            status: status.to_string(),
        });
    }
    Ok(candidate)
}
