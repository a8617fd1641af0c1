//! The connection-limit flags both servers take (`gatebench gateway`, `gatebench apiserver`).

use std::time::Duration;

use super::Limits;
use crate::duration::parse_duration;

/// Flags that fill [`Limits`]; defaults are `Limits::default()`'s.
#[derive(Debug, Clone, clap::Args)]
pub struct LimitFlags {
    /// Open connections at most; beyond it clients wait in the kernel backlog.
    #[arg(long, default_value_t = 10_000)]
    pub max_connections: usize,
    /// TLS handshake, first byte, HTTP/2 preface and HTTP/1 head must arrive within this.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: Duration,
    /// A request body must arrive whole within this of its head (also the drain after a rejection).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub body_read_timeout: Duration,
    /// Close connections with no request in flight for this long.
    #[arg(long, default_value = "90s", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// Close every connection (gracefully) this long after it was accepted; default never.
    #[arg(long, value_parser = parse_duration)]
    pub max_connection_age: Option<Duration>,
    /// HTTP/2 keep-alive ping interval (0 = no pings).
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub h2_keepalive_interval: Duration,
    /// Close an HTTP/2 connection whose ping is not answered within this.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub h2_keepalive_timeout: Duration,
    #[arg(long, default_value_t = 64)]
    pub h2_max_concurrent_streams: u32,
    /// Largest request head / header list in bytes (at least 8192); larger ones get 431.
    #[arg(long, default_value_t = 16 * 1024)]
    pub max_header_bytes: usize,
}

impl LimitFlags {
    /// The limits these flags describe, checked.
    pub fn to_limits(&self) -> Result<Limits, String> {
        let limits = Limits {
            max_connections: self.max_connections,
            header_read_timeout: self.header_read_timeout,
            body_read_timeout: self.body_read_timeout,
            idle_timeout: self.idle_timeout,
            max_connection_age: self.max_connection_age,
            h2_keepalive_interval: Some(self.h2_keepalive_interval).filter(|d| !d.is_zero()),
            h2_keepalive_timeout: self.h2_keepalive_timeout,
            h2_max_concurrent_streams: self.h2_max_concurrent_streams,
            max_header_bytes: self.max_header_bytes,
            ..Limits::default()
        };
        limits.validate()?;
        Ok(limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        limits: LimitFlags,
    }

    #[test]
    fn defaults_match_limits_default() {
        let cli = Cli::parse_from(["x"]);
        assert_eq!(cli.limits.to_limits().unwrap(), Limits::default());
        let cli = Cli::parse_from([
            "x",
            "--max-connection-age",
            "5m",
            "--max-header-bytes",
            "100",
        ]);
        assert!(cli.limits.to_limits().is_err());
    }
}
