//! A small reader for the Prometheus text exposition format, used to scrape API-call and cache counters.

use std::collections::BTreeMap;

/// One sample line: metric name, labels and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed scrape.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scrape {
    pub samples: Vec<Sample>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("line {line}: {reason}")]
    Malformed { line: usize, reason: &'static str },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Scrape {
    /// Parses a text exposition. Comment and blank lines are skipped; timestamps are ignored.
    pub fn parse(text: &str) -> Result<Self> {
        let mut samples = Vec::new();
        for (idx, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            samples.push(parse_line(line).map_err(|reason| Error::Malformed {
                line: idx + 1,
                reason,
            })?);
        }
        Ok(Scrape { samples })
    }

    /// Sum of every sample named `name` whose labels include all of `matchers`.
    pub fn sum(&self, name: &str, matchers: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.name == name && matches(s, matchers))
            .map(|s| s.value)
            .sum()
    }

    /// Samples named `name` whose labels include all of `matchers`.
    pub fn select<'a>(
        &'a self,
        name: &'a str,
        matchers: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples
            .iter()
            .filter(move |s| s.name == name && matches(s, matchers))
    }
}

fn matches(sample: &Sample, matchers: &[(&str, &str)]) -> bool {
    matchers
        .iter()
        .all(|(k, v)| sample.labels.get(*k).map(String::as_str) == Some(*v))
}

fn parse_line(line: &str) -> std::result::Result<Sample, &'static str> {
    let (name, rest) = match line.find(['{', ' ']) {
        Some(i) => line.split_at(i),
        None => return Err("no value"),
    };
    if !is_name(name, true) {
        return Err("metric name is not [a-zA-Z_:][a-zA-Z0-9_:]*");
    }
    let mut labels = BTreeMap::new();
    let rest = if let Some(body) = rest.strip_prefix('{') {
        let end = find_label_end(body).ok_or("unterminated label set")?;
        parse_labels(&body[..end], &mut labels)?;
        &body[end + 1..]
    } else {
        rest
    };
    let value_str = rest.split_whitespace().next().ok_or("no value")?;
    let value = match value_str {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().map_err(|_| "value is not a number")?,
    };
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// The exposition format's metric names (`colon` allowed) and label names.
fn is_name(name: &str, colon: bool) -> bool {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':');
    name.chars()
        .next()
        .is_some_and(|c| ok(c) && !c.is_ascii_digit())
        && name.chars().all(ok)
}

/// Index of the closing `}` that is not inside a quoted label value.
fn find_label_end(body: &str) -> Option<usize> {
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '}' if !in_quotes => return Some(i),
            _ => {}
        }
    }
    None
}

fn parse_labels(
    mut s: &str,
    out: &mut BTreeMap<String, String>,
) -> std::result::Result<(), &'static str> {
    loop {
        s = s.trim_start_matches([',', ' ']);
        if s.is_empty() {
            return Ok(());
        }
        let eq = s.find('=').ok_or("label without '='")?;
        let key = s[..eq].trim().to_string();
        if !is_name(&key, false) {
            return Err("label name is not [a-zA-Z_][a-zA-Z0-9_]*");
        }
        let after = s[eq + 1..]
            .strip_prefix('"')
            .ok_or("label value not quoted")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => return Err("dangling escape"),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => return Err("unterminated label value"),
            }
        };
        out.insert(key, value);
        s = &after[end + 1..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP apiserver_request_total Counter of apiserver requests.
# TYPE apiserver_request_total counter
apiserver_request_total{verb="POST",resource="tokenreviews",subresource="",code="201"} 7
apiserver_request_total{verb="POST",resource="subjectaccessreviews",subresource="",code="201"} 3
apiserver_request_total{verb="POST",resource="tokenreviews",subresource="",code="429"} 2
gatebench_weird{path="a\"b}c"} 1.5e3 1700000000
up 1
"#;

    #[test]
    fn sums_with_label_matchers() {
        let s = Scrape::parse(TEXT).unwrap();
        assert_eq!(
            s.sum("apiserver_request_total", &[("resource", "tokenreviews")]),
            9.0
        );
        assert_eq!(
            s.sum(
                "apiserver_request_total",
                &[("resource", "tokenreviews"), ("code", "201")]
            ),
            7.0
        );
        assert_eq!(
            s.sum("apiserver_request_total", &[("resource", "pods")]),
            0.0
        );
        assert_eq!(s.sum("up", &[]), 1.0);
    }

    #[test]
    fn handles_escaped_braces_and_timestamps() {
        let s = Scrape::parse(TEXT).unwrap();
        let weird = s.select("gatebench_weird", &[]).next().unwrap();
        assert_eq!(weird.labels["path"], "a\"b}c");
        assert_eq!(weird.value, 1500.0);
    }

    #[test]
    fn rejects_garbage() {
        assert!(Scrape::parse("metric{a=\"1\" 3").is_err());
        assert!(Scrape::parse("metric notanumber").is_err());
    }

    #[test]
    fn names_must_be_names() {
        // Found by the promtext fuzz target: a line with a label set and no metric name was a
        // sample named "".
        let found = include_bytes!("../fuzz/seeds/promtext/regression-empty-name");
        assert!(Scrape::parse(std::str::from_utf8(found).unwrap()).is_err());
        assert!(Scrape::parse("{a=\"1\"} 1").is_err());
        assert!(Scrape::parse("1up 1").is_err());
        assert!(Scrape::parse("m{a b=\"1\"} 1").is_err());
        assert!(Scrape::parse("ns:metric_total{le=\"0.5\"} 1").is_ok());
    }
}
