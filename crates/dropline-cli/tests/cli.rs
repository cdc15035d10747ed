//! The `dropline` binary, run as a user runs it, on a temporary data directory. The
//! environment is cleared for every run, so nothing of the machine leaks in.

use serde_json::Value;
use std::path::{Path, PathBuf};
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

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dropline"));
        command
            .env_clear()
            .current_dir(self.dir.path())
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(args)
            .stdin(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run dropline")
    }

    /// Runs a command that must succeed and print JSON.
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

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write file");
        path
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts a failure that says what is wrong in one line on stderr.
fn assert_one_line_error(output: &Output, expected: &str) {
    assert!(
        !output.status.success(),
        "expected a failure, got success: {}",
        text(&output.stdout)
    );
    let stderr = text(&output.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(lines[0].contains(expected), "expected '{expected}' in: {stderr}");
}

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("no string '{key}' in {value}"))
}

/// Runs the demo without serving; its orders live in `<data-dir>/demo`.
fn demo(dropline: &Dropline) -> Value {
    dropline.json(&["demo", "--no-serve", "--json"])
}

fn demo_dir(dropline: &Dropline) -> String {
    dropline.data_dir().join("demo").display().to_string()
}

#[test]
fn demo_shows_orders_in_every_state_and_runs_twice() {
    let dropline = Dropline::new();
    let first = demo(&dropline);
    // The dashboard's seller: a sign-in address, and a password new on every run.
    let dashboard = &first["dashboard"];
    assert!(
        dashboard["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://127.0.0.1:") && u.ends_with("/sign-in")),
        "{dashboard}"
    );
    assert_eq!(dashboard["email"], "seller@demo.example");
    assert_eq!(dashboard["store_id"], first["store"]["id"]);
    assert_eq!(dashboard["password"].as_str().map(str::len), Some(20), "{dashboard}");
    let counts = first["counts"].as_object().expect("counts");
    assert_eq!(counts.len(), 12, "every order state is listed: {counts:?}");
    for (state, count) in counts {
        assert!(count.as_u64().unwrap_or(0) > 0, "no demo order is {state}: {counts:?}");
    }
    let orders = first["orders"].as_array().expect("orders");
    assert!(orders.len() >= 30, "a few dozen orders");
    let on_hold: Vec<String> = orders
        .iter()
        .filter(|o| o["state"] == "on_hold")
        .flat_map(|o| o["hold_reasons"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r.as_str().map(String::from))
        .collect();
    for reason in ["invalid_address", "payment_not_captured", "out_of_stock", "no_route"] {
        assert!(
            on_hold.iter().any(|r| r == reason),
            "no order held for {reason}: {on_hold:?}"
        );
    }
    assert!(str_of(&first["store"], "token").starts_with("dl_"));
    assert!(!str_of(&first, "admin_token").is_empty());

    // Every order came from a simulated storefront, through its webhooks over HTTP: one
    // order per storefront order whatever the copies, and the shipments went back.
    let stores = first["stores"].as_array().expect("stores");
    let platforms: Vec<&str> = stores.iter().map(|s| str_of(s, "platform")).collect();
    assert_eq!(platforms, ["shopify", "woocommerce", "wix"]);
    assert_eq!(
        stores[0]["id"], first["store"]["id"],
        "the main store is the Shopify one"
    );
    for store in stores {
        let webhooks = &store["webhooks"];
        let (sent, copies) = (
            webhooks["sent"].as_u64().unwrap_or(0),
            webhooks["copies"].as_u64().unwrap_or(0),
        );
        let received = store["storefront_orders"].as_u64().unwrap_or(0);
        assert!(received >= 4, "{store}");
        assert_eq!(
            store["orders"].as_u64(),
            Some(received),
            "one order per storefront order: {store}"
        );
        assert!(copies > 0 && sent >= received + copies, "{store}");
        assert_eq!(webhooks["accepted"].as_u64(), Some(sent), "{store}");
        assert!(str_of(store, "webhook_url").contains(&format!("/webhooks/{}/", str_of(store, "platform"))));
        assert!(str_of(store, "simulator").starts_with("http://127.0.0.1:"));
        let written = &store["written_back"];
        assert!(
            written["shipments"].as_u64().unwrap_or(0) > 0,
            "nothing written back: {store}"
        );
    }
    let shopify = &stores[0]["written_back"];
    assert!(shopify["with_tracking"].as_u64().unwrap_or(0) > 0, "{shopify}");
    assert!(shopify["delivered"].as_u64().unwrap_or(0) > 0, "{shopify}");
    assert!(shopify["cancelled"].as_u64().unwrap_or(0) > 0, "{shopify}");
    assert_eq!(
        stores[0]["catalog"]["pulls"], 2,
        "the catalogue is pulled again after the launch"
    );
    assert!(stores[2]["written_back"]["cancelled"].as_u64().unwrap_or(0) > 0);
    assert_eq!(first["worker"]["buried"], 0, "{}", first["worker"]);
    assert!(
        orders
            .iter()
            .all(|o| o["external_id"].as_str().is_some_and(|id| !id.is_empty()))
    );
    let tests: Vec<&Value> = orders.iter().filter(|o| o["test"] == true).collect();
    assert_eq!(tests.len(), 1, "one test order");
    assert_eq!(tests[0]["state"], "pending_review");

    // After shipping, the carriers' days pass, followed through a simulated 17TRACK: the
    // parcels due arrive (on time, late out of customs, at a second attempt), the customers
    // and the sellers are told, the clocks raise and clear exceptions.
    let after = &first["after_shipping"];
    let count = |path: &[&str]| path.iter().fold(after, |value, key| &value[*key]).as_u64().unwrap_or(0);
    let days = count(&["simulated_days"]);
    assert!((1..=30).contains(&days), "{after}");
    assert_eq!(after["stalled"].as_array().map(Vec::len), Some(0), "{after}");
    for journey in ["on_time", "held_in_customs", "failed_attempt", "on_its_way"] {
        assert!(count(&["journeys", journey]) > 0, "no parcel {journey}: {after}");
    }
    let parcels = after["parcels"].as_array().expect("parcels");
    for parcel in parcels {
        let due = ["on_time", "held_in_customs", "failed_attempt"].contains(&str_of(parcel, "journey"));
        if due {
            assert_eq!(parcel["state"], "delivered", "{parcel}");
        }
    }
    assert!(count(&["parcel_states", "delivered"]) > 0, "{after}");
    assert!(
        count(&["parcel_states", "in_transit"]) > 0,
        "parcels still on their way: {after}"
    );
    for template in [
        "order_received",
        "order_confirmed",
        "shipped",
        "delayed",
        "out_for_delivery",
        "delivered",
        "delivery_failed",
        "seller_new_order",
        "seller_needs_attention",
        "seller_digest",
    ] {
        assert!(count(&["emails", template]) > 0, "no {template} email: {after}");
    }
    assert_eq!(
        count(&["emails", "delayed"]),
        count(&["clock_checks", "customers_told"])
    );
    assert_eq!(count(&["emails", "seller_digest"]), 3, "one digest per store: {after}");
    assert!(count(&["exceptions", "resolved", "stuck_in_customs"]) > 0, "{after}");
    assert!(count(&["exceptions", "open", "delivery_problem"]) > 0, "{after}");
    let page = str_of(after, "tracking_page");
    let token = page
        .strip_prefix("http://")
        .and_then(|rest| rest.split_once("/track/"))
        .map(|(_, token)| token)
        .unwrap_or_else(|| panic!("not a tracking page: {page}"));
    assert!(
        token.len() == 48 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "{page}"
    );

    // A second run starts afresh on the same data directory, with the same admin token.
    let second = demo(&dropline);
    assert_ne!(second["dashboard"]["password"], first["dashboard"]["password"]);
    assert_eq!(second["counts"], first["counts"]);
    for part in ["simulated_days", "journeys", "parcel_states", "exceptions", "emails"] {
        assert_eq!(second["after_shipping"][part], after[part], "{part}");
    }
    assert_eq!(second["admin_token"], first["admin_token"]);
    assert_ne!(second["store"]["id"], first["store"]["id"]);

    // The token file is private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let token_file = dropline.data_dir().join("demo").join("admin-token");
        let mode = std::fs::metadata(token_file)
            .expect("admin token file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn orders_list_show_accept_reject_speak_json() {
    let dropline = Dropline::new();
    let seeded = demo(&dropline);
    let store = str_of(&seeded["store"], "id").to_string();
    let data_dir = demo_dir(&dropline);
    let orders = |args: &[&str]| {
        let mut all = vec!["--data-dir", data_dir.as_str()];
        all.extend_from_slice(args);
        dropline.json(&all)
    };

    let pending = orders(&[
        "orders",
        "list",
        "--state",
        "pending_review",
        "--store",
        &store,
        "--json",
    ]);
    let pending = pending["orders"].as_array().expect("orders").clone();
    assert!(pending.iter().all(|o| o["state"] == "pending_review"));
    // The storefront's test order waits in review too, but is never accepted.
    let (tests, pending): (Vec<Value>, Vec<Value>) = pending.into_iter().partition(|o| o["test"] == true);
    assert_eq!(tests.len(), 1, "the demo's test order is in review");
    assert!(pending.len() >= 2, "the demo leaves orders in review");
    let (first, second) = (
        str_of(&pending[0], "id").to_string(),
        str_of(&pending[1], "id").to_string(),
    );

    // Keyset pagination: a page of one, then the next page after it.
    let page = orders(&["orders", "list", "--limit", "1", "--json"]);
    let cursor = str_of(&page, "next_before").to_string();
    assert_eq!(page["orders"].as_array().map(Vec::len), Some(1));
    let next = orders(&["orders", "list", "--limit", "1", "--before", &cursor, "--json"]);
    assert_ne!(next["orders"][0]["id"], page["orders"][0]["id"]);

    // A search finds an order by its number.
    let number = str_of(&pending[0], "number").to_string();
    let found = orders(&["orders", "list", "--search", &number, "--json"]);
    assert_eq!(found["orders"][0]["id"], first.as_str(), "{found}");

    // A delivered order: refunded in part, its ledger shows the refund; too much is refused.
    let delivered = orders(&["orders", "list", "--state", "delivered", "--limit", "1", "--json"]);
    let delivered = str_of(&delivered["orders"][0], "id").to_string();
    let refunded = orders(&[
        "orders", "refund", &delivered, "--amount", "1.00", "--reason", "late", "--json",
    ]);
    assert_eq!(refunded["payment"], "partially_refunded", "{refunded}");
    let ledger = orders(&["orders", "ledger", &delivered, "--json"]);
    assert!(
        ledger["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| e["kind"] == "refund" && e["amount"].as_str().is_some_and(|a| a.starts_with("1.00 "))),
        "{ledger}"
    );
    let too_much = dropline.run(&[
        "--data-dir",
        data_dir.as_str(),
        "orders",
        "refund",
        &delivered,
        "--amount",
        "99999.00",
        "--reason",
        "x",
    ]);
    assert_eq!(too_much.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&too_much.stderr).contains("amount"),
        "{too_much:?}"
    );

    // The demo's delivered orders earned the store a pending balance; released at once
    // with a holding period of 0 days, a payout takes part of it, is paid and exported.
    let balance = orders(&["payouts", "balance", &store, "--json"]);
    assert!(!str_of(&balance, "pending").starts_with("0.00"), "{balance}");
    let early = dropline.run(&["--data-dir", &data_dir, "payouts", "create", &store]);
    assert_eq!(early.status.code(), Some(1), "nothing is available yet");
    assert!(text(&early.stderr).contains("nothing is available"), "{early:?}");
    orders(&["payouts", "holding", &store, "0", "--json"]);
    let released = orders(&["payouts", "balance", &store, "--json"]);
    // (The demo's followed parcels arrive on the simulated days ahead: those stay pending.)
    assert_ne!(str_of(&released, "available"), "0.00 USD", "{released}");
    let made = orders(&[
        "payouts", "create", &store, "--amount", "1.00", "--note", "demo", "--json",
    ]);
    let payout = str_of(&made[0], "id").to_string();
    assert_eq!(str_of(&made[0], "amount"), "1.00 USD");
    orders(&["payouts", "paid", &payout, "--reference", "TR-1", "--json"]);
    let listed = orders(&["payouts", "list", "--store", &store, "--state", "paid", "--json"]);
    assert_eq!(listed[0]["reference"], "TR-1", "{listed}");
    let csv = dropline.run(&["--data-dir", &data_dir, "payouts", "export", "--state", "paid"]);
    assert!(csv.status.success());
    assert!(
        text(&csv.stdout).contains(&format!("{payout},{store},")),
        "{}",
        text(&csv.stdout)
    );
    let twice = dropline.run(&["--data-dir", &data_dir, "payouts", "paid", &payout]);
    assert_eq!(twice.status.code(), Some(1), "a paid payout is paid once");

    let shown = orders(&["orders", "show", &first, "--json"]);
    assert_eq!(shown["order"]["id"], first.as_str());
    assert!(!shown["timeline"].as_array().expect("timeline").is_empty());

    let accepted = orders(&["orders", "accept", &first, "--json"]);
    assert_eq!(accepted[0]["ok"], true);
    assert_eq!(accepted[0]["state"], "accepted");
    let rejected = orders(&["orders", "reject", &second, "--json"]);
    assert_eq!(rejected[0]["state"], "rejected");

    // Accepting a rejected order is refused, reported per order, and the exit code says so.
    let output = dropline.run(&["--data-dir", &data_dir, "orders", "accept", &second, "--json"]);
    assert!(!output.status.success());
    let refused: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(refused[0]["ok"], false);
    assert_eq!(refused[0]["error"]["code"], "illegal_transition");
    assert_one_line_error(&output, "could not be accepted");
    let test_order = str_of(&tests[0], "id");
    let output = dropline.run(&["--data-dir", &data_dir, "orders", "accept", test_order, "--json"]);
    assert!(!output.status.success(), "a test order is never accepted");

    // A routed order shows its supplier orders with product page, ship-to and cost.
    let fulfilling = orders(&["orders", "list", "--state", "shipped", "--json"]);
    let shipped_id = str_of(&fulfilling["orders"][0], "id").to_string();
    let shown = orders(&["orders", "show", &shipped_id, "--json"]);
    let supplier_order = &shown["order"]["supplier_orders"][0];
    assert!(supplier_order["ship_to"]["address1"].is_string());
    assert!(supplier_order["expected_cost"]["minor"].is_i64());
    assert!(supplier_order["shipments"][0]["tracking_number"].is_string());

    // The table for people names the same order.
    let output = dropline.run(&["--data-dir", &data_dir, "orders", "show", &shipped_id]);
    assert!(output.status.success());
    let table = text(&output.stdout);
    assert!(
        table.contains("Supplier order") && table.contains("Timeline"),
        "{table}"
    );
}

const GOOD_CSV: &str = "\
order_id,order_number,placed_at,currency,payment_status,customer_name,customer_email,ship_first_name,ship_last_name,ship_address1,ship_city,ship_region,ship_postal_code,ship_country,shipping_total,sku,title,quantity,unit_price
7001,#7001,2025-03-14T09:30:00Z,USD,paid,Ada Lovelace,ada@example.com,Ada,Lovelace,1 Market St,San Francisco,CA,94105,US,4.99,MUG-BLK-11,Ceramic mug,2,12.50
7001,,,,,,,,,,,,,,,GIFT-25,Gift card,1,25.00
7002,#7002,2025-03-14,USD,pending,Jean Dupont,jean@example.fr,Jean,Dupont,12 rue de Rivoli,Paris,,75001,FR,0,TSHIRT-W-M,Organic T-shirt,1,19.90
7003,#7003,2025-03-15,USD,paid,Mary Smith,mary@example.co.uk,Mary,Smith,10 Downing Lane,London,,SW1A 2AA,GB,3.50,POSTER-A2,Poster,3,8.00
";

const BAD_CSV: &str = "\
order_id,order_number,placed_at,currency,ship_first_name,ship_last_name,ship_address1,ship_city,ship_region,ship_postal_code,ship_country,sku,title,quantity,unit_price
8001,#8001,2025-03-14,USD,Ada,Lovelace,1 Market St,San Francisco,CA,94105,US,MUG-BLK-11,Ceramic mug,2,12.50
8002,#8002,yesterday,USD,Jean,Dupont,12 rue de Rivoli,Paris,,75001,FR,TSHIRT-W-M,Organic T-shirt,1,19.90
8003,#8003,2025-03-15,USD,Mary,Smith,10 Downing Lane,London,,SW1A 2AA,GB,POSTER-A2,Poster,0,\"12,50\"
";

fn create_store(dropline: &Dropline) -> String {
    let created = dropline.json(&["stores", "add", "CSV Shop", "--currency", "USD", "--json"]);
    assert!(str_of(&created, "token").starts_with("dl_"));
    str_of(&created["store"], "id").to_string()
}

#[test]
fn import_of_a_good_csv_imports_every_order() {
    let dropline = Dropline::new();
    let store = create_store(&dropline);
    let file = dropline.write("good.csv", GOOD_CSV);
    let file = file.to_str().expect("utf-8 path");
    let imported = dropline.json(&["import", "orders", file, "--store", &store, "--json"]);
    assert_eq!(imported["imported"], true);
    assert_eq!(imported["created"], 3);
    // The store has no catalogue yet: every order waits for its variants to be mapped.
    assert_eq!(imported["states"]["on_hold"], 3, "{imported}");

    let listed = dropline.json(&["orders", "list", "--store", &store, "--json"]);
    assert_eq!(listed["orders"].as_array().map(Vec::len), Some(3));

    // The same file again changes nothing.
    let again = dropline.json(&["import", "orders", file, "--store", &store, "--json"]);
    assert_eq!(again["created"], 0);
    assert_eq!(again["unchanged"], 3);

    // Human output: the counts.
    let output = dropline.run(&["import", "orders", file, "--store", &store]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("unchanged"));
}

#[test]
fn import_of_a_bad_csv_reports_every_row_and_imports_nothing() {
    let dropline = Dropline::new();
    let store = create_store(&dropline);
    let file = dropline.write("bad.csv", BAD_CSV);
    let file = file.to_str().expect("utf-8 path");

    let output = dropline.run(&["import", "orders", file, "--store", &store]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("row 3, placed_at:"), "{stderr}");
    assert!(stderr.contains("row 4, quantity:"), "{stderr}");
    assert!(stderr.contains("row 4, unit_price:"), "{stderr}");
    assert!(
        stderr
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("error: ") && l.contains("nothing was imported")),
        "{stderr}"
    );

    let output = dropline.run(&["import", "orders", file, "--store", &store, "--json"]);
    assert!(!output.status.success());
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["imported"], false);
    let rows: Vec<(u64, &str)> = report["row_errors"]
        .as_array()
        .expect("row_errors")
        .iter()
        .map(|e| (e["row"].as_u64().unwrap_or(0), str_of(e, "field")))
        .collect();
    assert_eq!(rows, [(3, "placed_at"), (4, "quantity"), (4, "unit_price")]);

    let listed = dropline.json(&["orders", "list", "--store", &store, "--json"]);
    assert_eq!(
        listed["orders"].as_array().map(Vec::len),
        Some(0),
        "the good row was not imported either"
    );

    // A file that does not exist, and a store that does not.
    assert_one_line_error(
        &dropline.run(&["import", "orders", "missing.csv", "--store", &store]),
        "missing.csv",
    );
    let good = dropline.write("good.csv", GOOD_CSV);
    let nowhere = "0190a0b0-0000-7000-8000-000000000000";
    let output = dropline.run(&["import", "orders", good.to_str().expect("utf-8"), "--store", nowhere]);
    assert_one_line_error(&output, "no store");
}

#[test]
fn address_check_exit_codes_follow_the_findings() {
    let dropline = Dropline::new();
    let good = [
        "address",
        "check",
        "--country",
        "US",
        "--postal-code",
        "94105",
        "--region",
        "CA",
    ];
    let good: Vec<&str> = good
        .into_iter()
        .chain(["--city", "San Francisco", "--address1", "1 Market St"])
        .collect();
    let output = dropline.run(&good);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));

    let mut json_args = good.clone();
    json_args.push("--json");
    assert_eq!(dropline.json(&json_args)["valid"], true);

    let bad = [
        "address",
        "check",
        "--country",
        "US",
        "--postal-code",
        "9410",
        "--city",
        "San Francisco",
        "--address1",
        "1 Market St",
        "--json",
    ];
    let output = dropline.run(&bad);
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["valid"], false);
    let fields: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| str_of(f, "field"))
        .collect();
    assert!(
        fields.contains(&"postal_code") && fields.contains(&"region"),
        "{report}"
    );

    // Warnings alone do not fail: a PO box.
    let output = dropline.run(&[
        "address",
        "check",
        "--country",
        "US",
        "--postal-code",
        "94105",
        "--region",
        "CA",
        "--city",
        "San Francisco",
        "--address1",
        "PO Box 123",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));
    assert!(text(&output.stdout).contains("warning"), "{}", text(&output.stdout));
}

#[test]
fn migrate_twice_is_fine() {
    let dropline = Dropline::new();
    for _ in 0..2 {
        let output = dropline.run(&["migrate"]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        assert!(text(&output.stdout).contains("up to date"));
    }
    assert!(dropline.data_dir().join("dropline.db").is_file());
}

#[test]
fn bad_arguments_give_one_line_and_a_non_zero_exit() {
    let dropline = Dropline::new();
    assert_one_line_error(&dropline.run(&["--frobnicate"]), "--frobnicate");
    assert_one_line_error(
        &dropline.run(&["orders", "list", "--state", "lost"]),
        "not an order state",
    );
    assert_one_line_error(&dropline.run(&["orders", "list", "--limit", "0"]), "--limit");
    assert_one_line_error(&dropline.run(&["orders", "show", "nope"]), "not an order id");
    assert_one_line_error(&dropline.run(&["import", "orders", "x.csv"]), "--store");
    assert_one_line_error(
        &dropline.run(&["--database-url", "mysql://db/x", "migrate"]),
        "not supported",
    );
    let missing = "0190a0b0-0000-7000-8000-000000000000";
    assert_one_line_error(&dropline.run(&["orders", "show", missing]), "not found");
    assert_eq!(dropline.run(&["orders", "show", "nope"]).status.code(), Some(2));
    assert!(dropline.run(&["--help"]).status.success());
}

#[test]
fn the_configuration_file_is_read_and_flags_win() {
    let dropline = Dropline::new();
    let from_file = dropline.dir.path().join("from-file");
    dropline.write(
        "dropline.toml",
        &format!("data_dir = {:?}\n", from_file.display().to_string()),
    );
    // No --data-dir: the file's folder is used.
    let output = Command::new(env!("CARGO_BIN_EXE_dropline"))
        .env_clear()
        .current_dir(dropline.dir.path())
        .arg("migrate")
        .output()
        .expect("run");
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(from_file.join("dropline.db").is_file());
    // A flag wins over the file.
    assert!(dropline.run(&["migrate"]).status.success());
    assert!(dropline.data_dir().join("dropline.db").is_file());
    // An unknown key is refused.
    dropline.write("dropline.toml", "data_dri = \"x\"\n");
    assert_one_line_error(&dropline.run(&["migrate"]), "dropline.toml");
}

#[test]
fn serve_answers_and_stops_on_ctrl_c() {
    use std::io::{BufRead, BufReader, Read, Write};
    let dropline = Dropline::new();
    let mut child = dropline
        .command(&["serve", "--listen", "127.0.0.1:0"])
        .env("DROPLINE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut address = None;
    let mut admin_token_lines = 0;
    for line in lines.by_ref() {
        let line = line.expect("line");
        if line.starts_with("admin token") {
            admin_token_lines += 1;
        }
        if let Some(rest) = line.split("http://").nth(1) {
            address = rest.split_whitespace().next().map(String::from);
            break;
        }
    }
    let address = address.expect("serve prints its address");
    assert_eq!(admin_token_lines, 1, "the generated admin token is printed once");

    let mut stream = std::net::TcpStream::connect(&address).expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let status = child.wait().expect("wait");
    assert!(status.success(), "serve exits cleanly on Ctrl-C: {status:?}");
    assert!(Path::new(&dropline.data_dir().join("admin-token")).is_file());
}
