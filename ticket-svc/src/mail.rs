//! Outgoing e-mail through a mail outbox: a mail is a row committed with the write that asked
//! for it; the mailer sends it over SMTP and, while the server is unreachable, retries with
//! back-off. A mail server that is down delays mail; it never loses it.

use std::time::Duration;

use chrono::Utc;
use enneo_common::config::Invalid;
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

pub struct Mailer {
    pub pool: PgPool,
    pub settings: Config,
    pub wake: std::sync::Arc<Notify>,
}

const IDLE_POLL: Duration = Duration::from_secs(1);

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
        loop {
            let sent = match self.send_one(&transport).await {
                Ok(sent) => sent,
                Err(err) => {
                    tracing::warn!(%err, "mailer: database unavailable");
                    false
                }
            };
            if sent {
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(IDLE_POLL) => {}
            }
        }
    }

    /// Sends the oldest due mail, if any. The row stays locked while its SMTP dialogue runs,
    /// so several replicas never send the same mail.
    async fn send_one(&self, transport: &AsyncSmtpTransport<Tokio1Executor>) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let row: Option<Row> = sqlx::query_as(
            "SELECT id, sender, recipients, cc, bcc, subject, body_html, body_text, attempts \
             FROM ticket.mail_outbox \
             WHERE sent_at IS NULL AND failed_at IS NULL AND available_at <= now() \
             ORDER BY available_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        match deliver(transport, &row).await {
            Ok(()) => {
                sqlx::query("UPDATE ticket.mail_outbox SET sent_at = now(), last_error = NULL WHERE id = $1")
                    .bind(row.id)
                    .execute(&mut *tx)
                    .await?;
                tracing::info!(mail_id = row.id, "mail sent");
            }
            Err(Failure::Permanent(error)) => {
                tracing::warn!(mail_id = row.id, %error, "mail refused for good");
                sqlx::query("UPDATE ticket.mail_outbox SET failed_at = now(), last_error = $2 WHERE id = $1")
                    .bind(row.id)
                    .bind(&error)
                    .execute(&mut *tx)
                    .await?;
            }
            Err(Failure::Transient(error)) => {
                let delay = retry_delay(self.settings.retry_base, row.attempts);
                tracing::warn!(mail_id = row.id, %error, retry_in_s = delay.as_secs(), "mail not sent; will retry");
                sqlx::query(
                    "UPDATE ticket.mail_outbox SET attempts = attempts + 1, last_error = $2, \
                     available_at = $3 WHERE id = $1",
                )
                .bind(row.id)
                .bind(&error)
                .bind(Utc::now() + delay)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(true)
    }
}

enum Failure {
    Permanent(String),
    Transient(String),
}

fn retry_delay(base: Duration, attempts: i32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.clamp(0, 16) as u32);
    base.saturating_mul(factor).min(Duration::from_secs(600))
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

/// `<`, `>`, `&` and quotes made safe for an HTML part.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A plain-text rendering of an HTML body for the text part: tags dropped, paragraphs and
/// line breaks kept, the common entities decoded.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            rest = &rest[start..];
            break;
        };
        let tag = rest[start + 1..start + end].trim_start_matches('/').to_ascii_lowercase();
        if tag.starts_with("br") || tag.starts_with('p') || tag.starts_with("div") {
            out.push('\n');
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_text_and_text_becomes_safe_html() {
        assert_eq!(html_to_text("<p>Hi &amp; bye</p><p>Tom</p>"), "Hi & bye\n\nTom");
        assert_eq!(
            escape_html("<b>\"x\" & 'y'</b>"),
            "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;"
        );
    }

    #[test]
    fn retries_back_off_and_cap() {
        let base = Duration::from_secs(2);
        assert_eq!(retry_delay(base, 0), Duration::from_secs(2));
        assert_eq!(retry_delay(base, 3), Duration::from_secs(16));
        assert_eq!(retry_delay(base, 40), Duration::from_secs(600));
    }
}
