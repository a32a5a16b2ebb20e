//! Accounts and identity: registration, login and guests (shared by HTTP and the socket),
//! argon2id password hashes, HS256 access and refresh tokens with cluster-wide revocation, and
//! login attempt limits.

pub mod cache;
pub mod ledger;
pub mod redis;
pub mod revocations;
pub mod users;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use client_protocol::{ErrorCode, Role};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::audit::{AuditOutcome, AuditType, Auditor, Detail, NewEvent};
use crate::domain::{now_ms, CredentialError, Email, Password, UserId, Username};
use crate::store::{NewUser, StandingChange, Store, StoreError, User};
use ledger::{Count, Ledger, LedgerError};

/// What a token says about its bearer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    pub name: String,
    pub guest: bool,
    pub iat: u64,
    pub exp: u64,
    /// This token's id (96 random bits, base64url).
    #[serde(default)]
    pub jti: String,
    /// The sign-in this token descends from: a login's tokens and every refresh after it carry
    /// the same family, and revoking the family (logout, a refresh token used twice) ends them
    /// all. Empty in tokens issued before families existed.
    #[serde(default)]
    pub fam: String,
    /// `refresh` for a refresh token, absent for an access token: neither is taken for the
    /// other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_use: Option<String>,
}

/// The `token_use` of a refresh token.
const REFRESH_USE: &str = "refresh";

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
    #[error("this sign-in has ended (logged out or revoked): log in again")]
    Revoked,
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
            AuthError::BadToken | AuthError::Revoked => ErrorCode::Unauthenticated,
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

/// Issues and checks HS256 tokens: short-lived access tokens and the refresh tokens that
/// renew them.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
    refresh_ttl: Duration,
    reuse_grace: Duration,
}

/// A fresh pair of tokens for one sign-in.
pub struct Issued {
    pub token: String,
    pub refresh_token: String,
    /// When the access token expires, in ms since the epoch.
    pub expires_at: u64,
}

/// 96 random bits as base64url: a token or family id.
fn token_id() -> String {
    use base64::Engine;
    let bytes: [u8; 12] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Tokens {
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        Tokens {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl,
            refresh_ttl: ttl.max(DEFAULT_REFRESH_TTL),
            reuse_grace: DEFAULT_REUSE_GRACE,
        }
    }

    /// Refresh tokens live this long (at least as long as an access token), and one used
    /// again within `reuse_grace` of its first use renews once more.
    pub fn refresh(mut self, ttl: Duration, reuse_grace: Duration) -> Self {
        self.refresh_ttl = ttl.max(self.ttl);
        self.reuse_grace = reuse_grace;
        self
    }

    /// An access token and a refresh token for `user`, in sign-in `family` (None: a new
    /// sign-in).
    pub fn issue(&self, user: &User, family: Option<&str>) -> Issued {
        let iat = now_ms() / 1000;
        let fam = family.map_or_else(token_id, str::to_owned);
        let claims = |ttl: Duration, token_use: Option<&str>| Claims {
            sub: user.id.to_string(),
            name: user.name.clone(),
            guest: user.guest,
            iat,
            exp: iat + ttl.as_secs(),
            jti: token_id(),
            fam: fam.clone(),
            token_use: token_use.map(str::to_owned),
        };
        let access = claims(self.ttl, None);
        Issued {
            expires_at: access.exp * 1000,
            token: self.sign(&access),
            refresh_token: self.sign(&claims(self.refresh_ttl, Some(REFRESH_USE))),
        }
    }

    fn sign(&self, claims: &Claims) -> String {
        jsonwebtoken::encode(&Header::default(), claims, &self.encoding)
            .expect("HS256 encoding cannot fail")
    }

    /// The claims of a genuine token of either use; with `expiry` false, an expired one too
    /// (what logout may end).
    fn decode(&self, token: &str, expiry: bool) -> Result<Claims, AuthError> {
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.leeway = 5;
        validation.validate_exp = expiry;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| AuthError::BadToken)
    }

    /// The claims of a valid access token (a refresh token is refused). Revocation is checked
    /// by `Accounts`, which holds the ledger.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let claims = self.decode(token, true)?;
        match claims.token_use {
            None => Ok(claims),
            Some(_) => Err(AuthError::BadToken),
        }
    }

    /// The claims of a valid refresh token (an access token is refused).
    fn verify_refresh(&self, token: &str) -> Result<Claims, AuthError> {
        let claims = self.decode(token, true)?;
        match claims.token_use.as_deref() {
            Some(REFRESH_USE) => Ok(claims),
            _ => Err(AuthError::BadToken),
        }
    }
}

/// How long a refresh token lives unless configured.
pub const DEFAULT_REFRESH_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// A refresh token presented again this soon after it was first used renews once more (two
/// tabs refreshing at once); later, the second use is taken for a stolen copy and its whole
/// family is revoked (OAuth 2.0 refresh token rotation with reuse detection).
pub const DEFAULT_REUSE_GRACE: Duration = Duration::from_secs(30);

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
    /// Login attempt windows and revoked tokens, shared by the cluster's nodes.
    ledger: Arc<dyn Ledger>,
    per_user_per_min: u32,
    per_ip_per_min: u32,
}

/// The holder of a valid token.
pub struct TokenHolder {
    pub id: UserId,
    pub name: String,
    pub guest: bool,
    /// The account as stored; None for a guest (see `Accounts::identify`) and while the
    /// store is unreachable.
    pub user: Option<User>,
    /// When the token expires, in ms since the epoch.
    pub expires_at: u64,
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

/// A proven identity: the user and fresh tokens.
pub struct Authenticated {
    pub user: User,
    pub issued: Issued,
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
            ledger: Arc::new(ledger::MemoryLedger::default()),
            per_user_per_min,
            per_ip_per_min,
        }
    }

    /// Keeps attempt windows and revocations in `ledger` (the cluster's, so that a limit and
    /// a logout hold on every node).
    pub fn with_ledger(mut self, ledger: Arc<dyn Ledger>) -> Self {
        self.ledger = ledger;
        self
    }

    /// Counts (or only checks) one event against a per-minute limit. A ledger out of reach
    /// refuses nothing.
    async fn limit(&self, key: String, limit: u32, count: bool) -> Result<(), AuthError> {
        let counted = if count {
            self.ledger.hit(&key, limit, MINUTE).await
        } else {
            self.ledger.peek(&key, limit, MINUTE).await
        };
        match counted {
            Ok(Count::Within) => Ok(()),
            Ok(Count::Over { retry_after_secs }) => {
                Err(AuthError::RateLimited { retry_after_secs })
            }
            Err(e) => {
                tracing::warn!(error = %e, "login limits not applied");
                Ok(())
            }
        }
    }

    /// Counts a failed login for `key` (a case-folded username).
    async fn failed_login(&self, key: &str) {
        let _ = self
            .limit(format!("user:{key}"), self.per_user_per_min, true)
            .await;
    }

    async fn limit_ip(&self, ip: Option<IpAddr>) -> Result<(), AuthError> {
        match ip {
            Some(ip) => {
                self.limit(format!("ip:{ip}"), self.per_ip_per_min, true)
                    .await
            }
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
        self.limit_ip(ip).await?;
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
        self.limit_ip(ip).await?;
        let key = username.to_ascii_lowercase();
        self.limit(format!("user:{key}"), self.per_user_per_min, false)
            .await?;
        // The cheap checks first: no account has a malformed name or a password of a length
        // that registration refuses, so neither is worth an argon2 run.
        if Username::parse(username).is_err() || Password::parse(password).is_err() {
            self.failed_login(&key).await;
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
                self.failed_login(&key).await;
                Err(AuthError::BadCredentials)
            }
        }
    }

    pub async fn guest(&self, ip: Option<IpAddr>) -> Result<Authenticated, AuthError> {
        self.limit_ip(ip).await?;
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

    /// What queueing needs to know of an account: when its playban ends, if one is in force,
    /// and the account (for its rating) when it is stored.
    pub async fn queue_check(
        &self,
        user: &UserId,
    ) -> Result<(Option<u64>, Option<User>), StoreError> {
        let found = self.store.user_by_id(user).await?;
        let playban = found
            .as_ref()
            .and_then(|u| u.standing.playbanned(now_ms()).and_then(|s| s.until));
        Ok((playban, found))
    }

    /// The user a valid token names, as stored (a deleted user is refused).
    pub async fn user_from_token(&self, token: &str) -> Result<User, AuthError> {
        let (id, _) = self.verify(token).await?;
        self.current(&id).await
    }

    /// The account `id` as stored, refused if deleted or banned.
    async fn current(&self, id: &UserId) -> Result<User, AuthError> {
        let user = self
            .store
            .user_by_id(id)
            .await?
            .ok_or(AuthError::BadToken)?;
        match user.standing.banned(now_ms()) {
            Some(ban) => Err(AuthError::Banned { until: ban.until }),
            None => Ok(user),
        }
    }

    /// The user id and claims of an access token whose signature and expiry are valid and
    /// whose sign-in was not revoked.
    async fn verify(&self, token: &str) -> Result<(UserId, Claims), AuthError> {
        let claims = self.tokens.verify(token)?;
        let id = UserId::parse(&claims.sub).ok_or(AuthError::BadToken)?;
        if self.family_revoked(&claims).await {
            return Err(AuthError::Revoked);
        }
        Ok((id, claims))
    }

    /// Whether the sign-in a token descends from was revoked. A ledger out of reach revokes
    /// nothing (play goes on while Redis is away; the signature and expiry still hold).
    async fn family_revoked(&self, claims: &Claims) -> bool {
        if claims.fam.is_empty() {
            return false;
        }
        match self.ledger.revoked(&claims.fam).await {
            Ok(revoked) => revoked,
            Err(e) => {
                tracing::warn!(error = %e, "token revocations not checked");
                false
            }
        }
    }

    /// Renews a sign-in: a valid refresh token gives a fresh access token and a fresh refresh
    /// token in the same family, and is spent. Spent tokens are refused, and one used again
    /// past a short grace revokes its whole family: someone else holds a copy.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        ip: Option<IpAddr>,
    ) -> Result<Authenticated, AuthError> {
        // A renewal is routine and not recorded; a refused one is, like any refused token.
        let result = self.renew(refresh_token).await;
        if let Err(e) = &result {
            let event = NewEvent::new(AuditType::TokenRefused, AuditOutcome::Refused)
                .ip(ip)
                .text("reason", e.to_string())
                .text("via", "refresh");
            self.auditor.record(event);
        }
        result
    }

    async fn renew(&self, refresh_token: &str) -> Result<Authenticated, AuthError> {
        let claims = self.tokens.verify_refresh(refresh_token)?;
        let id = UserId::parse(&claims.sub).ok_or(AuthError::BadToken)?;
        if claims.jti.is_empty() || claims.fam.is_empty() || self.family_revoked(&claims).await {
            return Err(AuthError::Revoked);
        }
        match self
            .ledger
            .spend(&claims.jti, self.tokens.refresh_ttl)
            .await
        {
            Ok(None) => {}
            Ok(Some(spent_at))
                if now_ms().saturating_sub(spent_at)
                    < self.tokens.reuse_grace.as_millis() as u64 => {}
            Ok(Some(_)) => {
                self.revoke_family(&claims.fam).await?;
                return Err(AuthError::Revoked);
            }
            // Without the ledger a spent token cannot be told from a fresh one: refuse.
            Err(LedgerError(e)) => return Err(AuthError::Unavailable(StoreError::Unavailable(e))),
        }
        let user = self.current(&id).await?;
        Ok(Authenticated {
            issued: self.tokens.issue(&user, Some(&claims.fam)),
            user,
        })
    }

    /// Ends, on every node, the sign-ins that `tokens` (access or refresh tokens, genuine,
    /// expired or not) belong to. Returns the account one of them names, if any.
    pub async fn revoke(&self, tokens: &[&str]) -> Result<Option<UserId>, AuthError> {
        let mut who = None;
        for token in tokens {
            let Ok(claims) = self.tokens.decode(token, false) else {
                continue;
            };
            if !claims.fam.is_empty() {
                self.revoke_family(&claims.fam).await?;
            }
            who = who.or_else(|| UserId::parse(&claims.sub));
        }
        Ok(who)
    }

    async fn revoke_family(&self, family: &str) -> Result<(), AuthError> {
        self.ledger
            .revoke(family, self.tokens.refresh_ttl)
            .await
            .map_err(|LedgerError(e)| AuthError::Unavailable(StoreError::Unavailable(e)))
    }

    /// Who a valid token names, for a socket that opens with it.
    ///
    /// A guest is identified by the token alone: a guest account never changes after it is
    /// made (guests play unrated games only), so the store has nothing to add and a guest's
    /// connect costs no store read. A registered user is read from the store for their current
    /// rating, and refused if deleted; when the store is down the signature is proof enough
    /// and they play on (`user` None).
    pub async fn identify(&self, token: &str) -> Result<TokenHolder, AuthError> {
        let (id, claims) = self.verify(token).await?;
        let expires_at = claims.exp * 1000;
        if claims.guest {
            return Ok(TokenHolder {
                id,
                name: claims.name,
                guest: true,
                user: None,
                expires_at,
            });
        }
        // From the node's account cache (`users.rs`): any node's change of the account (a
        // ban, a role, a rating) dropped it there, so what is read is current.
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
            expires_at,
        })
    }

    fn authenticated(&self, user: User) -> Authenticated {
        let issued = self.tokens.issue(&user, None);
        Authenticated { user, issued }
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

/// The window of the login attempt limits.
const MINUTE: Duration = Duration::from_secs(60);

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

    /// A registered account (no role, no sanction), a fresh id each call.
    pub(super) fn alice() -> User {
        User {
            id: UserId::generate(),
            name: "alice".into(),
            guest: false,
            glicko: Default::default(),
            games_played: 0,
            created_at: 0,
            standing: Default::default(),
            email: None,
        }
    }

    #[test]
    fn a_token_verifies_until_forged_and_each_use_is_its_own() {
        let tokens = Tokens::new(b"secret-one", Duration::from_secs(60));
        let user = alice();
        let issued = tokens.issue(&user, None);
        let access = tokens.verify(&issued.token).unwrap();
        assert_eq!(access.sub, user.id.to_string());
        let refresh = tokens.verify_refresh(&issued.refresh_token).unwrap();
        assert_eq!(access.fam, refresh.fam, "one sign-in");
        assert_ne!(access.jti, refresh.jti);
        assert!(
            tokens.verify(&issued.refresh_token).is_err(),
            "not an access token"
        );
        assert!(
            tokens.verify_refresh(&issued.token).is_err(),
            "not a refresh token"
        );
        let other = Tokens::new(b"secret-two", Duration::from_secs(60));
        assert!(other.verify(&issued.token).is_err());
        assert!(other.decode(&issued.token, false).is_err());
    }

    #[tokio::test]
    async fn the_memory_ledger_counts_windows_and_spends_once() {
        let ledger = ledger::MemoryLedger::default();
        let minute = Duration::from_secs(60);
        assert_eq!(ledger.hit("k", 2, minute).await.unwrap(), Count::Within);
        assert_eq!(ledger.hit("k", 2, minute).await.unwrap(), Count::Within);
        assert!(matches!(
            ledger.peek("k", 2, minute).await,
            Ok(Count::Over { .. })
        ));
        assert!(matches!(
            ledger.hit("k", 2, minute).await,
            Ok(Count::Over { .. })
        ));
        assert_eq!(ledger.hit("other", 2, minute).await.unwrap(), Count::Within);
        assert_eq!(ledger.spend("t", minute).await.unwrap(), None);
        assert!(ledger.spend("t", minute).await.unwrap().is_some());
        assert!(!ledger.revoked("f").await.unwrap());
        ledger.revoke("f", minute).await.unwrap();
        assert!(ledger.revoked("f").await.unwrap());
        ledger.revoke("gone", Duration::ZERO).await.unwrap();
        assert!(!ledger.revoked("gone").await.unwrap(), "expired at once");
    }
}
