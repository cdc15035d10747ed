//! End-to-end write throughput of the SQLite store: each order is two commits, as the engine
//! makes them (ingest, then accept and route), each with the order, timeline entries, a job and
//! a message; the second also finishes the first job.
//!
//! ```text
//! cargo run --release -p dropline-store-sqlite --example throughput -- [ORDERS] [CONCURRENCY] [normal]
//! ```

use dropline_app::ports::{JobQueue, MessageFilter, OrderFilter, Store};
use dropline_domain::state::OrderState;
use dropline_domain::timeline::Actor;
use dropline_store_sqlite::{SqliteOptions, SqliteStore, Synchronous};
use dropline_store_tests::builders::{
    OrderBuilder, at, insert_change_set, store_record, supplier, supplier_order_for, timeline_event, update_change_set,
};
use std::sync::Arc;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let orders: usize = args.get(1).map(|a| a.parse()).transpose()?.unwrap_or(50_000);
    let concurrency: usize = args.get(2).map(|a| a.parse()).transpose()?.unwrap_or(512);
    let synchronous = match args.get(3).map(String::as_str) {
        Some("normal") => Synchronous::Normal,
        _ => Synchronous::Full,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(orders, concurrency, synchronous))
}

async fn run(orders: usize, concurrency: usize, synchronous: Synchronous) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("throughput.db");
    let options = SqliteOptions {
        synchronous,
        ..SqliteOptions::default()
    };
    let store = Arc::new(SqliteStore::open(&path, options)?);
    let record = store_record();
    let store_id = record.store.id;
    store.insert_store(record).await?;
    let vendor = supplier(store_id);
    let supplier_id = vendor.id;
    store.insert_supplier(vendor).await?;

    let cpu_before = thread_cpu();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        let store = Arc::clone(&store);
        let share = orders / concurrency + usize::from(worker < orders % concurrency);
        tasks.spawn(async move {
            for _ in 0..share {
                let order = OrderBuilder::new(store_id).build();
                let ingest = insert_change_set(&order);
                let first_job = ingest.jobs[0].id;
                store.commit(ingest).await?;

                let mut routed = order;
                routed.state = OrderState::InFulfillment;
                routed.updated_at = at(60);
                let supplier_order = supplier_order_for(&routed, supplier_id);
                routed.supplier_orders.push(supplier_order);
                let mut step = update_change_set(&routed);
                let mut routed_event = timeline_event(routed.id, at(60), "supplier_order.created");
                routed_event.actor = Actor::Worker;
                step.timeline.push(routed_event);
                step.finished_jobs.push(first_job);
                store.commit(step).await?;
            }
            Ok::<(), dropline_app::ports::StoreError>(())
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined??;
    }
    let elapsed = started.elapsed();
    let cpu_after = thread_cpu();
    let per_second = orders as f64 / elapsed.as_secs_f64();
    println!(
        "{orders} orders ({} commits) in {:.2}s with {concurrency} concurrent flows, synchronous={synchronous:?}: \
         {per_second:.0} orders/s, {:.0} commits/s",
        orders * 2,
        elapsed.as_secs_f64(),
        per_second * 2.0,
    );

    // CPU per order, by thread: on a shared machine this says more than the wall clock.
    let mut total = 0.0;
    for (name, after) in &cpu_after {
        let spent = after - cpu_before.iter().find(|(n, _)| n == name).map_or(0.0, |(_, b)| *b);
        total += spent;
        println!("  {name:<28} {:>7.1} us CPU per order", spent * 1e6 / orders as f64);
    }
    println!(
        "  {:<28} {:>7.1} us CPU per order",
        "all threads",
        total * 1e6 / orders as f64
    );

    let listed = store
        .list_orders(&OrderFilter {
            store_id: Some(store_id),
            limit: 10,
            ..OrderFilter::default()
        })
        .await?;
    let messages = store
        .list_messages(&MessageFilter {
            limit: 10,
            ..MessageFilter::default()
        })
        .await?;
    let rss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| status.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_string))
        .unwrap_or_default();
    println!("memory: {rss}");
    let stats = store.stats();
    println!(
        "writer: {} batches of {:.0} writes on average, {} run again for a refusal",
        stats.batches,
        stats.writes as f64 / stats.batches.max(1) as f64,
        stats.refused_batches
    );
    println!(
        "pending jobs: {}, newest orders listed: {}, messages listed: {}, file: {} MiB",
        store.count_pending_jobs().await?,
        listed.len(),
        messages.len(),
        std::fs::metadata(&path)?.len() / (1024 * 1024)
    );
    let wal = path.with_extension("db-wal");
    println!(
        "WAL file: {} MiB",
        std::fs::metadata(&wal).map(|m| m.len() / (1024 * 1024)).unwrap_or(0)
    );
    drop(store);
    let conn = rusqlite::Connection::open(&path)?;
    let (orders_size, events): (f64, i64) = conn.query_row(
        "SELECT avg(length(doc)), (SELECT count(*) FROM timeline_events) FROM orders",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    println!("average order document: {orders_size:.0} bytes; timeline entries: {events}");
    Ok(())
}

/// CPU seconds used so far by each thread of this process, summed per thread name (Linux).
fn thread_cpu() -> Vec<(String, f64)> {
    let mut by_name: Vec<(String, f64)> = Vec::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return by_name;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_string();
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
        let ticks: f64 = fields.get(11).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0)
            + fields.get(12).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
        let seconds = ticks / 100.0;
        match by_name.iter_mut().find(|(n, _)| *n == name) {
            Some((_, total)) => *total += seconds,
            None => by_name.push((name, seconds)),
        }
    }
    by_name.sort_by(|a, b| a.0.cmp(&b.0));
    by_name
}
