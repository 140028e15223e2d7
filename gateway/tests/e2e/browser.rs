//! Pages in a real browser: Debian's headless Chromium (deploy/test.sh installs it; another
//! binary through ENNEO_TEST_CHROMIUM), started as a process per call with a fresh profile and
//! the flags that keep it off the network.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

fn chromium() -> String {
    std::env::var("ENNEO_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// Runs Chromium headless on `url` with `extra` arguments, a profile of its own and a budget of
/// virtual time for the page's scripts.
async fn run(url: &str, extra: &[String]) -> Output {
    let profile = tempfile::tempdir().expect("a profile directory");
    let mut command = tokio::process::Command::new(chromium());
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(90), command.output())
        .await
        .expect("chromium finishes within 90 s")
        .unwrap_or_else(|e| panic!("chromium ({}) could not start: {e}", chromium()));
    assert!(
        output.status.success(),
        "chromium failed on {url}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The page's DOM after its scripts ran, serialised as HTML.
pub async fn rendered_dom(url: &str) -> String {
    String::from_utf8(run(url, &["--dump-dom".into()]).await.stdout).expect("UTF-8 DOM")
}

/// A PNG screenshot of the page (`width` × `height` CSS pixels) written to `dir`; returns its path.
pub async fn screenshot(url: &str, dir: &Path, width: u32, height: u32) -> PathBuf {
    let path = dir.join("page.png");
    run(
        url,
        &[
            format!("--screenshot={}", path.display()),
            format!("--window-size={width},{height}"),
            "--hide-scrollbars".into(),
        ],
    )
    .await;
    let bytes = std::fs::read(&path).expect("chromium wrote the screenshot");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "the screenshot is a PNG");
    path
}
