//! Notification emails: one template per kind rendered as a plain-text and an HTML body, sent
//! over SMTP (`lettre`) by the `email` tube's workers. Sent once per notification: the
//! notification id is the idempotency key (recorded in the store right after the server took
//! the mail, checked before sending, and the mail's `Message-ID`, so a receiver can drop the
//! copy that a node dying in the instant between the two would cause).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use client_protocol::{Notification, NotificationKind};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::EmailJob;
use crate::config::Config;
use crate::domain::now_ms;
use crate::jobs::worker::{Failure, Handler};
use crate::jobs::Reserved;
use crate::store::Store;
use crate::telemetry::names;

/// How long one SMTP conversation may take (connect, send, quit): well inside the job's TTR.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("ROOKERY_SMTP_URL is not a usable SMTP URL: {0}")]
    Url(String),
    #[error("ROOKERY_MAIL_FROM is not a mailbox (`Name <address>` or an address): {0}")]
    From(String),
}

/// An SMTP transport and the sender.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// The mailer the config asks for; None without `ROOKERY_SMTP_URL`.
    pub fn from_config(config: &Config) -> Result<Option<Mailer>, MailError> {
        let Some(url) = &config.smtp_url else {
            return Ok(None);
        };
        let from: Mailbox = config
            .mail_from
            .parse()
            .map_err(|e: lettre::address::AddressError| MailError::From(e.to_string()))?;
        // The URL may hold credentials: its error is described, the URL never printed.
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
            .map_err(|e| MailError::Url(e.to_string()))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(Some(Mailer { transport, from }))
    }

    /// The mail for `notification`, to `to`.
    pub fn render(&self, to: Mailbox, notification: &Notification) -> Result<Message, String> {
        let mail = Template::of(notification.kind).fill(notification);
        let domain = self.from.email.domain().to_owned();
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject)
            .message_id(Some(format!("<{}@{domain}>", notification.id)))
            .multipart(MultiPart::alternative_plain_html(mail.plain, mail.html))
            .map_err(|e| e.to_string())
    }

    /// Sends one mail. A refusal the server calls permanent (5xx) is [`Failure::Fatal`];
    /// anything else (down, timeout, 4xx) may pass.
    async fn send(&self, message: Message) -> Result<(), Failure> {
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(Failure::Fatal(format!("smtp refused: {e}"))),
            Err(e) => Err(Failure::Retry(format!("smtp: {e}"))),
        }
    }
}

/// What a mail says, per kind: a subject and a heading around the notification's own text.
struct Template {
    subject: &'static str,
    heading: &'static str,
}

/// A rendered mail.
struct Mail {
    subject: String,
    plain: String,
    html: String,
}

impl Template {
    fn of(kind: NotificationKind) -> Template {
        let (subject, heading) = match kind {
            NotificationKind::TournamentStarting => (
                "Your tournament is starting",
                "A tournament you joined starts soon",
            ),
            NotificationKind::RegistrationChanged => (
                "Your tournament registration changed",
                "An organiser changed your registration",
            ),
            NotificationKind::GameFinished => (
                "Your game has ended",
                "A game of yours ended while you were away",
            ),
            NotificationKind::Playban => (
                "You cannot queue for a while",
                "Matchmaking is paused for your account",
            ),
            NotificationKind::Account => ("Your account changed", "News about your account"),
            NotificationKind::CheatFlagged => (
                "An account was flagged",
                "Anti-cheat flagged an account for review",
            ),
        };
        Template { subject, heading }
    }

    /// Both bodies from the one template: the HTML one escapes what the plain one prints.
    fn fill(&self, notification: &Notification) -> Mail {
        let details: Vec<String> = notification
            .data
            .iter()
            .map(|(key, value)| format!("{key}: {value}"))
            .collect();
        let footer = "You get this because your rookery account has an email address; \
                      remove it in your profile to stop these.";
        let plain = format!(
            "{}\n\n{}\n\n{}\n-- \n{footer}\n",
            self.heading,
            notification.text,
            details.join("\n")
        );
        let items: String = details
            .iter()
            .map(|d| format!("<li>{}</li>", escape(d)))
            .collect();
        let html = format!(
            "<!doctype html><html><body><h2>{}</h2><p>{}</p><ul>{items}</ul><hr><p><small>{}</small></p></body></html>",
            escape(self.heading),
            escape(&notification.text),
            escape(footer)
        );
        Mail {
            subject: format!("rookery: {}", self.subject),
            plain,
            html,
        }
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The `email` tube's handler: one job, one mail, sent at most once per notification.
pub struct EmailHandler {
    mailer: Mailer,
    store: Arc<dyn Store>,
    /// Fault injection (`ROOKERY_FAILPOINTS=email.sent=pause`): stop for good after a mail
    /// was sent and recorded, before its job is deleted, as a node killed there would.
    pause_after_send: bool,
}

impl EmailHandler {
    pub fn new(mailer: Mailer, store: Arc<dyn Store>, config: &Config) -> EmailHandler {
        EmailHandler {
            mailer,
            store,
            pause_after_send: config.failpoint("email.sent", "pause"),
        }
    }
}

fn count(outcome: &'static str) {
    metrics::counter!(names::EMAILS, "outcome" => outcome).increment(1);
}

fn unavailable(e: impl std::fmt::Display) -> Failure {
    Failure::Retry(format!("store: {e}"))
}

#[async_trait]
impl Handler for EmailHandler {
    async fn run(&self, job: &Reserved) -> Result<(), Failure> {
        let EmailJob { user, notification } = job
            .json()
            .map_err(|e| Failure::Fatal(format!("not an email job: {e}")))?;
        let id = &notification.id;
        if self.store.email_sent(id).await.map_err(unavailable)? {
            tracing::info!(notification = %id, "email sent already: job done");
            count("skipped");
            return Ok(());
        }
        // The address as it is now: one removed since the notification was made gets nothing.
        let account = self.store.user_by_id(&user).await.map_err(unavailable)?;
        let Some(email) = account.and_then(|a| a.email) else {
            count("skipped");
            return Ok(());
        };
        let to: Mailbox = email
            .as_str()
            .parse()
            .map_err(|e| Failure::Fatal(format!("recipient: {e}")))?;
        let message = self
            .mailer
            .render(to, &notification)
            .map_err(Failure::Fatal)?;
        if let Err(failure) = self.mailer.send(message).await {
            count("failed");
            return Err(failure);
        }
        count("sent");
        tracing::info!(notification = %id, kind = notification.kind.as_str(), "email sent");
        // The mail is out: record it, and never send it again, even if recording takes a while.
        let mut delay = Duration::from_millis(100);
        while let Err(e) = self.store.record_email_sent(id, now_ms()).await {
            if delay > Duration::from_secs(5) {
                return Err(Failure::Fatal(format!(
                    "sent, but not recorded as sent (buried so that it is not sent twice): {e}"
                )));
            }
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
        if self.pause_after_send {
            tracing::warn!(notification = %id, "failpoint email.sent=pause: this worker stops here");
            std::future::pending::<()>().await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification(kind: NotificationKind, text: &str) -> Notification {
        Notification {
            id: "n1".into(),
            kind,
            text: text.into(),
            at: 0,
            data: [("game".to_owned(), "g<1>".to_owned())].into(),
        }
    }

    #[test]
    fn every_kind_renders_both_bodies_from_one_template_and_html_is_escaped() {
        for kind in NotificationKind::ALL {
            let mail = Template::of(*kind).fill(&notification(*kind, "you <won> & more"));
            assert!(mail.subject.starts_with("rookery: "));
            assert!(mail.plain.contains("you <won> & more"), "{}", mail.plain);
            assert!(mail.plain.contains("game: g<1>"));
            assert!(
                mail.html.contains("you &lt;won&gt; &amp; more"),
                "{}",
                mail.html
            );
            assert!(mail.html.contains("game: g&lt;1&gt;"));
            assert!(!mail.html.contains("<won>"));
        }
    }
}
