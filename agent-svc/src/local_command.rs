//! `POST /executor/localExecutionCommand`: what an admin runs on their own machine to execute
//! an agent's `sourceCode` executor with a ticket's real input — the code to save, the input
//! it would be given now, and the shell command joining them.
//!
//! The input is written with `printf '%s\n'` rather than `echo`: some shells' `echo` turns the
//! `\n` escapes inside JSON strings into real line breaks, which would no longer be JSON.

use chrono::Utc;
use enneo_common::auth::{Caller, permission};
use enneo_common::service_error::{Error, Result};
use enneo_proto::agent::v1 as pb;
use sqlx::PgPool;

use crate::agents::store as agents;
use crate::intents::run_error;
use crate::runner;
use crate::tickets::{TicketView, Tickets};

/// Executor languages a local Python 3 runs.
const PYTHON: &[&str] = &["python311", "python3", "python"];

pub struct LocalCommand<'a> {
    pub pool: &'a PgPool,
    pub tickets: &'a Tickets,
}

impl LocalCommand<'_> {
    pub async fn build(
        &self,
        caller: &Caller,
        agent_id: i64,
        ticket_id: i64,
    ) -> Result<pb::LocalExecutionCommandResponse> {
        caller.require(permission::PREVIEW_EXECUTORS)?;
        let agent = agents::get(&mut *self.pool.acquire().await?, agent_id).await?;
        let ticket = TicketView::from_proto(&self.tickets.get(ticket_id).await?);
        let today = Utc::now().date_naive();
        let found =
            runner::executor_input_for(&agent.document(), &ticket, today).map_err(run_error)?;
        let Some((def, input)) = found else {
            return Err(Error::NotImplemented(format!(
                "AI agent {agent_id} has no executor to run locally"
            )));
        };
        if def.is_api_call() {
            return Err(Error::NotImplemented(format!(
                "AI agent {agent_id} calls an API; only sourceCode executors run locally"
            )));
        }
        let language = def.language.clone().unwrap_or_else(|| "python311".into());
        if !PYTHON.contains(&language.as_str()) {
            return Err(Error::NotImplemented(format!(
                "{language} executors cannot run locally; only python311"
            )));
        }
        let file_name = format!("agent_{agent_id}.py");
        let input_json = input.to_string();
        Ok(pb::LocalExecutionCommandResponse {
            command: command(&input_json, &file_name),
            input_json,
            code: def.code,
            file_name,
            language,
        })
    }
}

/// `printf '%s\n' '<input>' | python3 <file>`, safe to paste into a POSIX shell.
pub fn command(input_json: &str, file_name: &str) -> String {
    format!("printf '%s\\n' {} | python3 {}", quote(input_json), quote(file_name))
}

/// `text` as one single-quoted shell word: a `'` inside closes the quote, adds an escaped
/// quote and opens it again.
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_quotes_are_closed_escaped_and_reopened() {
        assert_eq!(quote("plain"), "'plain'");
        assert_eq!(quote("O'Brien"), r"'O'\''Brien'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn the_command_pipes_the_input_unchanged_into_the_script() {
        let input = r#"{"name":"O'Brien","note":"a\nb $HOME `id`"}"#;
        let cmd = command(input, "agent_7.py");
        assert_eq!(
            cmd,
            r#"printf '%s\n' '{"name":"O'\''Brien","note":"a\nb $HOME `id`"}' | python3 'agent_7.py'"#
        );
        // What a POSIX shell makes of it: the exact input, nothing expanded.
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd.replace("| python3 'agent_7.py'", ""))
            .output()
            .expect("a POSIX shell");
        assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{input}\n"));
    }
}
