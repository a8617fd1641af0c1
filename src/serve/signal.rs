//! SIGTERM / Ctrl-C for both CLIs, registered before the caller announces it is listening.

use std::future::Future;

use tokio::signal::unix::{SignalKind, signal};

/// Registers the handlers now (a supervisor may signal as soon as it reads the listening line) and
/// returns a future that completes on the first SIGTERM or SIGINT.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}
