//! Vendor payouts, plain rows, and the walk over a store's delivered orders that a vendor's
//! earnings are derived from.

use crate::error::{corrupt, store_error};
use crate::page_limit;
use dropline_app::ports::{PayoutFilter, PayoutTotals, StoreError};
use dropline_domain::ids::{OrderId, PayoutId, StoreId};
use dropline_domain::money::{Currency, Money};
use dropline_domain::order::Order;
use dropline_domain::payout::{Payout, PayoutState};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};
use uuid::Uuid;

const PAYOUT_COLUMNS: &str = "id, store_id, currency, amount_minor, state, created_at, closed_at, reference, note";

/// The most delivered orders one page gives.
const DELIVERED_PAGE_LIMIT: u32 = 1_000;

fn get<'r, T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>>(
    row: &'r PgRow,
    column: &str,
) -> Result<T, StoreError> {
    row.try_get(column).map_err(|err| corrupt("payout", err))
}

fn payout_from_row(row: &PgRow) -> Result<Payout, StoreError> {
    let currency: String = get(row, "currency")?;
    let state: String = get(row, "state")?;
    Ok(Payout {
        id: PayoutId(get(row, "id")?),
        store_id: StoreId(get(row, "store_id")?),
        amount: Money::new(
            get(row, "amount_minor")?,
            Currency::parse(&currency).map_err(|err| corrupt("payout currency", err))?,
        ),
        state: PayoutState::parse(&state).ok_or_else(|| corrupt("payout state", &state))?,
        created_at: get(row, "created_at")?,
        closed_at: get(row, "closed_at")?,
        reference: get(row, "reference")?,
        note: get(row, "note")?,
    })
}

impl crate::PostgresStore {
    pub(crate) async fn insert_payout_record(&self, payout: Payout, expected: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        // The store's row lock orders the payouts of one store: a second payout made at the
        // same time waits here, then sees the first one in its sum.
        let store = sqlx::query("SELECT id FROM stores WHERE id = $1 FOR UPDATE")
            .bind(payout.store_id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(store_error)?;
        if store.is_none() {
            return Err(StoreError::NotFound(format!("store {}", payout.store_id)));
        }
        let counted: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(amount_minor), 0)::BIGINT FROM payouts WHERE store_id = $1 AND state <> 'cancelled'",
        )
        .bind(payout.store_id.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(store_error)?;
        if counted != expected {
            return Err(StoreError::Conflict(format!(
                "the payouts of store {} changed meanwhile",
                payout.store_id
            )));
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO payouts ({PAYOUT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        )))
        .bind(payout.id.0)
        .bind(payout.store_id.0)
        .bind(payout.amount.currency.code())
        .bind(payout.amount.minor)
        .bind(payout.state.as_str())
        .bind(payout.created_at)
        .bind(payout.closed_at)
        .bind(&payout.reference)
        .bind(&payout.note)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)
    }

    pub(crate) async fn update_payout_record(&self, payout: Payout, from: PayoutState) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE payouts SET state = $2, closed_at = $3, reference = $4, note = $5 WHERE id = $1 AND state = $6",
        )
        .bind(payout.id.0)
        .bind(payout.state.as_str())
        .bind(payout.closed_at)
        .bind(&payout.reference)
        .bind(&payout.note)
        .bind(from.as_str())
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        if result.rows_affected() == 0 {
            return Err(match self.fetch_payout(payout.id).await? {
                Some(stored) => StoreError::Conflict(format!("payout {} is {} now", payout.id, stored.state)),
                None => StoreError::NotFound(format!("payout {}", payout.id)),
            });
        }
        Ok(())
    }

    pub(crate) async fn fetch_payout(&self, id: PayoutId) -> Result<Option<Payout>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PAYOUT_COLUMNS} FROM payouts WHERE id = $1"
        )))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.as_ref().map(payout_from_row).transpose()
    }

    pub(crate) async fn fetch_payouts(&self, filter: &PayoutFilter) -> Result<Vec<Payout>, StoreError> {
        let mut query: QueryBuilder<Postgres> =
            QueryBuilder::new(format!("SELECT {PAYOUT_COLUMNS} FROM payouts WHERE TRUE"));
        if let Some(store_id) = filter.store_id {
            query.push(" AND store_id = ").push_bind(store_id.0);
        }
        if let Some(state) = filter.state {
            query.push(" AND state = ").push_bind(state.as_str());
        }
        if let Some(before) = filter.before {
            query.push(" AND id < ").push_bind(before.0);
        }
        query
            .push(" ORDER BY id DESC LIMIT ")
            .push_bind(page_limit(filter.limit));
        let rows = query.build().fetch_all(&self.pool).await.map_err(store_error)?;
        rows.iter().map(payout_from_row).collect()
    }

    pub(crate) async fn fetch_payout_totals(&self, store_id: StoreId) -> Result<PayoutTotals, StoreError> {
        let rows = sqlx::query(
            "SELECT state, SUM(amount_minor)::BIGINT AS sum FROM payouts WHERE store_id = $1 GROUP BY state",
        )
        .bind(store_id.0)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        let mut totals = PayoutTotals::default();
        for row in &rows {
            let state: String = get(row, "state")?;
            let sum: i64 = get(row, "sum")?;
            match PayoutState::parse(&state).ok_or_else(|| corrupt("payout state", &state))? {
                PayoutState::Pending => totals.pending_minor = sum,
                PayoutState::Paid => totals.paid_minor = sum,
                PayoutState::Cancelled => {}
            }
        }
        Ok(totals)
    }

    pub(crate) async fn fetch_delivered_orders(
        &self,
        store_id: StoreId,
        after: Option<OrderId>,
        limit: u32,
    ) -> Result<Vec<Order>, StoreError> {
        let rows = sqlx::query(
            "SELECT o.doc, o.version FROM order_facts f JOIN orders o ON o.id = f.order_id \
             WHERE f.store_id = $1 AND f.delivered_at IS NOT NULL AND f.order_id > $2 \
             ORDER BY f.order_id LIMIT $3",
        )
        .bind(store_id.0)
        .bind(after.map_or(Uuid::nil(), |id| id.0))
        .bind(i64::from(limit.clamp(1, DELIVERED_PAGE_LIMIT)))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.iter().map(crate::orders::order_from_row).collect()
    }
}
