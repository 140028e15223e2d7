//! Stamps the build with its git commit and date for `GET /api/mind/version`.
//!
//! `ENNEO_GIT_COMMIT` / `ENNEO_BUILD_DATE` override (container builds have no `.git`; there
//! `ENNEO_GIT_COMMIT=unknown` says so on purpose). Without an override the commit comes from
//! git and the date from the clock; when either cannot be told, or an override is not a commit
//! hash or a UTC timestamp, the build fails instead of stamping a made-up value.

use std::process::Command;

fn main() {
    let commit = commit(env("ENNEO_GIT_COMMIT"), || git(&["rev-parse", "--short=12", "HEAD"]));
    let date = build_date(env("ENNEO_BUILD_DATE"), || {
        output(Command::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%SZ"]))
    });
    let (commit, date) = match (commit, date) {
        (Ok(commit), Ok(date)) => (commit, date),
        (Err(e), _) | (_, Err(e)) => panic!("{e}"),
    };
    println!("cargo:rustc-env=ENNEO_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=ENNEO_BUILD_DATE={date}");
    println!("cargo:rerun-if-env-changed=ENNEO_GIT_COMMIT");
    println!("cargo:rerun-if-env-changed=ENNEO_BUILD_DATE");
    // Re-stamp when HEAD moves: HEAD itself (detached), the branch it names, packed refs. In a
    // worktree these live apart; git says where.
    let branch = git(&["rev-parse", "--symbolic-full-name", "HEAD"]).filter(|b| b != "HEAD");
    for path in ["HEAD", "packed-refs"].into_iter().map(str::to_owned).chain(branch) {
        if let Some(path) = git(&["rev-parse", "--git-path", &path]) {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}

/// The commit to stamp: the override if given, else what git says HEAD is.
fn commit(
    overridden: Option<String>,
    from_git: impl FnOnce() -> Option<String>,
) -> Result<String, String> {
    if let Some(commit) = overridden {
        return if commit == "unknown" || is_commit_hash(&commit) {
            Ok(commit)
        } else {
            Err(format!("ENNEO_GIT_COMMIT={commit:?} is neither a commit hash nor \"unknown\""))
        };
    }
    match from_git() {
        Some(commit) if is_commit_hash(&commit) => Ok(commit),
        Some(other) => Err(format!("git named HEAD {other:?}, which is not a commit hash")),
        None => Err("not a git checkout (or git is missing): set ENNEO_GIT_COMMIT to the \
                     commit hash, or to \"unknown\""
            .into()),
    }
}

/// The build date to stamp, `YYYY-MM-DDTHH:MM:SSZ`: the override if given, else the clock.
fn build_date(
    overridden: Option<String>,
    from_clock: impl FnOnce() -> Option<String>,
) -> Result<String, String> {
    let (date, source) = match overridden {
        Some(date) => (Some(date), "ENNEO_BUILD_DATE"),
        None => (from_clock(), "date -u"),
    };
    match date {
        Some(date) if is_utc_timestamp(&date) => Ok(date),
        Some(date) => Err(format!("{source} gave {date:?}, not YYYY-MM-DDTHH:MM:SSZ")),
        None => {
            Err("the build date cannot be read (`date -u` failed): set ENNEO_BUILD_DATE".into())
        }
    }
}

fn is_commit_hash(s: &str) -> bool {
    (7..=40).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn is_utc_timestamp(s: &str) -> bool {
    s.len() == 20
        && s.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            19 => b == b'Z',
            _ => b.is_ascii_digit(),
        })
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn git(args: &[&str]) -> Option<String> {
    output(Command::new("git").args(args))
}

fn output(command: &mut Command) -> Option<String> {
    let out = command.output().ok().filter(|o| o.status.success())?;
    String::from_utf8(out.stdout).ok().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_is_a_hash_or_a_deliberate_unknown() {
        let git = || Some("0123456789ab".to_owned());
        assert_eq!(commit(None, git).unwrap(), "0123456789ab");
        assert_eq!(commit(Some("unknown".into()), git).unwrap(), "unknown");
        assert_eq!(commit(Some("deadbeef".into()), || None).unwrap(), "deadbeef");
        assert!(commit(None, || None).is_err(), "no git and no override must fail");
        assert!(commit(None, || Some("fatal: not a repo".into())).is_err());
        assert!(commit(Some("v1.2".into()), git).is_err());
        assert!(commit(Some("ABC123".into()), git).is_err());
    }

    #[test]
    fn a_build_date_is_a_utc_timestamp() {
        let clock = || Some("2026-03-04T05:06:07Z".to_owned());
        assert_eq!(build_date(None, clock).unwrap(), "2026-03-04T05:06:07Z");
        assert!(build_date(None, || None).is_err(), "no clock and no override must fail");
        assert!(build_date(Some("unknown".into()), clock).is_err());
        assert!(build_date(Some("2026-03-04".into()), clock).is_err());
        assert!(build_date(None, || Some("Tue Mar  4 05:06:07 UTC 2026".into())).is_err());
    }
}
