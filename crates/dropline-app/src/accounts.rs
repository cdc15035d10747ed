//! Dashboard accounts: users with argon2id passwords, sign-in with a rate limit, sessions
//! kept as the SHA-256 of a random browser token, and the CSRF check of a session's forms.
//!
//! [`Accounts`] wraps an [`App`] (its backend and its clock, so tests move time with
//! [`App::with_clock`]) and adds the one piece of state accounts need beside the database:
//! the failed sign-in counters of the rate limit. They live in memory, per process: with
//! several `dropline serve` processes each counts on its own, so the limits hold per process
//! and a restart forgets them. That bounds guessing well enough for a dashboard; a shared
//! limit would need a table.
//!
//! Password hashing (argon2id with the crate's defaults: 19 MiB, 2 passes) runs on Tokio's
//! blocking pool so that it never stalls the runtime. A sign-in with an unknown email
//! verifies against a dummy hash of the same cost, so the answer's timing does not tell
//! whether an account exists; every refusal (unknown email, wrong password, disabled user)
//! is the same [`AppError::Unauthorized`] with the same message, [`WRONG_CREDENTIALS`].

use crate::error::{AppError, FieldError};
use crate::ports::StoreError;
use crate::service::App;
use crate::token::hash_token;
use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use dropline_domain::account::{AccountError, Caller, Email, Role, Session, User, check_password_rules};
use dropline_domain::ids::{StoreId, UserId};
use rand::RngCore;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

/// The one message of every refused sign-in.
pub const WRONG_CREDENTIALS: &str = "wrong email or password";

/// How often a session's `last_seen_at` is written at most.
const TOUCH_EVERY: Duration = Duration::minutes(1);

/// Rate-limit counters kept at most; beyond it, counters that no longer matter are dropped
/// first, then the oldest (memory stays bounded whatever an attacker sends).
const MAX_TRACKED_KEYS: usize = 100_000;

/// An argon2id hash (default parameters) of a password nobody has, verified when the email
/// is unknown so that the answer takes as long as for a real account.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$ZHJvcGxpbmUtZHVtbXktc2FsdA$3mL8lJ7n9V9l1q5i0qCwQ0m9z7z7m6h2rYkV7bQ3b0A";

/// Lifetimes and limits of sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountsConfig {
    /// How long a session lasts after sign-in (not extended by use).
    pub session_lifetime: Duration,
    /// Failed sign-ins for one email within `failure_window` that lock it.
    pub max_failures_per_email: usize,
    /// Failed sign-ins from one client (an IP address) within `failure_window` that lock it.
    pub max_failures_per_client: usize,
    pub failure_window: Duration,
    /// How long a locked email or client is refused.
    pub lockout: Duration,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        Self {
            session_lifetime: Duration::hours(12),
            max_failures_per_email: 5,
            max_failures_per_client: 20,
            failure_window: Duration::minutes(15),
            lockout: Duration::minutes(15),
        }
    }
}

/// A user to create. The password is given in clear once, checked and hashed; `Debug`
/// hides it.
#[derive(Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    /// The store of a seller or staff; `None` for an operator.
    pub store_id: Option<StoreId>,
    pub password: String,
}

impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("email", &self.email)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("store_id", &self.store_id)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// A successful sign-in: the token for the browser's cookie (shown here once, only its hash
/// is kept), the CSRF token for the session's forms, and who signed in.
#[derive(Clone)]
pub struct SignedIn {
    pub token: String,
    pub csrf_token: String,
    pub user: User,
    pub session: Session,
}

impl fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedIn")
            .field("token", &"<hidden>")
            .field("csrf_token", &"<hidden>")
            .field("user", &self.user)
            .field("session", &self.session)
            .finish()
    }
}

/// The account use cases over an [`App`]. Cheap to clone; clones share the rate limit.
#[derive(Clone)]
pub struct Accounts {
    app: App,
    config: Arc<AccountsConfig>,
    limiter: Arc<Mutex<Limiter>>,
}

impl Accounts {
    /// Accounts over `app`'s backend and clock, with the default limits.
    pub fn new(app: App) -> Self {
        Self::with_config(app, AccountsConfig::default())
    }

    /// Accounts with chosen lifetimes and limits.
    pub fn with_config(app: App, config: AccountsConfig) -> Self {
        Self {
            app,
            config: Arc::new(config),
            limiter: Arc::new(Mutex::new(Limiter::default())),
        }
    }

    /// Creates a user (see [`Caller::may_create`] for who may create whom). Refused with
    /// [`AppError::Invalid`] naming `email`, `name`, `store_id` or `password`,
    /// [`AppError::Unauthorized`] when the caller may not create that user, and
    /// [`AppError::Conflict`] when the email is taken.
    pub async fn create_user(&self, caller: Caller, new: NewUser) -> Result<User, AppError> {
        if let Err(err) = caller.may_create(new.role, new.store_id) {
            return Err(match err {
                AccountError::NotAllowed(reason) => AppError::Unauthorized(reason.to_string()),
                other => AppError::invalid(other.field(), other.to_string()),
            });
        }
        let mut errors = Vec::new();
        let email = Email::parse(&new.email)
            .map_err(|err| errors.push(FieldError::new(err.field(), err.to_string())))
            .ok();
        let name = new.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 200 {
            errors.push(FieldError::new("name", "must be 1 to 200 characters long"));
        }
        if let Err(err) = check_password_rules(&new.password) {
            errors.push(FieldError::new(err.field(), err.to_string()));
        }
        if let Some(store_id) = new.store_id
            && self.app.backend.get_store(store_id).await?.is_none()
        {
            errors.push(FieldError::new("store_id", "no such store"));
        }
        let Some(email) = email.filter(|_| errors.is_empty()) else {
            return Err(AppError::Invalid(errors));
        };
        let password_hash = blocking(move || hash_password(&new.password)).await??;
        let user = User {
            id: UserId::new(),
            email,
            name,
            role: new.role,
            store_id: new.store_id,
            password_hash,
            created_at: self.app.now(),
            disabled: false,
        };
        match self.app.backend.insert_user(user.clone()).await {
            Ok(()) => Ok(user),
            Err(StoreError::Conflict(_)) => Err(AppError::Conflict(format!(
                "a user with the email {} exists",
                user.email
            ))),
            Err(err) => Err(err.into()),
        }
    }

    /// The users the caller reaches: every user for an operator, else those of its store.
    pub async fn list_users(&self, caller: Caller) -> Result<Vec<User>, AppError> {
        let filter = match caller.role {
            Role::Operator => None,
            Role::Seller | Role::Staff => match caller.store_id {
                Some(store_id) => Some(store_id),
                None => return Ok(Vec::new()),
            },
        };
        Ok(self.app.backend.list_users(filter).await?)
    }

    /// Signs in with an email and a password. `client_key` names the client for the rate
    /// limit (the web layer passes the client's IP address).
    ///
    /// Every refusal is [`AppError::Unauthorized`] with [`WRONG_CREDENTIALS`], whether the
    /// email is unknown, the password wrong or the user disabled. After too many failures
    /// for one email or one client (see [`AccountsConfig`]) attempts are refused with
    /// [`AppError::RetryLater`], which says when to try again, without checking the
    /// password at all.
    pub async fn sign_in(&self, email: &str, password: &str, client_key: &str) -> Result<SignedIn, AppError> {
        let now = self.app.now();
        let email_key = format!("email:{}", email.trim().to_lowercase());
        let client_key = format!("client:{client_key}");
        if let Some(until) = self.limiter().locked_until(&[&email_key, &client_key], now) {
            let wait = until - now;
            return Err(AppError::RetryLater {
                reason: format!(
                    "too many failed sign-ins; try again in {} minute(s)",
                    (wait.whole_seconds() + 59) / 60
                ),
                after: std::time::Duration::try_from(wait).ok(),
            });
        }
        let user = match Email::parse(email) {
            Ok(email) => self.app.backend.user_by_email(&email).await?,
            Err(_) => None,
        };
        let hash = user
            .as_ref()
            .map_or_else(|| DUMMY_HASH.to_string(), |user| user.password_hash.clone());
        let password = password.to_string();
        let verified = blocking(move || verify_password(&hash, &password)).await?;
        let user = match user {
            Some(user) if verified && !user.disabled => user,
            _ => {
                let config = &self.config;
                let mut limiter = self.limiter();
                limiter.record_failure(&email_key, now, config.max_failures_per_email, config);
                limiter.record_failure(&client_key, now, config.max_failures_per_client, config);
                return Err(AppError::Unauthorized(WRONG_CREDENTIALS.to_string()));
            }
        };
        self.limiter().forget(&email_key);
        let (token, csrf_token) = (random_token(), random_token());
        let session = Session {
            token_hash: hash_token(&token),
            user_id: user.id,
            csrf_token: csrf_token.clone(),
            created_at: now,
            expires_at: now + self.config.session_lifetime,
            last_seen_at: now,
        };
        self.app.backend.insert_session(session.clone()).await?;
        Ok(SignedIn {
            token,
            csrf_token,
            user,
            session,
        })
    }

    /// The user and session of a browser token; `None` when the token is unknown, the
    /// session expired or the user is disabled (or gone). Records the use now and then.
    pub async fn session(&self, token: &str) -> Result<Option<(User, Session)>, AppError> {
        let now = self.app.now();
        let token_hash = hash_token(token);
        let Some(mut session) = self.app.backend.session_by_token_hash(&token_hash).await? else {
            return Ok(None);
        };
        if !session.is_live(now) {
            return Ok(None);
        }
        let Some(user) = self.app.backend.get_user(session.user_id).await? else {
            return Ok(None);
        };
        if user.disabled {
            return Ok(None);
        }
        if now - session.last_seen_at >= TOUCH_EVERY {
            self.app
                .backend
                .touch_session(&token_hash, now, session.expires_at)
                .await?;
            session.last_seen_at = now;
        }
        Ok(Some((user, session)))
    }

    /// Ends the session of a browser token (an unknown token is not an error).
    pub async fn sign_out(&self, token: &str) -> Result<(), AppError> {
        Ok(self.app.backend.delete_session(&hash_token(token)).await?)
    }

    /// Changes a user's password after checking the current one, and ends every session of
    /// the user (the caller signs in again). A wrong current password is
    /// [`AppError::Unauthorized`]; a new one breaking the rules is [`AppError::Invalid`]
    /// naming `password`.
    pub async fn change_password(&self, user_id: UserId, current: &str, new: &str) -> Result<(), AppError> {
        let Some(mut user) = self.app.backend.get_user(user_id).await? else {
            return Err(AppError::NotFound("user"));
        };
        let (hash, current) = (user.password_hash.clone(), current.to_string());
        if !blocking(move || verify_password(&hash, &current)).await? {
            return Err(AppError::Unauthorized("wrong password".to_string()));
        }
        check_password_rules(new).map_err(|err| AppError::invalid(err.field(), err.to_string()))?;
        let new = new.to_string();
        user.password_hash = blocking(move || hash_password(&new)).await??;
        self.app.backend.update_user(user).await?;
        self.app.backend.delete_user_sessions(user_id).await?;
        Ok(())
    }

    /// Deletes the sessions that expired (the worker runs it now and then); returns how many.
    pub async fn delete_expired_sessions(&self) -> Result<u64, AppError> {
        Ok(self.app.backend.delete_expired_sessions(self.app.now()).await?)
    }

    fn limiter(&self) -> std::sync::MutexGuard<'_, Limiter> {
        // The counters stay consistent even if a holder panicked: every change is one step.
        self.limiter.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether a submitted form carries the session's CSRF token, compared in constant time.
pub fn check_csrf(session: &Session, submitted: &str) -> bool {
    session.csrf_token.as_bytes().ct_eq(submitted.as_bytes()).into()
}

/// Whether two form tokens are equal, compared in constant time (the sign-in form's token
/// against its cookie, before there is a session).
pub fn same_token(expected: &str, submitted: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
}

/// 32 random bytes, hex: session tokens, CSRF tokens, the sign-in form's token.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The argon2id PHC string of a password, with a random 16-byte salt.
fn hash_password(password: &str) -> Result<String, AppError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|err| internal(format!("cannot encode a salt: {err}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| internal(format!("cannot hash a password: {err}")))
}

/// Whether `password` matches the PHC string `hash` (with the parameters the hash names).
fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Runs CPU-heavy work (hashing) on the blocking pool.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| internal(format!("password hashing failed: {err}")))
}

fn internal(message: String) -> AppError {
    AppError::Store(StoreError::Other(message))
}

/// Failed sign-ins per key (`email:…`, `client:…`) and the keys locked out.
#[derive(Default)]
struct Limiter {
    keys: HashMap<String, Attempts>,
}

#[derive(Default)]
struct Attempts {
    /// Times of the failures within the window, oldest first.
    failures: VecDeque<OffsetDateTime>,
    locked_until: Option<OffsetDateTime>,
}

impl Limiter {
    /// The latest instant until which one of `keys` is locked, if any is locked at `now`.
    fn locked_until(&self, keys: &[&str], now: OffsetDateTime) -> Option<OffsetDateTime> {
        keys.iter()
            .filter_map(|key| self.keys.get(*key)?.locked_until)
            .filter(|until| *until > now)
            .max()
    }

    fn record_failure(&mut self, key: &str, now: OffsetDateTime, limit: usize, config: &AccountsConfig) {
        if self.keys.len() >= MAX_TRACKED_KEYS && !self.keys.contains_key(key) {
            self.prune(now, config.failure_window);
        }
        let attempts = self.keys.entry(key.to_string()).or_default();
        while attempts
            .failures
            .front()
            .is_some_and(|at| *at <= now - config.failure_window)
        {
            attempts.failures.pop_front();
        }
        attempts.failures.push_back(now);
        if attempts.failures.len() >= limit {
            attempts.failures.clear();
            attempts.locked_until = Some(now + config.lockout);
        }
    }

    fn forget(&mut self, key: &str) {
        self.keys.remove(key);
    }

    /// Drops the counters that no longer count; if that is not enough, the stalest half.
    fn prune(&mut self, now: OffsetDateTime, window: Duration) {
        self.keys.retain(|_, attempts| {
            attempts.locked_until.is_some_and(|until| until > now)
                || attempts.failures.back().is_some_and(|at| *at > now - window)
        });
        if self.keys.len() >= MAX_TRACKED_KEYS {
            let mut newest: Vec<OffsetDateTime> = self
                .keys
                .values()
                .filter_map(|attempts| attempts.failures.back().copied().or(attempts.locked_until))
                .collect();
            newest.sort_unstable();
            if let Some(cut) = newest.get(newest.len() / 2).copied() {
                self.keys.retain(|_, attempts| {
                    attempts
                        .failures
                        .back()
                        .copied()
                        .or(attempts.locked_until)
                        .is_some_and(|at| at >= cut)
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_does() {
        let dummy = PasswordHash::new(DUMMY_HASH).expect("a PHC string");
        let real_hash = hash_password("a real password").expect("hashed");
        let real = PasswordHash::new(&real_hash).expect("a PHC string");
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params);
        assert!(real_hash.starts_with("$argon2id$"));
        assert!(verify_password(&real_hash, "a real password"));
        assert!(!verify_password(&real_hash, "a real passwore"));
        assert!(!verify_password(DUMMY_HASH, ""));
        assert!(!verify_password("not a hash", "a real password"));
    }

    #[test]
    fn csrf_tokens_must_match_exactly() {
        let at = OffsetDateTime::UNIX_EPOCH;
        let session = Session {
            token_hash: "h".into(),
            user_id: UserId::new(),
            csrf_token: random_token(),
            created_at: at,
            expires_at: at,
            last_seen_at: at,
        };
        assert!(check_csrf(&session, &session.csrf_token.clone()));
        assert!(!check_csrf(&session, ""));
        assert!(!check_csrf(&session, &session.csrf_token[..63]));
        assert!(!check_csrf(&session, &random_token()));
    }

    #[test]
    fn the_limiter_locks_after_the_limit_and_forgets_old_failures() {
        let config = AccountsConfig::default();
        let mut limiter = Limiter::default();
        let start = OffsetDateTime::UNIX_EPOCH;
        // Four failures, then one after the window: no lock.
        for minute in 0..4 {
            limiter.record_failure("k", start + Duration::minutes(minute), 5, &config);
        }
        limiter.record_failure("k", start + Duration::minutes(16), 5, &config);
        assert_eq!(limiter.locked_until(&["k"], start + Duration::minutes(16)), None);
        for minute in 17..21 {
            limiter.record_failure("k", start + Duration::minutes(minute), 5, &config);
        }
        let until = start + Duration::minutes(35);
        assert_eq!(
            limiter.locked_until(&["other", "k"], start + Duration::minutes(20)),
            Some(until)
        );
        assert_eq!(limiter.locked_until(&["k"], until), None);
        limiter.prune(until + Duration::minutes(30), config.failure_window);
        assert!(limiter.keys.is_empty());
    }
}
