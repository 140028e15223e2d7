//! `sourceCode` executors: the agent's Python, run as a subprocess that reads the input JSON on
//! stdin and prints one Interaction JSON on stdout (debug output goes to stderr).
//!
//! The code is tenant-written, so it runs only when the operator enabled it, in isolated mode
//! (`python3 -I`: no user site, no environment), with an empty environment, a fresh working
//! directory, an address-space and CPU limit (`prlimit`), a wall-time limit after which it is
//! killed, and, unless the network is allowed, in a network namespace of its own
//! (`unshare -rn`), so it reaches nothing. Without `unshare` support it does not run at all
//! rather than run with the network.

use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::{Config, Definition, Failure, Output};

/// Bytes of stdout read at most: an Interaction is small.
const MAX_STDOUT: u64 = 1 << 20;

pub async fn run(def: &Definition, input: &Value, config: &Config) -> Result<Output, Failure> {
    let text = run_printing(def, input, config).await?;
    let value = printed_json(&text).ok_or_else(|| {
        Failure::Failed(format!("the executor printed no JSON: {}", tail(&text, 200)))
    })?;
    Output::from_json(value).map_err(Failure::Failed)
}

/// Runs the code in the same sandbox as [`run`] and answers what it printed on stdout, for
/// handlers whose answer is not an Interaction (event hooks).
pub async fn run_printing(
    def: &Definition,
    input: &Value,
    config: &Config,
) -> Result<String, Failure> {
    if !config.source_code_enabled {
        return Err(Failure::Refused(
            "sourceCode executors are disabled (executors.source_code_enabled)".into(),
        ));
    }
    match def.language.as_deref() {
        None | Some("python311") | Some("python") | Some("python3") => {}
        Some(other) => {
            return Err(Failure::Refused(format!(
                "{other} executors are not supported here; use python311"
            )));
        }
    }
    if !config.source_code_network && !network_isolation_works() {
        return Err(Failure::Refused(
            "cannot cut the executor off the network (unshare -rn fails here); \
             allow executors.source_code_network to run it anyway"
                .into(),
        ));
    }
    let dir =
        std::env::temp_dir().join(format!("enneo-executor-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).map_err(|e| Failure::Failed(format!("work directory: {e}")))?;
    let result = run_in(&dir, def, input, config).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run_in(
    dir: &std::path::Path,
    def: &Definition,
    input: &Value,
    config: &Config,
) -> Result<String, Failure> {
    let script = dir.join("main.py");
    std::fs::write(&script, &def.code)
        .map_err(|e| Failure::Failed(format!("writing the code: {e}")))?;
    let wall = Duration::from_millis(config.source_code_timeout_ms);
    let mut argv: Vec<String> = Vec::new();
    if !config.source_code_network {
        argv.extend(["unshare".into(), "-rn".into()]);
    }
    argv.extend([
        "prlimit".into(),
        format!("--as={}", config.source_code_memory_mb * 1024 * 1024),
        format!("--cpu={}", wall.as_secs().max(1)),
        format!("--fsize={}", 16 * 1024 * 1024),
        "--".into(),
        config.python.clone(),
        "-I".into(),
        "-B".into(),
        script.display().to_string(),
    ]);
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", dir)
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Failure::Failed(format!("starting {}: {e}", argv[0])))?;
    let mut stdin = child.stdin.take().ok_or_else(|| Failure::Failed("no stdin".into()))?;
    let payload = input.to_string();
    let mut stdout = child.stdout.take().ok_or_else(|| Failure::Failed("no stdout".into()))?;
    let mut stderr = child.stderr.take().ok_or_else(|| Failure::Failed("no stderr".into()))?;
    let work = async {
        // The code may not read its input at all; a closed pipe is not our failure.
        let _ = stdin.write_all(payload.as_bytes()).await;
        drop(stdin);
        let mut out = Vec::new();
        let mut err = Vec::new();
        let mut stdout = (&mut stdout).take(MAX_STDOUT);
        let mut stderr = (&mut stderr).take(64 * 1024);
        let (o, e) = tokio::join!(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
        o.map_err(|e| Failure::Failed(e.to_string()))?;
        e.map_err(|e| Failure::Failed(e.to_string()))?;
        let status = child.wait().await.map_err(|e| Failure::Failed(e.to_string()))?;
        Ok::<_, Failure>((status, out, err))
    };
    let (status, out, err) = match tokio::time::timeout(wall, work).await {
        Ok(result) => result?,
        Err(_) => {
            return Err(Failure::Failed(format!(
                "the executor ran longer than {} s and was stopped",
                wall.as_secs()
            )));
        }
    };
    if !status.success() {
        let tail = tail(&String::from_utf8_lossy(&err), 500);
        return Err(Failure::Failed(match status.code() {
            Some(code) => format!("the executor exited with {code}: {tail}"),
            None => format!("the executor was killed (memory or CPU limit): {tail}"),
        }));
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// The JSON a run printed: all of stdout, or else its last non-empty line (code may print
/// progress before its answer).
pub fn printed_json(text: &str) -> Option<Value> {
    serde_json::from_str::<Value>(text.trim()).ok().or_else(|| {
        let last = text.lines().rev().find(|l| !l.trim().is_empty())?;
        serde_json::from_str::<Value>(last.trim()).ok()
    })
}

fn tail(text: &str, max: usize) -> String {
    let chars: Vec<char> = text.trim().chars().collect();
    chars[chars.len().saturating_sub(max)..].iter().collect()
}

/// Whether `unshare -rn` works on this host (user namespaces allowed), checked once.
fn network_isolation_works() -> bool {
    static WORKS: OnceLock<bool> = OnceLock::new();
    *WORKS.get_or_init(|| {
        std::process::Command::new("unshare")
            .args(["-rn", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn enabled() -> Config {
        Config { source_code_enabled: true, source_code_timeout_ms: 5_000, ..Config::default() }
    }

    fn def(code: &str) -> Definition {
        serde_json::from_value(json!({"type": "sourceCode", "language": "python311", "code": code}))
            .unwrap()
    }

    #[tokio::test]
    async fn code_reads_its_input_and_answers_an_interaction() {
        let code = "import json, sys\ninp = json.load(sys.stdin)\nprint('debug', file=sys.stderr)\n\
                    print(json.dumps({'infos': [{'type': 'success', 'message': 'ok ' + inp['x']}], 'data': {'y': 2}}))";
        let out = run(&def(code), &json!({"x": "7"}), &enabled()).await.unwrap();
        assert_eq!(out.infos[0].message, "ok 7");
        assert_eq!(out.data["y"], json!(2));
    }

    #[tokio::test]
    async fn disabled_failing_slow_hungry_and_networked_code_is_stopped_with_a_reason() {
        let err = run(&def("print('{}')"), &json!({}), &Config::default()).await.unwrap_err();
        assert!(err.to_string().contains("disabled"), "{err}");

        let err = run(
            &def("import sys\nprint('boom', file=sys.stderr)\nsys.exit(1)"),
            &json!({}),
            &enabled(),
        )
        .await
        .unwrap_err();
        assert!(
            err.to_string().contains("exited with 1") && err.to_string().contains("boom"),
            "{err}"
        );

        let config = Config { source_code_timeout_ms: 1_000, ..enabled() };
        let started = std::time::Instant::now();
        let err = run(&def("import time\ntime.sleep(30)"), &json!({}), &config).await.unwrap_err();
        assert!(err.to_string().contains("longer than"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));

        let err = run(&def("x = bytearray(2 * 1024 ** 3)\nprint('{}')"), &json!({}), &enabled())
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("MemoryError") || err.to_string().contains("killed"),
            "{err}"
        );

        let code = "import json, socket\ns = socket.socket()\ns.settimeout(2)\n\
                    print(json.dumps({'data': {'connect': s.connect_ex(('127.0.0.1', 5432))}}))";
        if network_isolation_works() {
            let out = run(&def(code), &json!({}), &enabled()).await.unwrap();
            assert_ne!(out.data["connect"], json!(0), "the executor reached the network");
        }

        let err = run(&def("print('not json')"), &json!({}), &enabled()).await.unwrap_err();
        assert!(err.to_string().contains("no JSON"), "{err}");
        let node = serde_json::from_value::<Definition>(json!({"language": "node20", "code": ""}))
            .unwrap();
        assert!(run(&node, &json!({}), &enabled()).await.is_err());
    }
}
