//! The statistics of a measurement, in one place: paired costs over the no-auth floor with
//! bootstrap intervals (`paired`), and the API-call model that predicts and projects the calls a
//! cache makes (`api_model`). Pure functions, tested on synthetic data whose answer is known.

pub mod api_model;
pub mod bootstrap;
pub mod paired;

pub use crate::results::Estimate;
