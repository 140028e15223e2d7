//! Event hooks with a `sourceCode` handler: settings-svc delivers the event here, and the
//! handler runs in the sandbox of agents' `sourceCode` executors, under the same operator
//! switch (`executors.source_code_enabled`), with the event envelope on stdin.

use enneo_common::service_error::{Error, Result};
use serde_json::Value;

use crate::executors::{self, Definition, Failure, source_code};

/// What the handler printed: its JSON, the text when it is not JSON, `null` when nothing.
pub async fn run(
    config: &executors::Config,
    executor_json: &str,
    event_json: &str,
) -> Result<Value> {
    let def: Definition = serde_json::from_str(executor_json)
        .map_err(|e| Error::InvalidArgument(format!("eventHookExecutor: {e}")))?;
    if def.ty != "sourceCode" {
        return Err(Error::InvalidArgument(format!(
            "eventHookExecutor type {:?} does not run here; sourceCode does",
            def.ty
        )));
    }
    let event: Value = serde_json::from_str(event_json)
        .map_err(|e| Error::InvalidArgument(format!("event is not JSON: {e}")))?;
    let printed = source_code::run_printing(&def, &event, config).await.map_err(|f| match f {
        Failure::Refused(why) | Failure::Failed(why) => Error::Unprocessable(why),
    })?;
    Ok(match printed.trim() {
        "" => Value::Null,
        text => source_code::printed_json(text).unwrap_or_else(|| Value::String(text.into())),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn enabled() -> executors::Config {
        executors::Config {
            source_code_enabled: true,
            source_code_network: true,
            source_code_timeout_ms: 5_000,
            ..executors::Config::default()
        }
    }

    fn executor(code: &str) -> String {
        json!({"type": "sourceCode", "language": "python311", "code": code}).to_string()
    }

    #[tokio::test]
    async fn the_handler_reads_the_event_and_its_output_comes_back() {
        let code =
            "import json, sys\ne = json.load(sys.stdin)\nprint(json.dumps({'seen': e['type']}))";
        let event = json!({"type": "TicketCreated", "payload": {}}).to_string();
        let out = run(&enabled(), &executor(code), &event).await.unwrap();
        assert_eq!(out, json!({"seen": "TicketCreated"}));

        let out = run(&enabled(), &executor("print('done')"), &event).await.unwrap();
        assert_eq!(out, json!("done"));
        let out = run(&enabled(), &executor("pass"), &event).await.unwrap();
        assert_eq!(out, Value::Null);
    }

    #[tokio::test]
    async fn a_disabled_sandbox_a_failing_handler_and_a_wrong_type_are_refused_with_a_reason() {
        let event = json!({"type": "TicketCreated"}).to_string();
        let err = run(&executors::Config::default(), &executor("pass"), &event).await.unwrap_err();
        assert!(err.to_string().contains("disabled"), "{err}");

        let err = run(&enabled(), &executor("import sys\nsys.exit(3)"), &event).await.unwrap_err();
        assert!(err.to_string().contains("exited with 3"), "{err}");

        let webhook = json!({"type": "webhook", "url": "https://example.com"}).to_string();
        let err = run(&enabled(), &webhook, &event).await.unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    }
}
