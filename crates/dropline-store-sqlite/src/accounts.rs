//! Dashboard users and their sessions: plain rows, no documents.

use crate::sql::{SqlResult, collect, column, conflict_as, first, from_micros, micros, parse_name};
use dropline_app::ports::StoreError;
use dropline_domain::account::{Email, Role, Session, User};
use dropline_domain::ids::{StoreId, UserId};
use rusqlite::{Connection, Row};
use uuid::Uuid;

const USER_COLUMNS: &str = "id, email, name, role, store_id, password_hash, created_at, disabled";
const SESSION_COLUMNS: &str = "token_hash, user_id, csrf_token, created_at, expires_at, last_seen_at";

fn decode_user(row: &Row<'_>) -> Result<User, StoreError> {
    let email: String = column(row, 1)?;
    let role: String = column(row, 3)?;
    Ok(User {
        id: UserId(column(row, 0)?),
        email: Email::parse(&email).map_err(|_| StoreError::Other(format!("stored email '{email}' is not valid")))?,
        name: column(row, 2)?,
        role: parse_name(&role, Role::parse, "role")?,
        store_id: column::<Option<Uuid>>(row, 4)?.map(StoreId),
        password_hash: column(row, 5)?,
        created_at: from_micros(column(row, 6)?)?,
        disabled: column(row, 7)?,
    })
}

fn decode_session(row: &Row<'_>) -> Result<Session, StoreError> {
    Ok(Session {
        token_hash: column(row, 0)?,
        user_id: UserId(column(row, 1)?),
        csrf_token: column(row, 2)?,
        created_at: from_micros(column(row, 3)?)?,
        expires_at: from_micros(column(row, 4)?)?,
        last_seen_at: from_micros(column(row, 5)?)?,
    })
}

pub(crate) fn insert_user(conn: &Connection, user: &User) -> Result<(), StoreError> {
    let sql = format!("INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    conn.prepare_cached(&sql)
        .store()?
        .execute(rusqlite::params![
            user.id.0,
            user.email.as_str(),
            user.name,
            user.role.as_str(),
            user.store_id.map(|id| id.0),
            user.password_hash,
            micros(user.created_at),
            user.disabled,
        ])
        .map_err(conflict_as(|| {
            format!("a user with the id {} or the email {} exists", user.id, user.email)
        }))?;
    Ok(())
}

pub(crate) fn update_user(conn: &Connection, user: &User) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE users SET name = ?2, role = ?3, store_id = ?4, password_hash = ?5, disabled = ?6 WHERE id = ?1",
        )
        .store()?
        .execute(rusqlite::params![
            user.id.0,
            user.name,
            user.role.as_str(),
            user.store_id.map(|id| id.0),
            user.password_hash,
            user.disabled,
        ])
        .store()?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("user {}", user.id)));
    }
    Ok(())
}

pub(crate) fn get_user(conn: &Connection, id: UserId) -> Result<Option<User>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1");
    first(&mut *conn.prepare_cached(&sql).store()?, [id.0], decode_user)
}

pub(crate) fn user_by_email(conn: &Connection, email: &str) -> Result<Option<User>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?1");
    first(&mut *conn.prepare_cached(&sql).store()?, [email], decode_user)
}

pub(crate) fn list_users(conn: &Connection, store_id: Option<StoreId>) -> Result<Vec<User>, StoreError> {
    match store_id {
        Some(store_id) => {
            let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE store_id = ?1 ORDER BY id");
            collect(&mut *conn.prepare_cached(&sql).store()?, [store_id.0], decode_user)
        }
        None => {
            let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY id");
            collect(&mut *conn.prepare_cached(&sql).store()?, [], decode_user)
        }
    }
}

pub(crate) fn insert_session(conn: &Connection, session: &Session) -> Result<(), StoreError> {
    let sql = format!("INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    conn.prepare_cached(&sql)
        .store()?
        .execute(rusqlite::params![
            session.token_hash,
            session.user_id.0,
            session.csrf_token,
            micros(session.created_at),
            micros(session.expires_at),
            micros(session.last_seen_at),
        ])
        .map_err(conflict_as(|| "a session with this token exists".to_string()))?;
    Ok(())
}

pub(crate) fn session_by_token_hash(conn: &Connection, token_hash: &str) -> Result<Option<Session>, StoreError> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = ?1");
    first(&mut *conn.prepare_cached(&sql).store()?, [token_hash], decode_session)
}

pub(crate) fn touch_session(
    conn: &Connection,
    token_hash: &str,
    seen_at: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE sessions SET last_seen_at = ?2, expires_at = ?3 WHERE token_hash = ?1")
        .store()?
        .execute(rusqlite::params![token_hash, seen_at, expires_at])
        .store()?;
    Ok(())
}

pub(crate) fn delete_session(conn: &Connection, token_hash: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM sessions WHERE token_hash = ?1")
        .store()?
        .execute([token_hash])
        .store()?;
    Ok(())
}

pub(crate) fn delete_user_sessions(conn: &Connection, user_id: UserId) -> Result<u64, StoreError> {
    let deleted = conn
        .prepare_cached("DELETE FROM sessions WHERE user_id = ?1")
        .store()?
        .execute([user_id.0])
        .store()?;
    Ok(deleted as u64)
}

pub(crate) fn delete_expired_sessions(conn: &Connection, now: i64) -> Result<u64, StoreError> {
    let deleted = conn
        .prepare_cached("DELETE FROM sessions WHERE expires_at <= ?1")
        .store()?
        .execute([now])
        .store()?;
    Ok(deleted as u64)
}
