//! `x402-classifier run` stops on SIGTERM (what `kill`, systemd and container runtimes send), not
//! only on Ctrl-C: it finishes the step in progress and exits 0.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::pg::TestDb;

#[tokio::test]
async fn run_stops_cleanly_on_sigterm() {
    let db = TestDb::new().await;
    let url = db.url();
    let mut child = Command::new(env!("CARGO_BIN_EXE_x402-classifier"))
        .args(["--database-url", &url, "run", "--poll-ms", "100"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Let it start following (migrations applied, first steps taken).
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "the classifier exited before the signal"
    );
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("x402-classifier run ignored SIGTERM for 30 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut log = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut log).unwrap();
    assert!(status.success(), "exit status {status}; log:\n{log}");
    assert!(
        log.contains("stopping"),
        "no orderly stop in the log:\n{log}"
    );
}
