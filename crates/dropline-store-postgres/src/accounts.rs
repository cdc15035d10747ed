//! Dashboard users and their sessions: plain rows, no documents.

use crate::error::{corrupt, store_error};
use dropline_app::ports::StoreError;
use dropline_domain::account::{Email, Role, Session, User};
use dropline_domain::ids::{StoreId, UserId};
use sqlx::Row;
use sqlx::postgres::PgRow;
use time::OffsetDateTime;
use uuid::Uuid;

const USER_COLUMNS: &str = "id, email, name, role, store_id, password_hash, created_at, disabled";
const SESSION_COLUMNS: &str = "token_hash, user_id, csrf_token, created_at, expires_at, last_seen_at";

fn get<'r, T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>>(
    row: &'r PgRow,
    column: &str,
    what: &str,
) -> Result<T, StoreError> {
    row.try_get(column).map_err(|err| corrupt(what, err))
}

fn user_from_row(row: &PgRow) -> Result<User, StoreError> {
    let email: String = get(row, "email", "user")?;
    let role: String = get(row, "role", "user")?;
    Ok(User {
        id: UserId(get(row, "id", "user")?),
        email: Email::parse(&email).map_err(|err| corrupt("user email", err))?,
        name: get(row, "name", "user")?,
        role: Role::parse(&role).ok_or_else(|| corrupt("user role", &role))?,
        store_id: get::<Option<Uuid>>(row, "store_id", "user")?.map(StoreId),
        password_hash: get(row, "password_hash", "user")?,
        created_at: get(row, "created_at", "user")?,
        disabled: get(row, "disabled", "user")?,
    })
}

fn session_from_row(row: &PgRow) -> Result<Session, StoreError> {
    Ok(Session {
        token_hash: get(row, "token_hash", "session")?,
        user_id: UserId(get(row, "user_id", "session")?),
        csrf_token: get(row, "csrf_token", "session")?,
        created_at: get(row, "created_at", "session")?,
        expires_at: get(row, "expires_at", "session")?,
        last_seen_at: get(row, "last_seen_at", "session")?,
    })
}

impl crate::PostgresStore {
    pub(crate) async fn insert_user_record(&self, user: User) -> Result<(), StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        )))
        .bind(user.id.0)
        .bind(user.email.as_str())
        .bind(&user.name)
        .bind(user.role.as_str())
        .bind(user.store_id.map(|id| id.0))
        .bind(&user.password_hash)
        .bind(user.created_at)
        .bind(user.disabled)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    pub(crate) async fn update_user_record(&self, user: User) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE users SET name = $2, role = $3, store_id = $4, password_hash = $5, disabled = $6 WHERE id = $1",
        )
        .bind(user.id.0)
        .bind(&user.name)
        .bind(user.role.as_str())
        .bind(user.store_id.map(|id| id.0))
        .bind(&user.password_hash)
        .bind(user.disabled)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user {}", user.id)));
        }
        Ok(())
    }

    pub(crate) async fn fetch_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id = $1"
        )))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub(crate) async fn fetch_user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE email = $1"
        )))
        .bind(email.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub(crate) async fn fetch_users(&self, store_id: Option<StoreId>) -> Result<Vec<User>, StoreError> {
        let query = match store_id {
            Some(store_id) => sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {USER_COLUMNS} FROM users WHERE store_id = $1 ORDER BY id"
            )))
            .bind(store_id.0),
            None => sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {USER_COLUMNS} FROM users ORDER BY id"
            ))),
        };
        let rows = query.fetch_all(&self.pool).await.map_err(store_error)?;
        rows.iter().map(user_from_row).collect()
    }

    pub(crate) async fn insert_session_record(&self, session: Session) -> Result<(), StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
        )))
        .bind(&session.token_hash)
        .bind(session.user_id.0)
        .bind(&session.csrf_token)
        .bind(session.created_at)
        .bind(session.expires_at)
        .bind(session.last_seen_at)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    pub(crate) async fn fetch_session(&self, token_hash: &str) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = $1"
        )))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.as_ref().map(session_from_row).transpose()
    }

    pub(crate) async fn touch_session_record(
        &self,
        token_hash: &str,
        seen_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE token_hash = $1")
            .bind(token_hash)
            .bind(seen_at)
            .bind(expires_at)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    pub(crate) async fn delete_session_record(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    pub(crate) async fn delete_sessions_of_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let result = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id.0)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(result.rows_affected())
    }

    pub(crate) async fn delete_sessions_expired_at(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let result = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(result.rows_affected())
    }
}
