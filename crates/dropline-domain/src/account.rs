//! People who sign in to the dashboard: their roles and what each role may reach, their
//! email addresses, the rules of a password, and their sessions.
//!
//! A role's reach: an `operator` runs the installation and sees every store; a `seller`
//! and the seller's `staff` see their own store only, and staff may not change its
//! settings. Who may create whom is [`Caller::may_create`].
//!
//! Passwords are never held here in clear beyond the rules check, and a user's password hash
//! and a session's CSRF token never show in `Debug` output.

use crate::OffsetDateTime;
use crate::ids::{StoreId, UserId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted, in characters (hashing cost is bounded).
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Longest email address accepted (RFC 5321's path limit).
const MAX_EMAIL_CHARS: usize = 254;

/// Why an account input was refused. Each names the field it is about ([`Self::field`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("not a valid email address")]
    InvalidEmail,
    #[error("{0}")]
    InvalidPassword(&'static str),
    #[error("a {0} belongs to one store: store_id is required")]
    StoreRequired(Role),
    #[error("an operator reaches every store: it has no store_id")]
    StoreNotAllowed,
    #[error("{0}")]
    NotAllowed(&'static str),
}

impl AccountError {
    /// The input field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            Self::InvalidEmail => "email",
            Self::InvalidPassword(_) => "password",
            Self::StoreRequired(_) | Self::StoreNotAllowed => "store_id",
            Self::NotAllowed(_) => "role",
        }
    }
}

/// What a user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the installation: every store, every setting.
    Operator,
    /// Owns one store: its orders, catalogue and settings, and its people.
    Seller,
    /// Works for one store: its orders and catalogue, not its settings.
    Staff,
}

impl Role {
    /// Every role, for listings and help texts.
    pub const ALL: [Role; 3] = [Role::Operator, Role::Seller, Role::Staff];

    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Seller => "seller",
            Self::Staff => "staff",
        }
    }

    /// Parses the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str() == text)
    }

    /// Whether the role may change a store's settings (staff may not).
    pub fn can_change_settings(&self) -> bool {
        matches!(self, Self::Operator | Self::Seller)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An email address as dropline keeps it: trimmed and lower-cased, so that one person has
/// one account whatever the case they type. The check is deliberately loose (one `@`, a
/// dotted domain, no spaces): the address is a sign-in name, not yet a delivery address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Checks and normalises an address.
    pub fn parse(text: &str) -> Result<Self, AccountError> {
        let email = text.trim().to_lowercase();
        let Some((local, domain)) = email.split_once('@') else {
            return Err(AccountError::InvalidEmail);
        };
        let valid = !local.is_empty()
            && email.chars().count() <= MAX_EMAIL_CHARS
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if valid {
            Ok(Self(email))
        } else {
            Err(AccountError::InvalidEmail)
        }
    }

    /// The address as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a new password: 12 to 256 characters, not one character repeated. Length beats
/// composition rules; the upper bound keeps hashing cost bounded.
pub fn check_password_rules(password: &str) -> Result<(), AccountError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(AccountError::InvalidPassword("must be at least 12 characters long"));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(AccountError::InvalidPassword("must be at most 256 characters long"));
    }
    let mut all = password.chars();
    let first = all.next();
    if all.all(|c| Some(c) == first) {
        return Err(AccountError::InvalidPassword("must not be one character repeated"));
    }
    Ok(())
}

/// Checks that a role and a store go together: an operator has no store, anyone else has one.
pub fn check_role_store(role: Role, store_id: Option<StoreId>) -> Result<(), AccountError> {
    match (role, store_id) {
        (Role::Operator, Some(_)) => Err(AccountError::StoreNotAllowed),
        (Role::Seller | Role::Staff, None) => Err(AccountError::StoreRequired(role)),
        _ => Ok(()),
    }
}

/// A person who signs in to the dashboard.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    /// The name shown in the dashboard and on timelines.
    pub name: String,
    pub role: Role,
    /// The store of a seller or staff; `None` only for an operator.
    pub store_id: Option<StoreId>,
    /// The argon2id hash of the password, as a PHC string; never serialised outward by an
    /// interface and hidden from `Debug`.
    pub password_hash: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// A disabled user cannot sign in and their sessions no longer count.
    pub disabled: bool,
}

impl User {
    /// The stores the user reaches: `None` for every store (an operator), else their own.
    pub fn store_reach(&self) -> Option<StoreId> {
        match self.role {
            Role::Operator => None,
            Role::Seller | Role::Staff => self.store_id,
        }
    }

    /// The user as the caller of a use case.
    pub fn caller(&self) -> Caller {
        Caller {
            role: self.role,
            store_id: self.store_id,
        }
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("store_id", &self.store_id)
            .field("password_hash", &"<hidden>")
            .field("created_at", &self.created_at)
            .field("disabled", &self.disabled)
            .finish()
    }
}

/// Who asks for an account change: a signed-in user, or the installation's operator at the
/// command line ([`Caller::operator`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    pub role: Role,
    /// The caller's store (`None` for an operator).
    pub store_id: Option<StoreId>,
}

impl Caller {
    /// The operator (command line, admin token): reaches everything.
    pub fn operator() -> Self {
        Self {
            role: Role::Operator,
            store_id: None,
        }
    }

    /// Whether the caller may see and change data of `store_id`.
    pub fn reaches(&self, store_id: StoreId) -> bool {
        match self.role {
            Role::Operator => true,
            Role::Seller | Role::Staff => self.store_id == Some(store_id),
        }
    }

    /// Whether the caller may create a user of `role` in `store_id`: an operator creates
    /// anyone, a seller creates sellers and staff of its own store, staff create no one.
    /// The pair itself must be consistent ([`check_role_store`]).
    pub fn may_create(&self, role: Role, store_id: Option<StoreId>) -> Result<(), AccountError> {
        check_role_store(role, store_id)?;
        match self.role {
            Role::Operator => Ok(()),
            Role::Staff => Err(AccountError::NotAllowed("staff may not create users")),
            Role::Seller if role == Role::Operator => {
                Err(AccountError::NotAllowed("a seller may not create an operator"))
            }
            Role::Seller if store_id != self.store_id => Err(AccountError::NotAllowed(
                "a seller may create users of its own store only",
            )),
            Role::Seller => Ok(()),
        }
    }
}

/// A signed-in browser. The browser holds a random token; only its SHA-256 is kept here, so
/// a copy of the database does not sign anyone in.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// SHA-256 of the browser's token, hex.
    pub token_hash: String,
    pub user_id: UserId,
    /// The token every form of the session must carry (random, per session).
    pub csrf_token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The session counts until this instant (exclusive).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// When the session was last used (updated at most about once a minute).
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
}

impl Session {
    /// Whether the session still counts at `now`.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        now < self.expires_at
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("token_hash", &self.token_hash)
            .field("user_id", &self.user_id)
            .field("csrf_token", &"<hidden>")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("last_seen_at", &self.last_seen_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lower_cased_and_checked() {
        assert_eq!(
            Email::parse("  Ana.Silva@Example.COM ").map(|e| e.to_string()),
            Ok("ana.silva@example.com".to_string())
        );
        for bad in [
            "",
            "ana",
            "@example.com",
            "ana@",
            "ana@example",
            "ana@@example.com",
            "a na@example.com",
            "ana@.com",
            "ana@example..com",
        ] {
            assert_eq!(Email::parse(bad), Err(AccountError::InvalidEmail), "{bad}");
        }
    }

    #[test]
    fn password_rules() {
        assert!(check_password_rules("correct horse").is_ok());
        assert!(check_password_rules("ééééééééééé1").is_ok());
        for (bad, reason) in [
            ("short", "at least 12"),
            ("aaaaaaaaaaaaaaaa", "repeated"),
            (&"x1".repeat(129), "at most 256"),
        ] {
            let err = check_password_rules(bad).expect_err("refused");
            assert_eq!(err.field(), "password");
            assert!(err.to_string().contains(reason), "{err}");
        }
        // Counted in characters, not bytes.
        assert!(check_password_rules("éééééé12345").is_err());
    }

    #[test]
    fn who_may_create_whom() {
        let (own, other) = (StoreId::new(), StoreId::new());
        let operator = Caller::operator();
        let seller = Caller {
            role: Role::Seller,
            store_id: Some(own),
        };
        let staff = Caller {
            role: Role::Staff,
            store_id: Some(own),
        };
        assert_eq!(operator.may_create(Role::Operator, None), Ok(()));
        assert_eq!(operator.may_create(Role::Seller, Some(other)), Ok(()));
        assert_eq!(
            operator.may_create(Role::Operator, Some(own)),
            Err(AccountError::StoreNotAllowed)
        );
        assert_eq!(
            operator.may_create(Role::Staff, None),
            Err(AccountError::StoreRequired(Role::Staff))
        );
        assert_eq!(seller.may_create(Role::Staff, Some(own)), Ok(()));
        assert_eq!(seller.may_create(Role::Seller, Some(own)), Ok(()));
        assert!(matches!(
            seller.may_create(Role::Staff, Some(other)),
            Err(AccountError::NotAllowed(_))
        ));
        assert!(matches!(
            seller.may_create(Role::Operator, None),
            Err(AccountError::NotAllowed(_))
        ));
        assert!(matches!(
            staff.may_create(Role::Staff, Some(own)),
            Err(AccountError::NotAllowed(_))
        ));
        assert!(seller.reaches(own) && !seller.reaches(other) && operator.reaches(other));
    }

    #[test]
    fn roles_round_trip_and_settings_rights() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(serde_json::to_value(role).ok(), Some(serde_json::json!(role.as_str())));
        }
        assert!(Role::Seller.can_change_settings() && !Role::Staff.can_change_settings());
    }

    #[test]
    fn debug_hides_the_hash_and_the_csrf_token() {
        let at = time::macros::datetime!(2026-01-01 00:00 UTC);
        let user = User {
            id: UserId::new(),
            email: Email::parse("a@example.com").expect("an email"),
            name: "A".into(),
            role: Role::Operator,
            store_id: None,
            password_hash: "$argon2id$secret-hash".into(),
            created_at: at,
            disabled: false,
        };
        assert!(!format!("{user:?}").contains("secret-hash"));
        let session = Session {
            token_hash: "h".into(),
            user_id: user.id,
            csrf_token: "csrf-secret".into(),
            created_at: at,
            expires_at: at,
            last_seen_at: at,
        };
        assert!(!format!("{session:?}").contains("csrf-secret"));
        assert!(!session.is_live(at));
    }
}
