//! Domain newtypes that parse rather than validate: ids, usernames, passwords, queue keys.

use std::fmt;

use base64::Engine;
use client_protocol::constants::{
    PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, USERNAME_MAX_CHARS, USERNAME_MIN_CHARS,
};
use client_protocol::{ClockSpec, GameKind, QueueSpec};
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch: the protocol's instant.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `bytes` random bytes as unpadded base64url.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

fn is_base64url(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

macro_rules! random_id {
    ($(#[$doc:meta])* $name:ident, $bytes:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh random id.
            pub fn generate() -> Self {
                $name(random_token($bytes))
            }

            /// Accepts exactly the shape `generate` makes: base64url of the right length.
            pub fn parse(s: &str) -> Option<Self> {
                let len = ($bytes * 4usize).div_ceil(3);
                (s.len() == len && is_base64url(s)).then(|| $name(s.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

random_id!(
    /// A session: 128 random bits, base64url (protocol: "opaque session id").
    SessionId,
    16
);
random_id!(
    /// A game: 48 random bits, base64url (8 characters, short enough for URLs).
    GameId,
    6
);
random_id!(
    /// A matchup proposal.
    MatchupId,
    9
);
random_id!(
    /// A user account.
    UserId,
    12
);
random_id!(
    /// A tournament: 48 random bits, base64url (8 characters).
    TournamentId,
    6
);
random_id!(
    /// A notification (also the idempotency key of its email).
    NotificationId,
    12
);

/// Why a username or password was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialError {
    #[error("username must be 3 to 20 characters")]
    UsernameLength,
    #[error(
        "username may contain only letters, digits, '_' and '-', and must start with a letter"
    )]
    UsernameCharacters,
    #[error("username is reserved")]
    UsernameReserved,
    #[error("password must be 8 to 128 characters")]
    PasswordLength,
    #[error("email must look like name@example.org: at most 254 characters, one '@', a dotted domain, no spaces or control characters")]
    Email,
}

/// A registered username: 3-20 chars of `[A-Za-z0-9_-]`, starting with a letter. Uniqueness is
/// case-insensitive (the store compares [`Username::key`]); display keeps the chosen case.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub fn parse(s: &str) -> Result<Self, CredentialError> {
        let len = s.chars().count();
        if !(USERNAME_MIN_CHARS..=USERNAME_MAX_CHARS).contains(&len) {
            return Err(CredentialError::UsernameLength);
        }
        let mut chars = s.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
        if !first_ok
            || !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(CredentialError::UsernameCharacters);
        }
        if s.to_ascii_lowercase().starts_with("guest") {
            return Err(CredentialError::UsernameReserved);
        }
        Ok(Username(s.to_owned()))
    }

    /// The case-folded form that must be unique.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that passed the length rules. Never printed.
pub struct Password(String);

impl Password {
    pub fn parse(s: &str) -> Result<Self, CredentialError> {
        if !(PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&s.chars().count()) {
            return Err(CredentialError::PasswordLength);
        }
        Ok(Password(s.to_owned()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// An email address that passed a deliberately plain check (one `@`, a non-empty local part,
/// a dotted domain of letters, digits, `-` and `.`, at most 254 characters, nothing that could
/// break a mail header). The domain is lower-cased; the local part is kept as given.
/// `Debug` hides it: it never lands in a log line by accident.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub const MAX_CHARS: usize = 254;

    pub fn parse(s: &str) -> Result<Self, CredentialError> {
        let s = s.trim();
        let (local, domain) = s.rsplit_once('@').ok_or(CredentialError::Email)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && local
                .chars()
                .all(|c| c.is_ascii_graphic() && !"@<>()[],;:\\\"".contains(c));
        let labels_ok = domain.split('.').count() >= 2
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if s.len() > Self::MAX_CHARS || !local_ok || !labels_ok {
            return Err(CredentialError::Email);
        }
        Ok(Email(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email(<hidden>)")
    }
}

/// Limits on a time control.
pub const MAX_INITIAL_MS: u64 = 3 * 3600 * 1000;
pub const MAX_INCREMENT_MS: u64 = 180 * 1000;

/// The address of a matchmaking queue: `queue:<game>:<initialMs>+<incrementMs>|untimed:<rated|casual>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QueueKey(String);

impl QueueKey {
    /// Checks a client's queue spec; `Err` says which field is wrong.
    pub fn from_spec(spec: &QueueSpec) -> Result<Self, String> {
        if let Some(clock) = spec.clock {
            if clock.initial_ms == 0 || clock.initial_ms > MAX_INITIAL_MS {
                return Err(format!(
                    "queue.clock.initialMs must be 1..={MAX_INITIAL_MS}"
                ));
            }
            if clock.increment_ms > MAX_INCREMENT_MS {
                return Err(format!(
                    "queue.clock.incrementMs must be 0..={MAX_INCREMENT_MS}"
                ));
            }
        }
        let clock = match spec.clock {
            Some(c) => format!("{}+{}", c.initial_ms, c.increment_ms),
            None => "untimed".to_owned(),
        };
        let rated = if spec.rated { "rated" } else { "casual" };
        Ok(QueueKey(format!(
            "queue:{}:{clock}:{rated}",
            spec.game.as_str()
        )))
    }

    /// The spec back from a key (for a queue activated from its address alone).
    pub fn spec(&self) -> Option<QueueSpec> {
        let mut parts = self.0.split(':');
        if parts.next()? != "queue" {
            return None;
        }
        let game = GameKind::parse(parts.next()?)?;
        let clock = match parts.next()? {
            "untimed" => None,
            c => {
                let (i, inc) = c.split_once('+')?;
                Some(ClockSpec {
                    initial_ms: i.parse().ok()?,
                    increment_ms: inc.parse().ok()?,
                })
            }
        };
        let rated = match parts.next()? {
            "rated" => true,
            "casual" => false,
            _ => return None,
        };
        Some(QueueSpec { game, clock, rated })
    }

    pub fn parse(s: &str) -> Option<Self> {
        let key = QueueKey(s.to_owned());
        let spec = key.spec()?;
        (QueueKey::from_spec(&spec).ok()? == key).then_some(key)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for QueueKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back_and_foreign_shapes_do_not() {
        let id = SessionId::generate();
        assert_eq!(id.as_str().len(), 22);
        assert_eq!(SessionId::parse(id.as_str()), Some(id));
        assert_eq!(SessionId::parse("short"), None);
        assert_eq!(SessionId::parse("!!!!!!!!!!!!!!!!!!!!!!"), None);
        assert!(GameId::parse(GameId::generate().as_str()).is_some());
    }

    #[test]
    fn emails_are_checked_plainly_and_hidden_from_debug() {
        let email = Email::parse(" Ada.L+games@Example.ORG ").unwrap();
        assert_eq!(email.as_str(), "Ada.L+games@example.org");
        assert_eq!(format!("{email:?}"), "Email(<hidden>)");
        for bad in [
            "",
            "plain",
            "@example.org",
            "a@localhost",
            "a@ex ample.org",
            "a b@example.org",
            "a@-x.org",
            "a@x..org",
            "a\r\nBcc: x@y.org@example.org",
            "<a>@example.org",
            &format!("{}@example.org", "a".repeat(65)),
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn usernames_follow_the_rules() {
        for bad in [
            "ab",
            "1abc",
            "has space",
            "guest123",
            "a-very-long-name-over-20",
        ] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
        let name = Username::parse("Magnus_C").unwrap();
        assert_eq!(name.key(), "magnus_c");
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("long enough").is_ok());
    }

    #[test]
    fn a_queue_key_round_trips_through_its_spec() {
        let spec = QueueSpec {
            game: GameKind::Chess,
            clock: Some(ClockSpec {
                initial_ms: 300_000,
                increment_ms: 3_000,
            }),
            rated: true,
        };
        let key = QueueKey::from_spec(&spec).unwrap();
        assert_eq!(key.as_str(), "queue:chess:300000+3000:rated");
        assert_eq!(key.spec(), Some(spec));
        assert_eq!(QueueKey::parse(key.as_str()), Some(key));
        let untimed = QueueSpec {
            game: GameKind::TicTacToe,
            clock: None,
            rated: false,
        };
        assert_eq!(
            QueueKey::from_spec(&untimed).unwrap().as_str(),
            "queue:tictactoe:untimed:casual"
        );
        let zero = QueueSpec {
            clock: Some(ClockSpec {
                initial_ms: 0,
                increment_ms: 0,
            }),
            ..untimed
        };
        assert!(QueueKey::from_spec(&zero).is_err());
    }
}
