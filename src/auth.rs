//! Accounts and identity: registration, login and guests (shared by HTTP and the socket),
//! argon2id password hashes, HS256 session tokens, and login attempt limits.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use client_protocol::{ErrorCode, Role};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::audit::{AuditOutcome, AuditType, Auditor, Detail, NewEvent};
use crate::domain::{now_ms, CredentialError, Email, Password, UserId, Username};
use crate::store::{NewUser, StandingChange, Store, StoreError, User};

/// What a token says about its bearer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    pub name: String,
    pub guest: bool,
    pub iat: u64,
    pub exp: u64,
}

/// Why an account operation failed. Each maps to one wire error code.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    InvalidCredentials(#[from] CredentialError),
    #[error("username is taken")]
    UsernameTaken,
    #[error("wrong username or password")]
    BadCredentials,
    #[error("too many attempts, retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("token is invalid or expired")]
    BadToken,
    #[error("{}", banned_message(*until))]
    Banned { until: Option<u64> },
    #[error("too many sign-ins at once: retry in a moment")]
    Busy,
    #[error("the account store is unavailable, retry shortly")]
    Unavailable(#[source] StoreError),
}

/// What a banned account is told.
pub fn banned_message(until: Option<u64>) -> String {
    match until {
        Some(until) => format!("this account is banned until {until} (ms since the epoch)"),
        None => "this account is banned until the ban is lifted".to_owned(),
    }
}

impl AuthError {
    pub fn code(&self) -> ErrorCode {
        match self {
            AuthError::InvalidCredentials(_) => ErrorCode::InvalidField,
            AuthError::UsernameTaken => ErrorCode::UsernameTaken,
            AuthError::BadCredentials => ErrorCode::BadCredentials,
            AuthError::RateLimited { .. } => ErrorCode::RateLimited,
            AuthError::BadToken => ErrorCode::Unauthenticated,
            AuthError::Banned { .. } => ErrorCode::Banned,
            AuthError::Busy => ErrorCode::Unavailable,
            AuthError::Unavailable(_) => ErrorCode::Unavailable,
        }
    }
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UsernameTaken => AuthError::UsernameTaken,
            other => AuthError::Unavailable(other),
        }
    }
}

/// Issues and checks HS256 tokens.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
}

impl Tokens {
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        Tokens {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl,
        }
    }

    pub fn issue(&self, user: &User) -> String {
        let iat = now_ms() / 1000;
        let claims = Claims {
            sub: user.id.to_string(),
            name: user.name.clone(),
            guest: user.guest,
            iat,
            exp: iat + self.ttl.as_secs(),
        };
        jsonwebtoken::encode(&Header::default(), &claims, &self.encoding)
            .expect("HS256 encoding cannot fail")
    }

    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.leeway = 5;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| AuthError::BadToken)
    }
}

/// A fixed-window counter per key: at most `limit` events per `window`.
struct WindowLimiter {
    limit: u32,
    window: Duration,
    hits: Mutex<HashMap<String, (Instant, u32)>>,
}

impl WindowLimiter {
    fn new(limit: u32, window: Duration) -> Self {
        WindowLimiter {
            limit,
            window,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an event; Err with the seconds until the window resets when over the limit.
    fn hit(&self, key: &str) -> Result<(), u64> {
        let now = Instant::now();
        let mut hits = self.hits.lock().expect("poisoned");
        if hits.len() > 100_000 {
            hits.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = hits.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.limit {
            return Err((self.window - now.duration_since(entry.0)).as_secs().max(1));
        }
        entry.1 += 1;
        Ok(())
    }

    fn peek(&self, key: &str) -> Result<(), u64> {
        let now = Instant::now();
        let hits = self.hits.lock().expect("poisoned");
        match hits.get(key) {
            Some((start, n)) if now.duration_since(*start) < self.window && *n >= self.limit => {
                Err((self.window - now.duration_since(*start)).as_secs().max(1))
            }
            _ => Ok(()),
        }
    }
}

/// The account service: everything that creates or proves an identity.
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn Store>,
    pub tokens: Tokens,
    /// Every registration and login, granted or refused, is recorded here.
    pub auditor: Auditor,
    /// Case-folded names made admins when they register or log in (`ROOKERY_ADMINS`).
    admins: Arc<Vec<String>>,
    /// One permit per core: each argon2 run holds ~19 MiB and a core, so a burst of logins
    /// queues here instead of growing memory without bound.
    hashing: Arc<tokio::sync::Semaphore>,
    /// How long a login or registration waits for a hashing permit before it is refused (503).
    hash_wait: Duration,
    failed_per_user: Arc<WindowLimiter>,
    attempts_per_ip: Arc<WindowLimiter>,
}

/// The holder of a valid token.
pub struct TokenHolder {
    pub id: UserId,
    pub name: String,
    pub guest: bool,
    /// The account as stored; None for a guest (see `Accounts::identify`) and while the
    /// store is unreachable.
    pub user: Option<User>,
}

impl TokenHolder {
    /// The user as clients see them (rating from the store when it was read; a guest's is
    /// always the starting rating).
    pub fn view(&self) -> client_protocol::UserView {
        match &self.user {
            Some(user) => user.view(),
            None => client_protocol::UserView {
                id: self.id.to_string(),
                name: self.name.clone(),
                rating: crate::store::Glicko::default().display(),
                guest: self.guest,
                roles: Vec::new(),
            },
        }
    }
}

/// A proven identity: the user and a fresh token.
pub struct Authenticated {
    pub user: User,
    pub token: String,
}

impl Accounts {
    pub fn new(
        store: Arc<dyn Store>,
        tokens: Tokens,
        per_user_per_min: u32,
        per_ip_per_min: u32,
        auditor: Auditor,
        admins: &[String],
    ) -> Self {
        let minute = Duration::from_secs(60);
        Accounts {
            store,
            tokens,
            auditor,
            admins: Arc::new(
                admins
                    .iter()
                    .map(|a| a.trim().to_ascii_lowercase())
                    .collect(),
            ),
            hashing: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
            hash_wait: HASH_QUEUE_WAIT,
            failed_per_user: Arc::new(WindowLimiter::new(per_user_per_min, minute)),
            attempts_per_ip: Arc::new(WindowLimiter::new(per_ip_per_min, minute)),
        }
    }

    fn limit_ip(&self, ip: Option<IpAddr>) -> Result<(), AuthError> {
        match ip {
            Some(ip) => self
                .attempts_per_ip
                .hit(&ip.to_string())
                .map_err(|retry_after_secs| AuthError::RateLimited { retry_after_secs }),
            None => Ok(()),
        }
    }

    /// Records how an account operation for `username` ended: `kind` when it succeeded or was
    /// refused on its merits, `login_failed` for a wrong password, `rate_limited` when the
    /// limiter refused it. Only a name that parses as a username is recorded (never whatever
    /// else was typed, never the password).
    fn audit(
        &self,
        kind: AuditType,
        username: &str,
        ip: Option<IpAddr>,
        result: &Result<Authenticated, AuthError>,
    ) {
        let name = Username::parse(username)
            .ok()
            .map(|n| n.as_str().to_owned());
        let (kind, outcome, reason) = match result {
            Ok(_) => (kind, AuditOutcome::Ok, None),
            Err(AuthError::RateLimited { .. }) => {
                (AuditType::RateLimited, AuditOutcome::Refused, None)
            }
            Err(AuthError::BadCredentials) => (AuditType::LoginFailed, AuditOutcome::Refused, None),
            Err(e) => (kind, AuditOutcome::Refused, Some(e.code().as_str())),
        };
        let mut event = NewEvent::new(kind, outcome).ip(ip);
        // The account is the actor: as stored when known, else as it was asked for.
        event.actor = match result {
            Ok(auth) => Some(auth.user.name.clone()),
            Err(_) => name,
        };
        if let Some(reason) = reason {
            event = event.text("reason", reason);
        }
        if kind == AuditType::RateLimited {
            event = event.text("limit", "login");
        }
        self.auditor.record(event);
    }

    /// Creates an account (with the email notifications go to, when given) and signs it in.
    pub async fn register(
        &self,
        username: &str,
        password: &str,
        email: Option<&str>,
        ip: Option<IpAddr>,
    ) -> Result<Authenticated, AuthError> {
        let result = self.create_account(username, password, email, ip).await;
        self.audit(AuditType::Register, username, ip, &result);
        self.bootstrap_admin(result).await
    }

    /// At most `permits` argon2 runs at once, each waiting at most `wait` for its turn.
    pub fn limit_hashing(mut self, permits: usize, wait: Duration) -> Self {
        self.hashing = Arc::new(tokio::sync::Semaphore::new(permits));
        self.hash_wait = wait;
        self
    }

    /// Makes a `ROOKERY_ADMINS` account an admin as it registers or logs in.
    async fn bootstrap_admin(
        &self,
        result: Result<Authenticated, AuthError>,
    ) -> Result<Authenticated, AuthError> {
        let mut auth = result?;
        let user = &auth.user;
        let listed = self.admins.contains(&user.name.to_ascii_lowercase());
        if !listed || user.guest || user.standing.roles.contains(&Role::Admin) {
            return Ok(auth);
        }
        let before = user.standing.roles.clone();
        let mut roles = before.clone();
        roles.push(Role::Admin);
        roles.sort();
        self.store
            .change_standing(&user.id, StandingChange::Roles(roles.clone()))
            .await?;
        let names = |roles: &[Role]| roles.iter().map(|r| r.as_str().to_owned()).collect();
        let event = NewEvent::new(AuditType::RoleChanged, AuditOutcome::Ok)
            .target(user.name.clone())
            .detail("roles", Detail::List(names(&roles)))
            .detail("before", Detail::List(names(&before)))
            .text("by", "ROOKERY_ADMINS");
        self.auditor.record(event);
        auth.user.standing.roles = roles;
        Ok(auth)
    }

    async fn create_account(
        &self,
        username: &str,
        password: &str,
        email: Option<&str>,
        ip: Option<IpAddr>,
    ) -> Result<Authenticated, AuthError> {
        self.limit_ip(ip)?;
        let name = Username::parse(username)?;
        let password = Password::parse(password)?;
        let email = email.map(Email::parse).transpose()?;
        if self.store.user_by_name(&name.key()).await?.is_some() {
            return Err(AuthError::UsernameTaken);
        }
        let hash = self.hash_password(password.expose().to_owned()).await?;
        let user = self
            .store
            .create_user(NewUser {
                id: UserId::generate(),
                name_key: name.key(),
                name: name.as_str().to_owned(),
                password_hash: Some(hash),
                guest: false,
                created_at: now_ms(),
                email,
            })
            .await?;
        Ok(self.authenticated(user))
    }

    pub async fn login(
        &self,
        username: &str,
        password: &str,
        ip: Option<IpAddr>,
    ) -> Result<Authenticated, AuthError> {
        let result = self.check_password(username, password, ip).await;
        self.audit(AuditType::Login, username, ip, &result);
        self.bootstrap_admin(result).await
    }

    async fn check_password(
        &self,
        username: &str,
        password: &str,
        ip: Option<IpAddr>,
    ) -> Result<Authenticated, AuthError> {
        self.limit_ip(ip)?;
        let key = username.to_ascii_lowercase();
        self.failed_per_user
            .peek(&key)
            .map_err(|retry_after_secs| AuthError::RateLimited { retry_after_secs })?;
        // The cheap checks first: no account has a malformed name or a password of a length
        // that registration refuses, so neither is worth an argon2 run.
        if Username::parse(username).is_err() || Password::parse(password).is_err() {
            let _ = self.failed_per_user.hit(&key);
            return Err(AuthError::BadCredentials);
        }
        let found = self.store.user_by_name(&key).await?;
        let verified = match &found {
            Some((_, Some(hash))) => {
                self.verify_password(password.to_owned(), hash.clone())
                    .await?
            }
            // Unknown user or guest: spend the same time as a real check, then refuse.
            _ => {
                let _ = self.hash_password(password.to_owned()).await?;
                false
            }
        };
        match (verified, found) {
            // Only someone who knows the password learns that the account is banned.
            (true, Some((user, _))) => match user.standing.banned(now_ms()) {
                Some(ban) => Err(AuthError::Banned { until: ban.until }),
                None => Ok(self.authenticated(user)),
            },
            _ => {
                let _ = self.failed_per_user.hit(&key);
                Err(AuthError::BadCredentials)
            }
        }
    }

    pub async fn guest(&self, ip: Option<IpAddr>) -> Result<Authenticated, AuthError> {
        self.limit_ip(ip)?;
        let id = UserId::generate();
        let name = format!("Guest-{}", &id.as_str()[..6]);
        let user = self
            .store
            .create_user(NewUser {
                name_key: name.to_ascii_lowercase(),
                name,
                id,
                password_hash: None,
                guest: true,
                created_at: now_ms(),
                email: None,
            })
            .await?;
        Ok(self.authenticated(user))
    }

    /// When the account's playban ends, if one is in force.
    pub async fn playban(&self, user: &UserId) -> Result<Option<u64>, StoreError> {
        let found = self.store.user_by_id(user).await?;
        Ok(found.and_then(|u| u.standing.playbanned(now_ms()).and_then(|s| s.until)))
    }

    /// The user a valid token names, as stored (a deleted user is refused).
    pub async fn user_from_token(&self, token: &str) -> Result<User, AuthError> {
        let (id, _) = self.verify(token)?;
        let user = self
            .store
            .user_by_id(&id)
            .await?
            .ok_or(AuthError::BadToken)?;
        match user.standing.banned(now_ms()) {
            Some(ban) => Err(AuthError::Banned { until: ban.until }),
            None => Ok(user),
        }
    }

    /// The user id and claims of a token whose signature and expiry are valid.
    fn verify(&self, token: &str) -> Result<(UserId, Claims), AuthError> {
        let claims = self.tokens.verify(token)?;
        let id = UserId::parse(&claims.sub).ok_or(AuthError::BadToken)?;
        Ok((id, claims))
    }

    /// Who a valid token names, for a socket that opens with it.
    ///
    /// A guest is identified by the token alone: a guest account never changes after it is
    /// made (guests play unrated games only), so the store has nothing to add and a guest's
    /// connect costs no store read. A registered user is read from the store for their current
    /// rating, and refused if deleted; when the store is down the signature is proof enough
    /// and they play on (`user` None).
    pub async fn identify(&self, token: &str) -> Result<TokenHolder, AuthError> {
        let (id, claims) = self.verify(token)?;
        if claims.guest {
            return Ok(TokenHolder {
                id,
                name: claims.name,
                guest: true,
                user: None,
            });
        }
        let user = match self.store.user_by_id(&id).await {
            Ok(Some(user)) => {
                if let Some(ban) = user.standing.banned(now_ms()) {
                    return Err(AuthError::Banned { until: ban.until });
                }
                Some(user)
            }
            Ok(None) => return Err(AuthError::BadToken),
            Err(e) => {
                tracing::warn!(error = %e, "account store down: identifying by token alone");
                None
            }
        };
        Ok(TokenHolder {
            id,
            name: claims.name,
            guest: claims.guest,
            user,
        })
    }

    fn authenticated(&self, user: User) -> Authenticated {
        let token = self.tokens.issue(&user);
        Authenticated { user, token }
    }

    /// Runs one argon2 operation on the blocking pool (never on a socket's arbiter), once a
    /// hashing permit is free; `Busy` when none frees up within `hash_wait`.
    async fn argon2<T: Send + 'static>(
        &self,
        work: impl FnOnce(Argon2<'static>) -> T + Send + 'static,
    ) -> Result<T, AuthError> {
        let permit = tokio::time::timeout(self.hash_wait, self.hashing.clone().acquire_owned())
            .await
            .map_err(|_| AuthError::Busy)?
            .map_err(|_| AuthError::Busy)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(Argon2::default())
        })
        .await
        .map_err(|e| AuthError::Unavailable(StoreError::Unavailable(e.to_string())))
    }

    async fn hash_password(&self, password: String) -> Result<String, AuthError> {
        self.argon2(move |argon2| {
            argon2
                .hash_password(password.as_bytes())
                .map(|hash| hash.to_string())
        })
        .await?
        .map_err(|e| {
            AuthError::Unavailable(StoreError::Unavailable(format!("hashing failed: {e}")))
        })
    }

    async fn verify_password(&self, password: String, hash: String) -> Result<bool, AuthError> {
        self.argon2(move |argon2| {
            argon2
                .verify_password(password.as_bytes(), hash.as_str())
                .is_ok()
        })
        .await
    }
}

/// How long a login or registration waits for a hashing permit by default.
const HASH_QUEUE_WAIT: Duration = Duration::from_secs(3);

#[cfg(test)]
mod tests {
    use super::*;

    /// Accounts on a real SQLite store whose hashing never gets a permit: any argon2 run is
    /// refused as `Busy` at once, so a refusal of another kind proves no hashing happened.
    fn without_hashing(dir: &std::path::Path) -> Accounts {
        let store =
            Arc::new(crate::store::sqlite::SqliteStore::open(&dir.join("s.sqlite3")).unwrap());
        let audit =
            Arc::new(crate::audit::sqlite::SqliteAudit::open(&dir.join("a.sqlite3")).unwrap());
        let auditor = Auditor::start(audit, Duration::from_secs(3600));
        let tokens = Tokens::new(b"secret", Duration::from_secs(60));
        Accounts::new(store, tokens, 10, 60, auditor, &[])
            .limit_hashing(0, Duration::from_millis(20))
    }

    #[tokio::test]
    async fn cheap_checks_refuse_a_login_before_any_password_hashing() {
        let dir = tempfile::tempdir().unwrap();
        let accounts = without_hashing(dir.path());
        let long = "x".repeat(15_000);
        for (name, password) in [
            ("alice", long.as_str()),
            ("no such name!", "long enough pw"),
        ] {
            let refused = accounts.login(name, password, None).await.err();
            assert!(
                matches!(refused, Some(AuthError::BadCredentials)),
                "{refused:?}"
            );
        }
        // A well-formed attempt needs a hash, and past the wait it is refused as busy (503).
        let busy = accounts.login("alice", "long enough pw", None).await.err();
        assert!(matches!(busy, Some(AuthError::Busy)), "{busy:?}");
        assert_eq!(AuthError::Busy.code(), ErrorCode::Unavailable);
    }

    #[test]
    fn a_token_verifies_until_forged() {
        let tokens = Tokens::new(b"secret-one", Duration::from_secs(60));
        let user = User {
            id: UserId::generate(),
            name: "alice".into(),
            guest: false,
            glicko: Default::default(),
            games_played: 0,
            created_at: 0,
            standing: Default::default(),
            email: None,
        };
        let token = tokens.issue(&user);
        assert_eq!(tokens.verify(&token).unwrap().sub, user.id.to_string());
        let other = Tokens::new(b"secret-two", Duration::from_secs(60));
        assert!(other.verify(&token).is_err());
    }

    #[test]
    fn the_window_limiter_refuses_past_its_limit() {
        let limiter = WindowLimiter::new(2, Duration::from_secs(60));
        assert!(limiter.hit("k").is_ok());
        assert!(limiter.hit("k").is_ok());
        assert!(limiter.peek("k").is_err());
        assert!(limiter.hit("k").is_err());
        assert!(limiter.hit("other").is_ok());
    }
}
