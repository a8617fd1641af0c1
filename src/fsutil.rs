//! Files written so that no reader ever sees half of one, and signals sent to child processes:
//! the small OS utilities every part of gatebench shares.

use std::io::Write;
use std::path::Path;

/// Mode of files anyone may read (reports, summaries, CRLs).
pub const PUBLIC: u32 = 0o644;
/// Mode of files holding credentials (kubeconfigs).
pub const PRIVATE: u32 = 0o600;

/// Writes `bytes` to `path` through a temporary file in the same directory (fsynced, given
/// `mode`) that is then renamed over `path`: readers see the old file or the new one, never a
/// partial one, and a crash leaves no half-written target.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut file = tempfile::Builder::new()
        .prefix(".gatebench-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    file.write_all(bytes)?;
    file.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Asks process `pid` to terminate (SIGTERM); false when it no longer exists.
pub fn terminate(pid: u32) -> bool {
    send(pid, nix::sys::signal::Signal::SIGTERM)
}

/// Sends `signal` to process `pid`; false when it no longer exists or may not be signalled.
pub fn send(pid: u32, signal: nix::sys::signal::Signal) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), signal).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_the_file_whole_with_the_mode_asked_for_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        std::fs::write(&path, "old").unwrap();
        write_atomic(&path, b"new", PRIVATE).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, PRIVATE);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
        assert!(write_atomic(&dir.path().join("missing/x"), b"", PUBLIC).is_err());
    }

    #[test]
    fn terminate_ends_a_child_and_reports_a_gone_one() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        assert!(terminate(child.id()));
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(15));
        assert!(!terminate(child.id()), "reaped: no such process");
    }
}
