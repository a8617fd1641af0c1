//! gateway (being built; see the issue that owns src/gateway/).

pub mod cli;
