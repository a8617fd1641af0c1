//! decide (being built; see the issue that owns src/decide/).

pub mod cli;
