//! Notifications: one thing worth telling an account (a ban, a game that ended while its player
//! was away, a tournament about to start). Each is stored with the account (capped, see
//! `store::NOTIFICATIONS_KEPT`), pushed at once as `client/NOTIFICATION` to every open socket
//! of the account on any node (through its `user:` group), and, when the operator configured
//! SMTP, put on the job queue's `email` tube for [`email::EmailHandler`] to send once.
//! Nothing here waits for a mail server.

pub mod email;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use client_protocol::{Notification, NotificationKind, ServerFrame, ServerMessage};
use serde::{Deserialize, Serialize};

use crate::cluster::Router;
use crate::domain::{now_ms, NotificationId, UserId};
use crate::jobs::{self, Jobs, PutOptions, Tube};
use crate::messages::{Envelope, UserEvent};
use crate::store::{Store, StoreError};
use crate::telemetry::names;

/// What a notification is about, by id (`game`, `tournament`, `until`, `roles`).
pub type Data = BTreeMap<String, String>;

/// A notification to make: what it says, and, for one that a retry may make again (a game's
/// end after its node died), the id that makes it once.
#[derive(Clone, Debug)]
pub struct Draft {
    pub kind: NotificationKind,
    pub text: String,
    pub data: Data,
    /// None: a fresh random id. Some: the same id always, so that storing it and emailing it
    /// happen once however often it is made.
    pub key: Option<String>,
}

impl Draft {
    pub fn new(kind: NotificationKind, text: impl Into<String>, data: Data) -> Draft {
        Draft {
            kind,
            text: text.into(),
            data,
            key: None,
        }
    }

    /// Made once per `key` (the ids of what it is about, e.g. `game:<id>:first`).
    pub fn once(self, key: impl Into<String>) -> Draft {
        Draft {
            key: Some(key.into()),
            ..self
        }
    }
}

/// The body of an email job: everything the email needs, so that it goes out even when the
/// stored notification was trimmed meanwhile.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EmailJob {
    pub user: UserId,
    pub notification: Notification,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("notification not stored: {0}")]
    Store(#[from] StoreError),
}

/// Makes notifications. Cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    store: Arc<dyn Store>,
    jobs: Arc<dyn Jobs>,
    /// How email jobs are put; None when SMTP is not configured (no email job then).
    email: Option<PutOptions>,
}

impl Notifier {
    /// `email`: the time-to-run of email jobs, when SMTP is configured.
    pub fn new(store: Arc<dyn Store>, jobs: Arc<dyn Jobs>, email: Option<Duration>) -> Notifier {
        let email = email.map(|ttr| PutOptions::default().ttr(ttr));
        Notifier { store, jobs, email }
    }

    /// Tells `user` something: queues its email first (so that a node dying right after
    /// cannot lose it), then stores the notification and pushes it to the user's sockets.
    /// A queue that is down costs the email only (logged); a store that is down is an error,
    /// and then nothing is pushed either.
    pub async fn notify(
        &self,
        router: &Router,
        user: &UserId,
        draft: Draft,
    ) -> Result<Notification, NotifyError> {
        let kind = draft.kind;
        let notification = Notification {
            id: draft
                .key
                .unwrap_or_else(|| NotificationId::generate().to_string()),
            kind,
            text: draft.text,
            at: now_ms(),
            data: draft.data,
        };
        if let Some(options) = self.email {
            let job = EmailJob {
                user: user.clone(),
                notification: notification.clone(),
            };
            let tube = Tube::parse(jobs::EMAIL_TUBE).expect("a valid tube name");
            if let Err(e) = jobs::put_json(&*self.jobs, &tube, &job, options).await {
                tracing::warn!(notification = %notification.id, error = %e, "email job not queued: this notification goes by socket only");
            }
        }
        self.store.add_notification(user, &notification).await?;
        metrics::counter!(names::NOTIFICATIONS, "kind" => kind.as_str()).increment(1);
        let frame = ServerFrame {
            reference: None,
            message: ServerMessage::Notification(notification.clone()),
        };
        let push = UserEvent::Push {
            frame: Box::new(frame),
        };
        router.send(Envelope::user(user, push));
        Ok(notification)
    }

    /// [`Notifier::notify`] for callers that go on whatever happens (an actor, an admin
    /// action already done): a failure is logged.
    pub async fn tell(&self, router: &Router, user: &UserId, draft: Draft) {
        let kind = draft.kind;
        if let Err(e) = self.notify(router, user, draft).await {
            tracing::warn!(user = %user, kind = kind.as_str(), error = %e, "notification lost");
        }
    }
}

/// `Data` from `(key, value)` pairs.
pub fn data<const N: usize>(pairs: [(&str, String); N]) -> Data {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}
