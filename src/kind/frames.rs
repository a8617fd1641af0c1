//! Carries a Job pod's result files (summary JSON, HdrHistogram log) out through its container
//! log: framed, base64-encoded and checksummed, so `kubectl logs` is the only transport needed
//! and a truncated or interleaved log is detected instead of merged.

use super::{Error, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

const BEGIN: &str = "gatebench-result v1";
const END: &str = "gatebench-result-end";
const LINE_CHARS: usize = 76;

/// One file carried in a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultFile {
    pub pod: String,
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Frames one file for a log.
pub fn encode(pod: &str, name: &str, bytes: &[u8]) -> Result<String> {
    check_name("pod", pod)?;
    check_name("file", name)?;
    let encoded = STANDARD.encode(bytes);
    let mut out = format!(
        "{BEGIN} pod={pod} file={name} bytes={} sha256={}\n",
        bytes.len(),
        hex_sha256(bytes)
    );
    for chunk in encoded.as_bytes().chunks(LINE_CHARS) {
        // Chunks of base64 (ASCII) are always valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(END);
    out.push('\n');
    Ok(out)
}

/// Frames every regular file in `dir` (sorted by name), as the Job's `results` container prints them.
pub fn encode_dir(pod: &str, dir: &Path) -> Result<String> {
    let mut names = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir.display(), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir.display(), e))?;
        if entry.path().is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    if names.is_empty() {
        return Err(Error::Frame(format!(
            "{} holds no result files (did loadtest run?)",
            dir.display()
        )));
    }
    names.sort();
    let mut out = String::new();
    for name in names {
        let path = dir.join(&name);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(path.display(), e))?;
        out.push_str(&encode(pod, &name, &bytes)?);
    }
    Ok(out)
}

/// Finds every frame in a log (other lines are ignored) and checks length and checksum.
/// Tolerates the `[pod/NAME/CONTAINER] ` prefix `kubectl logs --prefix` adds.
pub fn decode(log: &str) -> Result<Vec<ResultFile>> {
    let mut files = Vec::new();
    let mut open: Option<(BTreeMap<String, String>, String)> = None;
    for (number, raw) in log.lines().enumerate() {
        let line = strip_prefix(raw).trim_end();
        if let Some(rest) = line.strip_prefix(BEGIN) {
            if open.is_some() {
                return Err(Error::Frame(format!(
                    "line {}: frame not closed",
                    number + 1
                )));
            }
            let fields = rest
                .split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            open = Some((fields, String::new()));
        } else if line == END {
            let (fields, body) = open
                .take()
                .ok_or_else(|| Error::Frame(format!("line {}: end without begin", number + 1)))?;
            files.push(finish(&fields, &body)?);
        } else if let Some((_, body)) = open.as_mut() {
            body.push_str(line);
        }
    }
    if open.is_some() {
        return Err(Error::Frame("log ends inside a frame (truncated?)".into()));
    }
    Ok(files)
}

fn finish(fields: &BTreeMap<String, String>, body: &str) -> Result<ResultFile> {
    let field = |key: &str| {
        fields
            .get(key)
            .cloned()
            .ok_or_else(|| Error::Frame(format!("frame without `{key}=`")))
    };
    let pod = field("pod")?;
    let name = field("file")?;
    check_name("pod", &pod)?;
    check_name("file", &name)?;
    let bytes = STANDARD
        .decode(body)
        .map_err(|e| Error::Frame(format!("{pod}/{name}: bad base64: {e}")))?;
    let expected_len: usize = field("bytes")?
        .parse()
        .map_err(|_| Error::Frame(format!("{pod}/{name}: bad bytes=")))?;
    if bytes.len() != expected_len || hex_sha256(&bytes) != field("sha256")? {
        return Err(Error::Frame(format!(
            "{pod}/{name}: length or checksum mismatch (log truncated or interleaved)"
        )));
    }
    Ok(ResultFile { pod, name, bytes })
}

/// Writes decoded files as `out/<pod>/<file>`, one directory per pod (what `report --merge` takes).
pub fn write_all(files: &[ResultFile], out: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut dirs = Vec::new();
    for file in files {
        let dir = out.join(&file.pod);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))?;
        let path = dir.join(&file.name);
        std::fs::write(&path, &file.bytes).map_err(|e| Error::io(path.display(), e))?;
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    Ok(dirs)
}

/// Names become path components when written, so only plain names pass (no `/`, no `..`).
fn check_name(what: &str, name: &str) -> Result<()> {
    let plain = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if plain {
        Ok(())
    } else {
        Err(Error::Frame(format!(
            "{what} name {name:?} is not a plain name"
        )))
    }
}

fn strip_prefix(line: &str) -> &str {
    match line.strip_prefix("[pod/") {
        Some(rest) => rest.split_once("] ").map_or(line, |(_, after)| after),
        None => line,
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_several_pods_among_other_log_lines() {
        let summary = br#"{"scenario":"steady"}"#.to_vec();
        let histogram: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let log = format!(
            "some startup line\n{}{}[pod/gatebench-load-1-abc/results] {}",
            encode("gatebench-load-0-xyz", "summary.json", &summary).unwrap(),
            encode("gatebench-load-0-xyz", "histogram.hlog", &histogram).unwrap(),
            encode("gatebench-load-1-abc", "summary.json", b"{}")
                .unwrap()
                .replace('\n', "\n[pod/gatebench-load-1-abc/results] ")
        );
        let files = decode(&log).unwrap();
        assert_eq!(files.len(), 3);
        assert_eq!(files[0].bytes, summary);
        assert_eq!(files[1].name, "histogram.hlog");
        assert_eq!(files[1].bytes, histogram);
        assert_eq!(files[2].pod, "gatebench-load-1-abc");
        assert_eq!(files[2].bytes, b"{}");
    }

    #[test]
    fn detects_a_lost_line() {
        let framed = encode("p", "h.hlog", &[7u8; 500]).unwrap();
        let mut lines: Vec<&str> = framed.lines().collect();
        lines.remove(2);
        assert!(decode(&lines.join("\n")).is_err());
    }

    #[test]
    fn detects_truncation() {
        let framed = encode("p", "s.json", b"{\"a\":1}").unwrap();
        let cut = framed.trim_end().trim_end_matches(END);
        assert!(decode(cut).unwrap_err().to_string().contains("truncated"));
    }

    #[test]
    fn refuses_path_traversal() {
        assert!(encode("p", "../etc", b"x").is_err());
        let forged = "gatebench-result v1 pod=.. file=x bytes=0 sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\ngatebench-result-end\n";
        assert!(decode(forged).is_err());
    }

    #[test]
    fn writes_one_directory_per_pod() {
        let dir = tempfile::tempdir().unwrap();
        let files = vec![
            ResultFile {
                pod: "a".into(),
                name: "summary.json".into(),
                bytes: b"1".to_vec(),
            },
            ResultFile {
                pod: "a".into(),
                name: "histogram.hlog".into(),
                bytes: b"2".to_vec(),
            },
            ResultFile {
                pod: "b".into(),
                name: "summary.json".into(),
                bytes: b"3".to_vec(),
            },
        ];
        let dirs = write_all(&files, dir.path()).unwrap();
        assert_eq!(dirs, [dir.path().join("a"), dir.path().join("b")]);
        assert_eq!(
            std::fs::read(dir.path().join("a/histogram.hlog")).unwrap(),
            b"2"
        );
    }
}
