//! The worker over a real SQLite store: jobs that work are finished, jobs that cannot work
//! are buried with their reason, and a running worker stops when told.

use dropline_app::ports::{ChangeSet, NewJob};
use dropline_app::{App, jobs};
use dropline_domain::ids::{JobId, OrderId, StoreId};
use dropline_store_sqlite::{SqliteOptions, SqliteStore};
use dropline_worker::{Worker, WorkerConfig};
use std::sync::Arc;
use std::time::Duration;

fn app(dir: &tempfile::TempDir) -> App {
    let store = SqliteStore::open(&dir.path().join("worker.db"), SqliteOptions::default()).expect("open store");
    App::new(Arc::new(store))
}

fn job(kind: &str, payload: serde_json::Value) -> NewJob {
    NewJob {
        id: JobId::new(),
        kind: kind.into(),
        payload,
        run_after: time::OffsetDateTime::now_utc(),
        store_id: None,
    }
}

async fn enqueue(app: &App, jobs: Vec<NewJob>) {
    app.backend()
        .commit(ChangeSet {
            jobs,
            ..ChangeSet::default()
        })
        .await
        .expect("enqueue");
}

#[tokio::test]
async fn jobs_that_cannot_work_are_buried_with_their_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = app(&dir);
    enqueue(
        &app,
        vec![
            job("no_such_job", serde_json::json!({})),
            job(jobs::ROUTE_ORDER, serde_json::json!({"order_id": "not an id"})),
        ],
    )
    .await;
    let report = Worker::new(app.clone(), WorkerConfig::default())
        .run_until_idle()
        .await
        .expect("pass");
    assert_eq!((report.succeeded, report.retried, report.buried), (0, 0, 2));
    let buried = app.backend().list_buried_jobs(10).await.expect("buried");
    let mut reasons: Vec<String> = buried.iter().filter_map(|j| j.last_error.clone()).collect();
    reasons.sort();
    assert_eq!(reasons.len(), 2);
    assert!(reasons[0].contains("unknown job kind 'no_such_job'"), "{reasons:?}");
    assert!(reasons[1].contains("payload.order_id"), "{reasons:?}");
    assert_eq!(app.backend().count_pending_jobs().await.expect("count"), 0);
}

#[tokio::test]
async fn a_route_job_for_an_order_that_is_gone_finishes_quietly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = app(&dir);
    let now = time::OffsetDateTime::now_utc();
    enqueue(&app, vec![jobs::route_job(OrderId::new(), StoreId::new(), now)]).await;
    let report = Worker::new(app.clone(), WorkerConfig::default())
        .run_until_idle()
        .await
        .expect("pass");
    assert_eq!((report.succeeded, report.buried), (1, 0));
    assert_eq!(app.backend().count_pending_jobs().await.expect("count"), 0);
    assert!(app.backend().list_buried_jobs(10).await.expect("buried").is_empty());
}

#[tokio::test]
async fn a_running_worker_takes_new_jobs_and_stops_when_told() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = app(&dir);
    let config = WorkerConfig {
        idle_sleep: Duration::from_millis(5),
        ..WorkerConfig::default()
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = Worker::new(app.clone(), config);
    let running = tokio::spawn(async move { worker.run(stopped).await });
    let now = time::OffsetDateTime::now_utc();
    enqueue(
        &app,
        (0..20)
            .map(|_| jobs::route_job(OrderId::new(), StoreId::new(), now))
            .collect(),
    )
    .await;
    let mut pending = u64::MAX;
    for _ in 0..400 {
        pending = app.backend().count_pending_jobs().await.expect("count");
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(pending, 0, "the running worker finished every job");
    stop.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("stopped in time")
        .expect("no panic");
}

#[tokio::test]
async fn the_schedules_delete_expired_sessions_and_keep_live_ones() {
    use dropline_app::accounts::{Accounts, NewUser};
    use dropline_domain::account::{Caller, Role};
    let dir = tempfile::tempdir().expect("tempdir");
    let offset = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let moved = offset.clone();
    let app = app(&dir).with_clock(move || {
        time::OffsetDateTime::now_utc() + time::Duration::hours(moved.load(std::sync::atomic::Ordering::SeqCst))
    });
    let accounts = Accounts::new(app.clone());
    accounts
        .create_user(
            Caller::operator(),
            NewUser {
                email: "ops@shop.example".into(),
                name: "Ops".into(),
                role: Role::Operator,
                store_id: None,
                password: "a long enough password".into(),
            },
        )
        .await
        .expect("user");
    let early = accounts
        .sign_in("ops@shop.example", "a long enough password", "test")
        .await
        .expect("sign in");
    offset.store(6, std::sync::atomic::Ordering::SeqCst);
    let late = accounts
        .sign_in("ops@shop.example", "a long enough password", "test")
        .await
        .expect("sign in");
    // Thirteen hours after the first sign-in: the first session (12 h) is over, the second is not.
    offset.store(13, std::sync::atomic::Ordering::SeqCst);
    Worker::new(app.clone(), WorkerConfig::default())
        .run_schedules()
        .await
        .expect("schedules");
    let backend = app.backend();
    let hash = dropline_app::token::hash_token;
    assert!(
        backend
            .session_by_token_hash(&hash(&early.token))
            .await
            .expect("read")
            .is_none(),
        "the expired session is deleted"
    );
    assert!(
        backend
            .session_by_token_hash(&hash(&late.token))
            .await
            .expect("read")
            .is_some(),
        "the live one stays"
    );
}
