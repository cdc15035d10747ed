//! The one conformance suite that every dropline store (SQLite, PostgreSQL) must pass.
//!
//! A store crate runs the whole suite with a few lines in its `tests/conformance.rs`:
//!
//! ```ignore
//! dropline_store_tests::conformance_tests!(async {
//!     let dir = tempfile::tempdir().unwrap();
//!     let store = MyStore::open(dir.path()).unwrap();
//!     Some(dropline_store_tests::Fixture::with_guard(store, dir))
//! });
//! ```
//!
//! The factory is an `async` block evaluated once per test; it must give a fresh, empty
//! backend (a new file, a new database or schema). It may evaluate to `Fixture<B>`,
//! `Option<Fixture<B>>` or `Option<B>`; `None` means the backend is not configured here, and
//! the test prints [`SKIPPED`] and passes. The macro expands to one `#[tokio::test]` per
//! case of [`cases`], so the calling crate needs `tokio` (with `macros` and `rt-multi-thread`)
//! as a dev-dependency.
//!
//! This crate is test code only: it never ships in a binary, never reads the environment or
//! files, and only speaks to a store through the ports of `dropline_app::ports`.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod accounts;
pub mod builders;
pub mod cases;
pub mod inventory;
pub mod payouts;
pub mod rates;

use dropline_app::ports::Backend;
use std::any::Any;
use std::sync::Arc;

/// What a test prints when its factory gives no backend.
pub const SKIPPED: &str = "skipped: DROPLINE_TEST_POSTGRES_URL is not set";

/// A backend under test, with whatever must live as long as it (a temporary directory).
pub struct Fixture<B> {
    // Declared first so it is dropped before the guard.
    backend: Arc<B>,
    _guard: Option<Box<dyn Any + Send + Sync>>,
}

impl<B: Backend> Fixture<B> {
    /// A backend that needs nothing kept alive beside it.
    pub fn new(backend: B) -> Self {
        Self {
            backend: Arc::new(backend),
            _guard: None,
        }
    }

    /// A backend with a value (typically a `tempfile::TempDir`) dropped only after the test.
    pub fn with_guard(backend: B, guard: impl Any + Send + Sync) -> Self {
        Self {
            backend: Arc::new(backend),
            _guard: Some(Box::new(guard)),
        }
    }

    /// The backend, shareable with spawned tasks.
    pub fn backend(&self) -> Arc<B> {
        Arc::clone(&self.backend)
    }
}

/// What a factory of [`conformance_tests!`] may evaluate to.
pub trait IntoFixture {
    /// The backend type.
    type Backend: Backend;
    /// The fixture, or `None` when the backend is not configured.
    fn into_fixture(self) -> Option<Fixture<Self::Backend>>;
}

impl<B: Backend> IntoFixture for Fixture<B> {
    type Backend = B;
    fn into_fixture(self) -> Option<Fixture<B>> {
        Some(self)
    }
}

impl<B: Backend> IntoFixture for Option<Fixture<B>> {
    type Backend = B;
    fn into_fixture(self) -> Option<Fixture<B>> {
        self
    }
}

impl<B: Backend> IntoFixture for Option<B> {
    type Backend = B;
    fn into_fixture(self) -> Option<Fixture<B>> {
        self.map(Fixture::new)
    }
}

/// Expands to one `#[tokio::test]` per conformance case, each running on a backend made by
/// `$factory` (an `async` block; see the crate documentation).
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr $(,)?) => {
        $crate::__conformance_cases!(
            current: $factory;
            stores_insert_get_and_by_token_hash,
            stores_duplicate_id_or_token_hash_conflicts,
            stores_update_replaces_name_address_and_settings,
            stores_list,
            stores_connection_round_trip_and_update,
            stores_update_connection_of_unknown_store_is_not_found,
            stores_replace_token_hash,
            suppliers_insert_get_and_list,
            products_insert_get_and_list,
            products_duplicate_sku_in_store_conflicts,
            variants_by_sku_and_variant_store,
            variants_by_platform_id_within_store,
            import_products_creates_then_updates,
            import_products_sku_conflict_writes_nothing,
            import_products_refuses_bad_input,
            deliveries_recorded_with_their_change_set,
            duplicate_delivery_refuses_its_change_set,
            offers_insert_update_and_query,
            stock_changes_move_known_counts_with_their_change_set,
            orders_insert_then_get_and_by_external_id,
            orders_duplicate_external_id_conflicts_and_writes_nothing,
            orders_duplicate_id_conflicts,
            orders_update_bumps_version,
            orders_stale_update_conflicts_and_writes_nothing,
            orders_update_of_unknown_order_is_not_found,
            change_set_is_all_or_nothing,
            empty_change_set_commits,
            timeline_is_oldest_first,
            order_of_supplier_order_follows_the_aggregate,
            list_orders_filters,
            list_orders_keyset_pagination,
            list_orders_search_exceptions_and_order,
            count_orders_by_state,
            messages_listing,
            messages_with_a_taken_dedupe_key_are_skipped,
            message_updates_record_send_attempts,
            message_update_of_unknown_message_refuses_its_change_set,
            messages_get_by_id_round_trips_every_field,
            messages_without_an_order_round_trip,
            messages_filter_by_state_and_template,
            orders_by_tracking_token,
            orders_tracking_token_is_unique,
            shipments_by_tracking_number_across_stores,
            shipments_follow_order_updates,
            exceptions_listing_filters,
            exceptions_follow_order_updates,
            exceptions_listing_is_capped,
            lane_samples_window,
            orders_placed_between_pages_by_placing_time,
            jobs_claim_respects_run_after,
            jobs_lease_blocks_until_it_expires,
            jobs_lease_extended_by_its_holder,
            jobs_finished_in_commit_are_deleted,
            jobs_finished_in_refused_change_set_stay,
            jobs_retry_counts_attempts_and_delays,
            jobs_bury_removes_from_claiming,
            jobs_unknown_id_is_not_found,
            jobs_count_pending,
            daily_metrics_sum_order_facts_per_day,
            daily_metrics_follow_order_updates,
            orders_with_open_exceptions_are_counted,
        );
        $crate::__conformance_cases!(
            accounts: $factory;
            users_insert_get_by_email_and_unique_email,
            users_update_and_unknown_is_not_found,
            users_list_by_store,
            sessions_by_hash_touch_and_delete,
            sessions_expired_are_swept,
        );
        $crate::__conformance_cases!(
            payouts: $factory;
            payouts_insert_only_on_the_expected_total,
            payouts_move_from_their_state_only,
            payouts_listing_filters_and_pages,
            delivered_orders_walk_a_store_by_id,
        );
        $crate::__conformance_cases!(
            rates: $factory;
            exchange_rates_newest_effective_wins,
            exchange_rates_listing_by_pair_newest_first,
        );
        $crate::__conformance_cases!(
            inventory: $factory;
            reservations_follow_the_order,
            stock_checked_orders_fit_what_the_offers_can_ship,
            offers_of_supplier_page_by_id,
            offer_readings_set_stock_and_cost_and_record_moves,
            listings_round_trip_and_upsert,
            applied_price_change_sets_the_variant_price,
            pending_price_changes_are_superseded_and_decided_once,
            sync_problems_are_listed_and_resolved_once,
            product_collections_survive_an_import,
        );
        $crate::__conformance_cases!(
            inventory_multi: $factory;
            concurrent_stock_checked_commits_never_share_a_unit,
        );
        $crate::__conformance_cases!(
            multi: $factory;
            concurrent_commits_all_land,
            concurrent_batch_with_failing_change_sets,
            concurrent_inserts_of_one_external_id_one_wins,
            concurrent_batch_with_a_duplicate_delivery,
            concurrent_messages_with_one_dedupe_key_one_lands,
            concurrent_claimers_never_share_a_job,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    (current: $factory:expr; $($case:ident),+ $(,)?) => {
        $(
            #[::tokio::test]
            async fn $case() {
                let Some(fixture) = $crate::IntoFixture::into_fixture($factory.await) else {
                    println!("{}", $crate::SKIPPED);
                    return;
                };
                $crate::cases::$case(fixture.backend()).await;
            }
        )+
    };
    (accounts: $factory:expr; $($case:ident),+ $(,)?) => {
        $(
            #[::tokio::test]
            async fn $case() {
                let Some(fixture) = $crate::IntoFixture::into_fixture($factory.await) else {
                    println!("{}", $crate::SKIPPED);
                    return;
                };
                $crate::accounts::$case(fixture.backend()).await;
            }
        )+
    };
    (payouts: $factory:expr; $($case:ident),+ $(,)?) => {
        $(
            #[::tokio::test]
            async fn $case() {
                let Some(fixture) = $crate::IntoFixture::into_fixture($factory.await) else {
                    println!("{}", $crate::SKIPPED);
                    return;
                };
                $crate::payouts::$case(fixture.backend()).await;
            }
        )+
    };
    (rates: $factory:expr; $($case:ident),+ $(,)?) => {
        $(
            #[::tokio::test]
            async fn $case() {
                let Some(fixture) = $crate::IntoFixture::into_fixture($factory.await) else {
                    println!("{}", $crate::SKIPPED);
                    return;
                };
                $crate::rates::$case(fixture.backend()).await;
            }
        )+
    };
    (inventory: $factory:expr; $($case:ident),+ $(,)?) => {
        $(
            #[::tokio::test]
            async fn $case() {
                let Some(fixture) = $crate::IntoFixture::into_fixture($factory.await) else {
                    println!("{}", $crate::SKIPPED);
                    return;
                };
                $crate::inventory::$case(fixture.backend()).await;
            }
        )+
    };
    (inventory_multi: $factory:expr; $($case:ident),+ $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let Some(fixture) = $crate::IntoFixture::into_fixture($factory.await) else {
                    println!("{}", $crate::SKIPPED);
                    return;
                };
                $crate::inventory::$case(fixture.backend()).await;
            }
        )+
    };
    (multi: $factory:expr; $($case:ident),+ $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let Some(fixture) = $crate::IntoFixture::into_fixture($factory.await) else {
                    println!("{}", $crate::SKIPPED);
                    return;
                };
                $crate::cases::$case(fixture.backend()).await;
            }
        )+
    };
}
