//! `--pair` and `--model` of the `paired` scenario: one gateway of the comparison (its URL,
//! metrics, process and credential), and the API-call model a mode is checked against. Each
//! renders itself back into its flag, so decide builds them typed.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// One gateway of a paired comparison:
/// `MODE=URL[;metrics=URL][;pid=N]...[;upstream-pid=N][;certs=DIR]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PairTarget {
    pub mode: String,
    pub url: String,
    pub metrics: Option<String>,
    /// The processes that serve it, their CPU summed (`pid=` repeats).
    pub pids: Vec<u32>,
    /// The app behind a proxy: its CPU counts in the target's and is also reported alone.
    pub upstream_pid: Option<u32>,
    /// `gatebench pki` directory: present client certificates instead of bearer tokens.
    pub certs: Option<PathBuf>,
}

impl FromStr for PairTarget {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let mut parts = text.split(';');
        let head = parts.next().unwrap_or_default();
        let (mode, url) = head
            .split_once('=')
            .filter(|(m, u)| !m.is_empty() && !u.is_empty())
            .ok_or_else(|| {
                format!("`{text}`: expected MODE=URL[;metrics=URL][;pid=N]...[;upstream-pid=N][;certs=DIR]")
            })?;
        let mut pair = PairTarget {
            mode: mode.to_string(),
            url: url.to_string(),
            metrics: None,
            pids: Vec::new(),
            upstream_pid: None,
            certs: None,
        };
        for part in parts {
            match part.split_once('=') {
                Some(("metrics", v)) => pair.metrics = Some(v.to_string()),
                Some(("pid", v)) => pair
                    .pids
                    .push(v.parse().map_err(|_| format!("`{text}`: bad pid `{v}`"))?),
                Some(("upstream-pid", v)) => {
                    pair.upstream_pid =
                        Some(v.parse().map_err(|_| format!("`{text}`: bad pid `{v}`"))?)
                }
                Some(("certs", v)) => pair.certs = Some(PathBuf::from(v)),
                _ => return Err(format!("`{text}`: unknown part `{part}`")),
            }
        }
        Ok(pair)
    }
}

impl fmt::Display for PairTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.mode, self.url)?;
        if let Some(m) = &self.metrics {
            write!(f, ";metrics={m}")?;
        }
        for p in &self.pids {
            write!(f, ";pid={p}")?;
        }
        if let Some(p) = self.upstream_pid {
            write!(f, ";upstream-pid={p}")?;
        }
        if let Some(c) = &self.certs {
            write!(f, ";certs={}", c.display())?;
        }
        Ok(())
    }
}

/// The API-call model of one mode and API: `MODE:API:TTL_SECS` (a cache) or `MODE:API:every`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub mode: String,
    /// The API server resource counted: `tokenreviews` or `subjectaccessreviews`.
    pub api: String,
    /// Cache TTL as run, seconds; None = one call per request.
    pub ttl_secs: Option<f64>,
}

impl FromStr for ModelSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}`: expected MODE:API:TTL_SECS or MODE:API:every");
        let mut parts = text.split(':');
        let (Some(mode), Some(api), Some(ttl), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let ttl_secs = match ttl {
            "every" => None,
            t => Some(
                t.parse::<f64>()
                    .ok()
                    .filter(|v| *v > 0.0 && v.is_finite())
                    .ok_or_else(bad)?,
            ),
        };
        Ok(ModelSpec {
            mode: mode.to_string(),
            api: api.to_string(),
            ttl_secs,
        })
    }
}

impl fmt::Display for ModelSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ttl_secs {
            Some(t) => write!(f, "{}:{}:{t}", self.mode, self.api),
            None => write!(f, "{}:{}:every", self.mode, self.api),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_round_trip_through_their_flag() {
        let text = "mtls=https://127.0.0.1:8443;metrics=http://127.0.0.1:9;pid=42;certs=/tmp/pki";
        let pair: PairTarget = text.parse().unwrap();
        assert_eq!(pair.mode, "mtls");
        assert_eq!(pair.pids, vec![42]);
        assert_eq!(pair.to_string(), text);
        let proxied = "kube-rbac-proxy=https://127.0.0.1:8443;pid=7;pid=8;upstream-pid=9";
        let pair: PairTarget = proxied.parse().unwrap();
        assert_eq!((&pair.pids[..], pair.upstream_pid), (&[7, 8][..], Some(9)));
        assert_eq!(pair.to_string(), proxied);
        let bare: PairTarget = "none=http://h:1".parse().unwrap();
        assert_eq!((bare.metrics, bare.pids, bare.certs), (None, vec![], None));
        assert!("none".parse::<PairTarget>().is_err());
        assert!("none=http://h;pid=x".parse::<PairTarget>().is_err());
        assert!("none=http://h;upstream-pid=".parse::<PairTarget>().is_err());
        assert!("none=http://h;colour=red".parse::<PairTarget>().is_err());
    }

    #[test]
    fn models_round_trip_through_their_flag() {
        let m: ModelSpec = "cached:tokenreviews:5".parse().unwrap();
        assert_eq!(m.ttl_secs, Some(5.0));
        assert_eq!(m.to_string(), "cached:tokenreviews:5");
        let every: ModelSpec = "tokenreview:subjectaccessreviews:every".parse().unwrap();
        assert_eq!(every.ttl_secs, None);
        assert_eq!(every.to_string(), "tokenreview:subjectaccessreviews:every");
        for bad in [
            "cached:tokenreviews",
            "cached:tokenreviews:-1",
            "a:b:c:d",
            "a:b:NaN",
        ] {
            assert!(bad.parse::<ModelSpec>().is_err(), "{bad}");
        }
    }
}
