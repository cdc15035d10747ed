//! The account use cases (create users, sign in with its rate limit, sessions, CSRF) over the
//! real SQLite store in a temporary directory, with a clock the tests move.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use dropline_app::accounts::{Accounts, AccountsConfig, NewUser, WRONG_CREDENTIALS, check_csrf};
use dropline_app::{App, AppError, NewStore, Scope};
use dropline_domain::account::{Caller, Role, User};
use dropline_domain::catalog::{Platform, StoreConnection, StoreSettings};
use dropline_domain::ids::StoreId;
use dropline_domain::money::Currency;
use dropline_store_sqlite::{SqliteOptions, SqliteStore};
use std::sync::{Arc, Mutex};
use time::{Duration, OffsetDateTime};

const PASSWORD: &str = "correct horse battery";

struct Harness {
    accounts: Accounts,
    app: App,
    clock: Arc<Mutex<OffsetDateTime>>,
    _dir: tempfile::TempDir,
}

impl Harness {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("dropline.db"), SqliteOptions::default()).unwrap();
        let clock = Arc::new(Mutex::new(time::macros::datetime!(2026-03-01 09:00 UTC)));
        let read = Arc::clone(&clock);
        let app = App::new(Arc::new(store)).with_clock(move || *read.lock().unwrap());
        Self {
            accounts: Accounts::new(app.clone()),
            app,
            clock,
            _dir: dir,
        }
    }

    fn advance(&self, by: Duration) {
        *self.clock.lock().unwrap() += by;
    }

    async fn store(&self) -> StoreId {
        let new = NewStore {
            name: "Mugs".into(),
            platform: Platform::Api,
            currency: Currency::parse("EUR").unwrap(),
            address: None,
            settings: StoreSettings::default(),
            connection: StoreConnection::default(),
        };
        self.app.create_store(Scope::Operator, new).await.unwrap().0.store.id
    }

    async fn user(&self, email: &str, role: Role, store_id: Option<StoreId>) -> User {
        self.accounts
            .create_user(Caller::operator(), new_user(email, role, store_id))
            .await
            .unwrap()
    }
}

fn new_user(email: &str, role: Role, store_id: Option<StoreId>) -> NewUser {
    NewUser {
        email: email.into(),
        name: "Ana Silva".into(),
        role,
        store_id,
        password: PASSWORD.into(),
    }
}

#[track_caller]
fn assert_wrong_credentials<T: std::fmt::Debug>(result: Result<T, AppError>) {
    match result {
        Err(AppError::Unauthorized(message)) => assert_eq!(message, WRONG_CREDENTIALS),
        other => panic!("expected the wrong-credentials error, got {other:?}"),
    }
}

#[track_caller]
fn assert_invalid_field<T: std::fmt::Debug>(result: Result<T, AppError>, field: &str) {
    match result {
        Err(AppError::Invalid(fields)) if fields.iter().any(|f| f.field == field) => {}
        other => panic!("expected an invalid {field}, got {other:?}"),
    }
}

#[tokio::test]
async fn sign_in_gives_a_session_found_by_its_token_until_sign_out() {
    let h = Harness::new();
    let user = h.user("Ana@Example.com", Role::Operator, None).await;
    assert_eq!(user.email.as_str(), "ana@example.com");
    assert!(
        user.password_hash.starts_with("$argon2id$v=19$"),
        "{}",
        user.password_hash
    );
    assert!(!format!("{user:?}").contains(&user.password_hash));

    let signed_in = h
        .accounts
        .sign_in(" ANA@example.com", PASSWORD, "10.0.0.1")
        .await
        .unwrap();
    assert_eq!(signed_in.user.id, user.id);
    assert_eq!(signed_in.token.len(), 64);
    assert_ne!(signed_in.session.token_hash, signed_in.token, "only the hash is kept");
    let debug = format!("{signed_in:?}");
    assert!(!debug.contains(&signed_in.token) && !debug.contains(&signed_in.csrf_token));

    let (found, session) = h.accounts.session(&signed_in.token).await.unwrap().unwrap();
    assert_eq!(found.id, user.id);
    assert_eq!(session.expires_at, h.app.now() + Duration::hours(12));
    assert!(check_csrf(&session, &signed_in.csrf_token));
    assert!(!check_csrf(&session, "forged"));
    assert!(h.accounts.session("not a token").await.unwrap().is_none());

    // Use is recorded (at most once a minute).
    h.advance(Duration::minutes(5));
    h.accounts.session(&signed_in.token).await.unwrap().unwrap();
    let (_, seen) = h.accounts.session(&signed_in.token).await.unwrap().unwrap();
    assert_eq!(seen.last_seen_at, h.app.now());

    h.accounts.sign_out(&signed_in.token).await.unwrap();
    assert!(h.accounts.session(&signed_in.token).await.unwrap().is_none());
    h.accounts.sign_out(&signed_in.token).await.unwrap();
}

#[tokio::test]
async fn wrong_password_unknown_email_and_disabled_user_are_refused_alike() {
    let h = Harness::new();
    let user = h.user("ana@example.com", Role::Operator, None).await;
    let wrong = h.accounts.sign_in("ana@example.com", "wrong password!!", "c").await;
    let unknown = h.accounts.sign_in("nobody@example.com", PASSWORD, "c").await;
    let malformed = h.accounts.sign_in("not an email", PASSWORD, "c").await;
    assert_eq!(
        format!("{:?}", wrong.as_ref().unwrap_err()),
        format!("{:?}", unknown.as_ref().unwrap_err())
    );
    assert_wrong_credentials(wrong);
    assert_wrong_credentials(unknown);
    assert_wrong_credentials(malformed);

    let mut disabled = user.clone();
    disabled.disabled = true;
    let signed_in = h.accounts.sign_in("ana@example.com", PASSWORD, "c").await.unwrap();
    h.app.backend().update_user(disabled).await.unwrap();
    assert_wrong_credentials(h.accounts.sign_in("ana@example.com", PASSWORD, "c").await);
    assert!(
        h.accounts.session(&signed_in.token).await.unwrap().is_none(),
        "a disabled user's sessions no longer count"
    );
}

#[tokio::test]
async fn five_failures_lock_an_email_for_fifteen_minutes() {
    let h = Harness::new();
    h.user("ana@example.com", Role::Operator, None).await;
    for _ in 0..5 {
        assert_wrong_credentials(h.accounts.sign_in("ana@example.com", "wrong password!!", "c").await);
        h.advance(Duration::seconds(10));
    }
    // Locked: even the right password is refused, with a distinct error saying when.
    match h.accounts.sign_in("ana@example.com", PASSWORD, "other client").await {
        Err(AppError::RetryLater { reason, after }) => {
            assert!(reason.contains("try again in 15 minute(s)"), "{reason}");
            assert_eq!(after, Some(std::time::Duration::from_secs(14 * 60 + 50)));
        }
        other => panic!("expected RetryLater, got {other:?}"),
    }
    // Another email from the same client is not locked.
    h.user("bo@example.com", Role::Operator, None).await;
    h.accounts.sign_in("bo@example.com", PASSWORD, "c").await.unwrap();

    h.advance(Duration::minutes(15));
    h.accounts.sign_in("ana@example.com", PASSWORD, "c").await.unwrap();
}

#[tokio::test]
async fn a_success_resets_the_failures_of_an_email() {
    let h = Harness::new();
    h.user("ana@example.com", Role::Operator, None).await;
    for _ in 0..4 {
        assert_wrong_credentials(h.accounts.sign_in("ana@example.com", "wrong password!!", "c").await);
    }
    h.accounts.sign_in("ana@example.com", PASSWORD, "c").await.unwrap();
    for _ in 0..4 {
        assert_wrong_credentials(h.accounts.sign_in("ana@example.com", "wrong password!!", "c").await);
    }
    h.accounts.sign_in("ana@example.com", PASSWORD, "c").await.unwrap();
}

#[tokio::test]
async fn too_many_failures_lock_a_client_whatever_the_email() {
    let h = Harness::new();
    h.user("ana@example.com", Role::Operator, None).await;
    let accounts = Accounts::with_config(
        h.app.clone(),
        AccountsConfig {
            max_failures_per_client: 3,
            ..AccountsConfig::default()
        },
    );
    for n in 0..3 {
        assert_wrong_credentials(
            accounts
                .sign_in(&format!("x{n}@example.com"), PASSWORD, "10.0.0.9")
                .await,
        );
    }
    assert!(matches!(
        accounts.sign_in("ana@example.com", PASSWORD, "10.0.0.9").await,
        Err(AppError::RetryLater { .. })
    ));
    accounts
        .sign_in("ana@example.com", PASSWORD, "10.0.0.10")
        .await
        .unwrap();
}

#[tokio::test]
async fn sessions_expire_after_twelve_hours_and_are_swept() {
    let h = Harness::new();
    h.user("ana@example.com", Role::Operator, None).await;
    let signed_in = h.accounts.sign_in("ana@example.com", PASSWORD, "c").await.unwrap();
    h.advance(Duration::hours(12) - Duration::seconds(1));
    assert!(h.accounts.session(&signed_in.token).await.unwrap().is_some());
    h.advance(Duration::seconds(1));
    assert!(h.accounts.session(&signed_in.token).await.unwrap().is_none());
    assert_eq!(h.accounts.delete_expired_sessions().await.unwrap(), 1);
}

#[tokio::test]
async fn who_may_create_whom() {
    let h = Harness::new();
    let (own, other) = (h.store().await, h.store().await);
    let seller = h.user("seller@example.com", Role::Seller, Some(own)).await;
    let staff = h.user("staff@example.com", Role::Staff, Some(own)).await;

    let created = h
        .accounts
        .create_user(
            seller.caller(),
            new_user("new-staff@example.com", Role::Staff, Some(own)),
        )
        .await
        .unwrap();
    assert_eq!((created.role, created.store_id), (Role::Staff, Some(own)));
    for (caller, role, store) in [
        (seller.caller(), Role::Staff, Some(other)),
        (seller.caller(), Role::Operator, None),
        (staff.caller(), Role::Staff, Some(own)),
    ] {
        let result = h
            .accounts
            .create_user(caller, new_user("refused@example.com", role, store))
            .await;
        assert!(
            matches!(result, Err(AppError::Unauthorized(_))),
            "{caller:?} {role}: {result:?}"
        );
    }
    assert_invalid_field(
        h.accounts
            .create_user(Caller::operator(), new_user("x@example.com", Role::Seller, None))
            .await,
        "store_id",
    );
    assert_invalid_field(
        h.accounts
            .create_user(Caller::operator(), new_user("x@example.com", Role::Operator, Some(own)))
            .await,
        "store_id",
    );
    assert_invalid_field(
        h.accounts
            .create_user(
                Caller::operator(),
                new_user("x@example.com", Role::Seller, Some(StoreId::new())),
            )
            .await,
        "store_id",
    );
    assert!(matches!(
        h.accounts
            .create_user(
                Caller::operator(),
                new_user("SELLER@example.com", Role::Staff, Some(own))
            )
            .await,
        Err(AppError::Conflict(_))
    ));

    let listed = |users: Vec<User>| users.into_iter().map(|u| u.email.to_string()).collect::<Vec<_>>();
    assert_eq!(
        listed(h.accounts.list_users(staff.caller()).await.unwrap()),
        ["seller@example.com", "staff@example.com", "new-staff@example.com"]
    );
    let outsider = h.user("outsider@example.com", Role::Seller, Some(other)).await;
    assert_eq!(
        listed(h.accounts.list_users(outsider.caller()).await.unwrap()),
        ["outsider@example.com"]
    );
    assert_eq!(h.accounts.list_users(Caller::operator()).await.unwrap().len(), 4);
}

#[tokio::test]
async fn passwords_and_emails_are_checked_before_anything_is_written() {
    let h = Harness::new();
    let too_long = "ab".repeat(129);
    for (password, reason) in [
        ("short", "at least 12"),
        ("aaaaaaaaaaaaaaaa", "repeated"),
        (too_long.as_str(), "at most 256"),
    ] {
        let mut new = new_user("ana@example.com", Role::Operator, None);
        new.password = password.into();
        assert!(!format!("{new:?}").contains(password));
        match h.accounts.create_user(Caller::operator(), new).await {
            Err(AppError::Invalid(fields)) => {
                assert_eq!(fields[0].field, "password");
                assert!(fields[0].reason.contains(reason), "{fields:?}");
            }
            other => panic!("expected an invalid password, got {other:?}"),
        }
    }
    assert_invalid_field(
        h.accounts
            .create_user(Caller::operator(), new_user("ana at example", Role::Operator, None))
            .await,
        "email",
    );
    assert!(h.accounts.list_users(Caller::operator()).await.unwrap().is_empty());
}

#[tokio::test]
async fn changing_the_password_ends_every_session() {
    let h = Harness::new();
    let user = h.user("ana@example.com", Role::Operator, None).await;
    let signed_in = h.accounts.sign_in("ana@example.com", PASSWORD, "c").await.unwrap();
    assert!(matches!(
        h.accounts
            .change_password(user.id, "not the password", "a new long password")
            .await,
        Err(AppError::Unauthorized(_))
    ));
    assert_invalid_field(h.accounts.change_password(user.id, PASSWORD, "short").await, "password");
    h.accounts
        .change_password(user.id, PASSWORD, "a new long password")
        .await
        .unwrap();
    assert!(h.accounts.session(&signed_in.token).await.unwrap().is_none());
    assert_wrong_credentials(h.accounts.sign_in("ana@example.com", PASSWORD, "c").await);
    h.accounts
        .sign_in("ana@example.com", "a new long password", "c")
        .await
        .unwrap();
}
