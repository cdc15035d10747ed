//! `dropline metrics breakdown` run as a user runs it, on a temporary data directory with
//! orders imported from a CSV file: a table for people, the API's JSON for scripts, and
//! one-line errors for bad arguments.

use serde_json::Value;
use std::process::{Command, Output, Stdio};

struct Dropline {
    dir: tempfile::TempDir,
}

impl Dropline {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_dropline"))
            .env_clear()
            .current_dir(self.dir.path())
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run dropline")
    }

    fn json(&self, args: &[&str]) -> Value {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "dropline {args:?} failed: {}",
            text(&output.stderr)
        );
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|err| panic!("dropline {args:?} printed no JSON ({err}): {}", text(&output.stdout)))
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn one_line_error(output: &Output) -> String {
    assert!(!output.status.success(), "expected a failure: {}", text(&output.stdout));
    let stderr = text(&output.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    lines[0].to_string()
}

#[test]
fn the_breakdown_prints_a_table_or_the_apis_json() {
    let dropline = Dropline::new();
    let created = dropline.json(&["stores", "add", "Metrics Shop", "--currency", "USD", "--json"]);
    let store = created["store"]["id"].as_str().expect("store id").to_string();
    // Two orders placed today, of SKUs the catalogue does not have (so at no supplier): one
    // paid (2 × 12.50 and 4.99 shipping), one whose payment is still pending (no sale yet).
    let today = time::OffsetDateTime::now_utc().date();
    let csv = format!(
        "order_id,order_number,placed_at,currency,payment_status,customer_name,customer_email,ship_first_name,ship_last_name,ship_address1,ship_city,ship_region,ship_postal_code,ship_country,shipping_total,sku,title,quantity,unit_price\n\
         9001,#9001,{today},USD,paid,Ada Lovelace,ada@example.com,Ada,Lovelace,1 Market St,San Francisco,CA,94105,US,4.99,MUG-BLK-11,Ceramic mug,2,12.50\n\
         9002,#9002,{today},USD,pending,Jean Dupont,jean@example.fr,Jean,Dupont,12 rue de Rivoli,Paris,,75001,FR,0,POSTER-A2,Poster,1,8.00\n"
    );
    let file = dropline.dir.path().join("orders.csv");
    std::fs::write(&file, csv).expect("write the CSV");
    let imported = dropline.json(&[
        "import",
        "orders",
        file.to_str().expect("utf-8 path"),
        "--store",
        &store,
        "--json",
    ]);
    assert_eq!(imported["created"], 2, "{imported}");

    let json = dropline.json(&["metrics", "breakdown", "--store", &store, "--days", "7", "--json"]);
    assert_eq!(
        (&json["by"], &json["days"]),
        (&Value::from("supplier"), &Value::from(7))
    );
    assert_eq!(json["store_id"], Value::from(store.as_str()));
    let groups = json["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 1, "{json}");
    assert_eq!(groups[0]["supplier_id"], Value::Null);
    assert_eq!(groups[0]["orders"], 2);
    assert_eq!(groups[0]["revenue"]["amount"], "29.99");
    assert_eq!(json["total"]["profit"]["amount"], "29.99");
    assert_eq!(json["total"]["margin_bp"], 10_000);

    let by_lane = dropline.json(&["metrics", "breakdown", "--store", &store, "--by", "lane", "--json"]);
    let mut countries: Vec<&str> = by_lane["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["country"].as_str().expect("country"))
        .collect();
    countries.sort_unstable();
    assert_eq!(countries, ["FR", "US"]);

    let output = dropline.run(&["metrics", "breakdown", "--store", &store, "--by", "product"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let table = text(&output.stdout);
    for expected in ["PRODUCT", "(not in the catalogue)", "ALL ORDERS", "29.99", "PROFIT USD"] {
        assert!(table.contains(expected), "{expected} in {table}");
    }

    // Bad arguments: one line, exit code 2; an unknown store: one line, exit code 1.
    let wrong_by = dropline.run(&["metrics", "breakdown", "--store", &store, "--by", "cheapest"]);
    assert_eq!(wrong_by.status.code(), Some(2));
    assert!(one_line_error(&wrong_by).contains("cheapest"));
    let wrong_days = dropline.run(&["metrics", "breakdown", "--store", &store, "--days", "0"]);
    assert_eq!(wrong_days.status.code(), Some(2));
    assert!(one_line_error(&wrong_days).contains("--days"));
    let unknown = dropline.run(&[
        "metrics",
        "breakdown",
        "--store",
        "0190c0de-0000-7000-8000-000000000000",
    ]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(one_line_error(&unknown).contains("no store"));
    let garbage = dropline.run(&["metrics", "breakdown", "--store", "shop-1"]);
    assert!(one_line_error(&garbage).contains("not a store id"));
}
