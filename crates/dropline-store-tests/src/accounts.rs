//! Conformance cases of dashboard users and sessions, with their builders.
//!
//! Behaviour the suite fixes where `ports.rs` is silent:
//! - `list_users` gives users oldest first (by id); `None` gives every user, operators too;
//! - `update_user` keeps the email and the creation time;
//! - `delete_expired_sessions(now)` deletes the sessions with `expires_at <= now`;
//! - `touch_session` and `delete_session` of an unknown session do nothing.

use crate::builders::{at, store_record};
use dropline_app::ports::{Backend, StoreError};
use dropline_domain::account::{Email, Role, Session, User};
use dropline_domain::ids::{StoreId, UserId};
use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

fn unique() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A user of `role` (in `store_id` unless an operator), with a unique email.
pub fn user(role: Role, store_id: Option<StoreId>) -> User {
    let n = unique();
    User {
        id: UserId::new(),
        email: Email::parse(&format!("user{n}@example.com")).unwrap(),
        name: format!("User {n}"),
        role,
        store_id,
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$hash{n}"),
        created_at: at(n as i64),
        disabled: false,
    }
}

/// A session of `user_id` created at `at(created)`, expiring at `at(expires)`.
pub fn session(user_id: UserId, created: i64, expires: i64) -> Session {
    let n = unique();
    Session {
        token_hash: format!("{n:064x}"),
        user_id,
        csrf_token: format!("csrf-{n}"),
        created_at: at(created),
        expires_at: at(expires),
        last_seen_at: at(created),
    }
}

#[track_caller]
fn assert_conflict<T: Debug>(result: Result<T, StoreError>) {
    match result {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
}

#[track_caller]
fn assert_not_found<T: Debug>(result: Result<T, StoreError>) {
    match result {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

/// A user reads back whole by id and by email; a second user with the same email (or id)
/// is refused; a user of an unknown store is refused.
pub async fn users_insert_get_by_email_and_unique_email<B: Backend>(backend: Arc<B>) {
    let shop = store_record();
    backend.insert_store(shop.clone()).await.unwrap();
    let seller = user(Role::Seller, Some(shop.store.id));
    backend.insert_user(seller.clone()).await.unwrap();
    assert_eq!(backend.get_user(seller.id).await.unwrap(), Some(seller.clone()));
    assert_eq!(
        backend.user_by_email(&seller.email).await.unwrap(),
        Some(seller.clone())
    );
    assert_eq!(backend.get_user(UserId::new()).await.unwrap(), None);
    let unknown = Email::parse("nobody@example.com").unwrap();
    assert_eq!(backend.user_by_email(&unknown).await.unwrap(), None);

    let mut same_email = user(Role::Operator, None);
    same_email.email = seller.email.clone();
    assert_conflict(backend.insert_user(same_email).await);
    let mut same_id = user(Role::Operator, None);
    same_id.id = seller.id;
    assert_conflict(backend.insert_user(same_id).await);
    assert_not_found(backend.insert_user(user(Role::Staff, Some(StoreId::new()))).await);
    assert_eq!(backend.list_users(None).await.unwrap(), vec![seller]);
}

/// An update replaces name, role, store, hash and the disabled flag; email and creation
/// time stay; an unknown user is `NotFound`.
pub async fn users_update_and_unknown_is_not_found<B: Backend>(backend: Arc<B>) {
    let shop = store_record();
    backend.insert_store(shop.clone()).await.unwrap();
    let staff = user(Role::Staff, Some(shop.store.id));
    backend.insert_user(staff.clone()).await.unwrap();
    let mut changed = staff.clone();
    changed.name = "Renamed".into();
    changed.role = Role::Seller;
    changed.password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$other".into();
    changed.disabled = true;
    changed.email = Email::parse("ignored@example.com").unwrap();
    changed.created_at = at(999_999);
    backend.update_user(changed.clone()).await.unwrap();
    let stored = backend.get_user(staff.id).await.unwrap().unwrap();
    assert_eq!(
        stored,
        User {
            email: staff.email.clone(),
            created_at: staff.created_at,
            ..changed
        }
    );
    assert_not_found(backend.update_user(user(Role::Operator, None)).await);
}

/// Users listed per store, or all of them (operators too), oldest first.
pub async fn users_list_by_store<B: Backend>(backend: Arc<B>) {
    let (first, second) = (store_record(), store_record());
    backend.insert_store(first.clone()).await.unwrap();
    backend.insert_store(second.clone()).await.unwrap();
    let operator = user(Role::Operator, None);
    let seller = user(Role::Seller, Some(first.store.id));
    let staff = user(Role::Staff, Some(first.store.id));
    let other = user(Role::Seller, Some(second.store.id));
    for u in [&operator, &seller, &staff, &other] {
        backend.insert_user(u.clone()).await.unwrap();
    }
    assert_eq!(
        backend.list_users(Some(first.store.id)).await.unwrap(),
        vec![seller.clone(), staff.clone()]
    );
    assert_eq!(
        backend.list_users(Some(second.store.id)).await.unwrap(),
        vec![other.clone()]
    );
    assert_eq!(backend.list_users(Some(StoreId::new())).await.unwrap(), vec![]);
    assert_eq!(
        backend.list_users(None).await.unwrap(),
        vec![operator, seller, staff, other]
    );
}

/// Sessions read back by token hash, are touched, deleted alone or all of a user's, and
/// refused for a taken hash or an unknown user.
pub async fn sessions_by_hash_touch_and_delete<B: Backend>(backend: Arc<B>) {
    let operator = user(Role::Operator, None);
    backend.insert_user(operator.clone()).await.unwrap();
    let (one, two) = (session(operator.id, 10, 100), session(operator.id, 20, 200));
    backend.insert_session(one.clone()).await.unwrap();
    backend.insert_session(two.clone()).await.unwrap();
    assert_eq!(
        backend.session_by_token_hash(&one.token_hash).await.unwrap(),
        Some(one.clone())
    );
    assert_eq!(backend.session_by_token_hash("unknown").await.unwrap(), None);
    assert_conflict(backend.insert_session(one.clone()).await);
    assert_not_found(backend.insert_session(session(UserId::new(), 0, 10)).await);

    backend.touch_session(&one.token_hash, at(50), at(150)).await.unwrap();
    let touched = backend.session_by_token_hash(&one.token_hash).await.unwrap().unwrap();
    assert_eq!((touched.last_seen_at, touched.expires_at), (at(50), at(150)));
    backend.touch_session("unknown", at(50), at(150)).await.unwrap();

    backend.delete_session(&one.token_hash).await.unwrap();
    backend.delete_session(&one.token_hash).await.unwrap();
    assert_eq!(backend.session_by_token_hash(&one.token_hash).await.unwrap(), None);
    assert_eq!(
        backend.session_by_token_hash(&two.token_hash).await.unwrap(),
        Some(two.clone())
    );

    let three = session(operator.id, 30, 300);
    backend.insert_session(three.clone()).await.unwrap();
    assert_eq!(backend.delete_user_sessions(operator.id).await.unwrap(), 2);
    assert_eq!(backend.session_by_token_hash(&three.token_hash).await.unwrap(), None);
    assert_eq!(backend.delete_user_sessions(operator.id).await.unwrap(), 0);
}

/// The sweep deletes exactly the sessions expired at `now` (`expires_at <= now`).
pub async fn sessions_expired_are_swept<B: Backend>(backend: Arc<B>) {
    let operator = user(Role::Operator, None);
    backend.insert_user(operator.clone()).await.unwrap();
    let sessions = [
        session(operator.id, 0, 100),
        session(operator.id, 0, 200),
        session(operator.id, 0, 201),
    ];
    for s in &sessions {
        backend.insert_session(s.clone()).await.unwrap();
    }
    assert_eq!(backend.delete_expired_sessions(at(50)).await.unwrap(), 0);
    assert_eq!(backend.delete_expired_sessions(at(200)).await.unwrap(), 2);
    assert_eq!(
        backend.session_by_token_hash(&sessions[0].token_hash).await.unwrap(),
        None
    );
    assert_eq!(
        backend.session_by_token_hash(&sessions[1].token_hash).await.unwrap(),
        None
    );
    assert_eq!(
        backend.session_by_token_hash(&sessions[2].token_hash).await.unwrap(),
        Some(sessions[2].clone())
    );
}
