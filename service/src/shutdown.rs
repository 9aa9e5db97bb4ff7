//! Graceful shutdown on SIGINT (Ctrl-C) or SIGTERM (`kill`, container stop), the same in every
//! process: the first signal asks the work to finish what it is doing, a second exits at once.

use tokio_util::sync::CancellationToken;

/// Resolves at the first SIGINT or SIGTERM.
pub async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            // Without a SIGTERM handler Ctrl-C still works.
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// A token cancelled at the first SIGINT or SIGTERM (logging `what` is being finished); a second
/// signal exits the process with status 130 without waiting.
pub fn cancel_on_signals(what: &'static str) -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        signal().await;
        tracing::info!("shutting down: finishing {what} (signal again to exit now)");
        cancel.cancel();
        signal().await;
        tracing::warn!("second signal: exiting now");
        std::process::exit(130);
    });
    token
}
