//! Stamps the build with its git commit and date for `GET /api/mind/version`.
//! `ENNEO_GIT_COMMIT` / `ENNEO_BUILD_DATE` override (container builds have no `.git`).

use std::process::Command;

fn main() {
    let commit =
        std::env::var("ENNEO_GIT_COMMIT").ok().filter(|c| !c.is_empty()).unwrap_or_else(|| {
            Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .map(|s| s.trim().to_owned())
                .unwrap_or_else(|| "unknown".into())
        });
    let date =
        std::env::var("ENNEO_BUILD_DATE").ok().filter(|d| !d.is_empty()).unwrap_or_else(|| {
            Command::new("date")
                .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
                .output()
                .ok()
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .map(|s| s.trim().to_owned())
                .unwrap_or_else(|| "unknown".into())
        });
    println!("cargo:rustc-env=ENNEO_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=ENNEO_BUILD_DATE={date}");
    println!("cargo:rerun-if-env-changed=ENNEO_GIT_COMMIT");
    println!("cargo:rerun-if-env-changed=ENNEO_BUILD_DATE");
    println!("cargo:rerun-if-changed=../.git/HEAD");
    println!("cargo:rerun-if-changed=../.git/refs/heads");
}
