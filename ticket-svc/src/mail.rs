//! Outgoing e-mail through a mail outbox: a mail is a row committed with the write that asked
//! for it; the mailer sends it over SMTP and, while the server is unreachable, retries with
//! back-off. A mail server that is down delays mail; it never loses it.

use std::time::Duration;

use enneo_common::config::Invalid;
use enneo_common::jobs::{self, Backoff, Claimed, Outcome, Work, Worker};
use enneo_common::service_error::{Error, Result};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The `[mail]` configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// `smtp://host:25`, `smtp://user:pass@host:587?tls=required`, `smtps://host:465`.
    #[serde(rename = "smtp_url", serialize_with = "enneo_common::config::secret::serialize")]
    pub url: SecretString,
    /// The sender of every mail, e.g. `Support <support@example.com>`.
    pub from: String,
    /// First retry delay; doubles per attempt up to 10 minutes.
    #[serde(skip, default = "default_retry_base")]
    pub retry_base: Duration,
}

fn default_retry_base() -> Duration {
    Duration::from_secs(2)
}

impl Default for Config {
    fn default() -> Self {
        Self {
            url: SecretString::from("smtp://127.0.0.1:25"),
            from: "Enneo Mind <no-reply@localhost>".into(),
            retry_base: default_retry_base(),
        }
    }
}

impl Config {
    /// Refuses a sender or a server URL that no mail could go out with.
    pub fn validate(&self) -> std::result::Result<(), Invalid> {
        self.from.parse::<Mailbox>().map_err(|e| Invalid::new("mail.from", e))?;
        AsyncSmtpTransport::<Tokio1Executor>::from_url(self.url.expose_secret())
            .map_err(|e| Invalid::new("mail.smtp_url", e))?;
        Ok(())
    }
}

/// A mail to queue.
pub struct Outgoing<'a> {
    pub ticket_id: i64,
    pub purpose: &'static str,
    pub to: &'a [String],
    pub cc: &'a [String],
    pub bcc: &'a [String],
    pub subject: &'a str,
    pub html: &'a str,
    pub text: &'a str,
}

/// Rejects addresses a mail server would refuse, before anything is queued.
pub fn check_addresses(field: &str, addresses: &[String]) -> Result<()> {
    for address in addresses {
        address.parse::<Mailbox>().map_err(|_| {
            Error::InvalidArgument(format!("{field}: {address:?} is not an e-mail address"))
        })?;
    }
    Ok(())
}

/// Queues `mail` inside the caller's transaction.
pub async fn queue(conn: &mut PgConnection, settings: &Config, mail: Outgoing<'_>) -> Result<()> {
    if mail.to.is_empty() {
        return Err(Error::InvalidArgument("at least one recipient is required".into()));
    }
    check_addresses("to", mail.to)?;
    check_addresses("cc", mail.cc)?;
    check_addresses("bcc", mail.bcc)?;
    sqlx::query(
        "INSERT INTO ticket.mail_outbox \
         (ticket_id, purpose, sender, recipients, cc, bcc, subject, body_html, body_text) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(mail.ticket_id)
    .bind(mail.purpose)
    .bind(&settings.from)
    .bind(mail.to)
    .bind(mail.cc)
    .bind(mail.bcc)
    .bind(mail.subject)
    .bind(mail.html)
    .bind(mail.text)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    sender: String,
    recipients: Vec<String>,
    cc: Vec<String>,
    bcc: Vec<String>,
    subject: String,
    body_html: String,
    body_text: String,
    attempts: i32,
}

impl Claimed for Row {
    fn id(&self) -> i64 {
        self.id
    }

    fn attempts(&self) -> i32 {
        self.attempts
    }
}

pub struct Mailer {
    pub pool: PgPool,
    pub settings: Config,
    pub wake: std::sync::Arc<Notify>,
}

/// Retries of a mail the server did not take: `retry_base` doubling up to 10 minutes.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(600);

impl Mailer {
    pub async fn run(self, shutdown: CancellationToken) {
        let transport =
            match AsyncSmtpTransport::<Tokio1Executor>::from_url(self.settings.url.expose_secret())
            {
                Ok(builder) => builder.timeout(Some(Duration::from_secs(20))).build(),
                Err(err) => {
                    tracing::error!(%err, "mailer: invalid SMTP URL; mail stays queued");
                    return;
                }
            };
        let options = jobs::Options {
            retry: Backoff::new(self.settings.retry_base, MAX_RETRY_DELAY),
            ..Default::default()
        };
        Worker::new(self.pool, Sending { transport }, self.wake, options).run(shutdown).await;
    }
}

/// Sends the oldest due mail; its row stays locked while its SMTP dialogue runs, so several
/// replicas never send the same mail.
struct Sending {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl Work for Sending {
    type Item = Row;

    fn table(&self) -> &str {
        "ticket.mail_outbox"
    }

    async fn claim(&mut self, tx: &mut PgConnection, limit: i64) -> sqlx::Result<Vec<Row>> {
        sqlx::query_as(
            "SELECT id, sender, recipients, cc, bcc, subject, body_html, body_text, attempts \
             FROM ticket.mail_outbox \
             WHERE sent_at IS NULL AND failed_at IS NULL AND available_at <= now() \
             ORDER BY available_at, id LIMIT $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(limit)
        .fetch_all(tx)
        .await
    }

    async fn perform(&mut self, rows: &[Row]) -> anyhow::Result<Vec<Outcome>> {
        let mut outcomes = Vec::with_capacity(rows.len());
        for row in rows {
            outcomes.push(match deliver(&self.transport, row).await {
                Ok(()) => {
                    tracing::info!(mail_id = row.id, "mail sent");
                    Outcome::Done
                }
                Err(Failure::Permanent(error)) => Outcome::Failed(error),
                Err(Failure::Transient(error)) => Outcome::Retry(error),
            });
        }
        Ok(outcomes)
    }

    async fn done(&mut self, tx: &mut PgConnection, ids: &[i64]) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE ticket.mail_outbox SET sent_at = now(), last_error = NULL WHERE id = ANY($1)",
        )
        .bind(ids)
        .execute(tx)
        .await?;
        Ok(())
    }

    async fn failed(
        &mut self,
        tx: &mut PgConnection,
        failed: &[(i64, String)],
    ) -> sqlx::Result<()> {
        let (ids, errors): (Vec<i64>, Vec<String>) = failed.iter().cloned().unzip();
        sqlx::query(
            "UPDATE ticket.mail_outbox AS m SET failed_at = now(), last_error = f.error \
             FROM unnest($1::bigint[], $2::text[]) AS f(id, error) WHERE m.id = f.id",
        )
        .bind(ids)
        .bind(errors)
        .execute(tx)
        .await?;
        Ok(())
    }
}

enum Failure {
    Permanent(String),
    Transient(String),
}

async fn deliver(transport: &AsyncSmtpTransport<Tokio1Executor>, row: &Row) -> Result<(), Failure> {
    let permanent = |e: &dyn std::fmt::Display| Failure::Permanent(e.to_string());
    let mut builder = Message::builder()
        .from(row.sender.parse().map_err(|e| permanent(&e))?)
        .subject(&row.subject);
    for address in &row.recipients {
        builder = builder.to(address.parse().map_err(|e| permanent(&e))?);
    }
    for address in &row.cc {
        builder = builder.cc(address.parse().map_err(|e| permanent(&e))?);
    }
    for address in &row.bcc {
        builder = builder.bcc(address.parse().map_err(|e| permanent(&e))?);
    }
    let message = builder
        .multipart(MultiPart::alternative_plain_html(row.body_text.clone(), row.body_html.clone()))
        .map_err(|e| permanent(&e))?;
    transport.send(message).await.map(|_| ()).map_err(|e| {
        if e.is_permanent() {
            Failure::Permanent(e.to_string())
        } else {
            Failure::Transient(e.to_string())
        }
    })
}

/// `<`, `>`, `&` and quotes made safe for an HTML part (text or a quoted attribute).
pub fn escape_html(text: &str) -> String {
    html_escape::encode_quoted_attribute(text).into_owned()
}

pub use enneo_common::html::html_to_text;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_text_and_text_becomes_safe_html() {
        assert_eq!(html_to_text("<p>Hi &amp; bye</p><p>Tom</p>"), "Hi & bye\n\nTom");
        assert_eq!(
            escape_html("<b>\"x\" & 'y'</b>"),
            "&lt;b&gt;&quot;x&quot; &amp; &#x27;y&#x27;&lt;/b&gt;"
        );
    }

    #[test]
    fn pre_is_not_a_paragraph_and_styles_stay_out_of_the_text() {
        let html = "<html><head><style>p { color: red }</style></head><body>\
                    <p>Your reading:</p><pre>meter   87870\n  kWh</pre><script>track()</script>\
                    <p>Regards,<br>Support&nbsp;team</p></body></html>";
        assert_eq!(
            html_to_text(html),
            "Your reading:\n\nmeter   87870\n  kWh\n\nRegards,\nSupport team"
        );
        // A tag that merely starts with "p" is no paragraph.
        assert_eq!(html_to_text("a<param>b<pre>c</pre>d"), "ab\n\nc\n\nd");
    }

    #[test]
    fn links_keep_their_target() {
        assert_eq!(
            html_to_text(r#"See <a href="https://example.com/t/1">your ticket</a>."#),
            "See [your ticket][1].\n\n[1]: https://example.com/t/1"
        );
    }
}
