//! apiserver (being built; see the issue that owns src/apiserver/).

pub mod cli;
