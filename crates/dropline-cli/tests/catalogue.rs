//! `dropline catalogue|stock|prices` run as a user runs them: a manual supplier's price
//! list imported, an unmapped catalogue listed, a stock sync and pricing rules tried, each
//! with a bad input refused on one line with a non-zero exit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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
        serde_json::from_slice(&output.stdout).unwrap_or_else(|err| panic!("no JSON ({err}): {}", text(&output.stdout)))
    }

    fn refused(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            !output.status.success(),
            "dropline {args:?} should fail: {}",
            text(&output.stdout)
        );
        text(&output.stderr)
    }

    fn file(&self, name: &str, contents: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write file");
        path.display().to_string()
    }

    /// A store and a manual supplier of it.
    fn store_and_supplier(&self) -> (String, String) {
        let store = self.json(&["stores", "add", "Cli Shop", "--currency", "USD", "--json"]);
        let store_id = store["store"]["id"].as_str().expect("store id").to_string();
        let supplier = self.json(&[
            "suppliers",
            "add",
            "Workshop",
            "--store",
            &store_id,
            "--kind",
            "manual",
            "--json",
        ]);
        (store_id, supplier["id"].as_str().expect("supplier id").to_string())
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn catalogue_imports_price_lists_and_lists_unmapped_variants() {
    let dropline = Dropline::new();
    let (store, supplier) = dropline.store_and_supplier();
    let list = dropline.file("prices.csv", "sku,title,unit_cost,stock\nMUG-1,Mug,4.50,12\n");
    let import = dropline.json(&["catalogue", "import", &supplier, "--price-list", &list, "--json"]);
    assert_eq!(import["products"][0]["variants"][0]["sku"], "MUG-1", "{import}");
    assert_eq!(
        dropline.json(&["catalogue", "unmapped", &store, "--json"]),
        serde_json::json!([])
    );

    let broken = dropline.file("broken.csv", "title\nMug\n");
    let refused = dropline.refused(&["catalogue", "import", &supplier, "--price-list", &broken]);
    assert!(refused.contains("price_list"), "{refused}");
    let refused = dropline.refused(&["catalogue", "unmapped", "no-such-store"]);
    assert!(refused.contains("not found"), "{refused}");
}

#[test]
fn stock_syncs_a_supplier_and_refuses_unknown_variants() {
    let dropline = Dropline::new();
    let (_, supplier) = dropline.store_and_supplier();
    let report = dropline.json(&["stock", "sync", &supplier, "--json"]);
    assert_eq!(report["supplier_id"], supplier.as_str(), "{report}");
    assert_eq!(report["summary"]["offers_read"], 0);
    let refused = dropline.refused(&["stock", "show", "no-such-variant"]);
    assert!(refused.contains("not found"), "{refused}");
}

#[test]
fn prices_are_previewed_and_bad_rules_named() {
    let dropline = Dropline::new();
    let (store, _) = dropline.store_and_supplier();
    let rules = dropline.file(
        "rules.json",
        r#"{"enabled": true, "rules": [{"scope": {"kind": "store"}, "rule": {"currency": "USD", "multiplier_bp": 25000}}]}"#,
    );
    let preview = dropline.json(&["prices", "preview", &store, "--rules", &rules, "--days", "7", "--json"]);
    assert_eq!(preview["days"], 7, "{preview}");
    assert_eq!(preview["changes"], serde_json::json!([]));
    let applied = dropline.json(&["prices", "apply", &store, "--rules", &rules, "--json"]);
    assert_eq!(applied["prices_applied"], 0, "{applied}");
    assert_eq!(
        dropline.json(&["prices", "changes", &store, "--status", "pending", "--json"]),
        serde_json::json!([])
    );

    let bad = dropline.file(
        "bad.json",
        r#"{"enabled": true, "rules": [{"scope": {"kind": "store"}, "rule": {"currency": "USD", "markup": 1}}]}"#,
    );
    let refused = dropline.refused(&["prices", "preview", &store, "--rules", &bad]);
    assert!(refused.contains("rules[0].rule.markup"), "{refused}");
    assert!(refused.contains("rules[0].rule.multiplier_bp"), "{refused}");
    let refused = dropline.refused(&["prices", "changes", &store, "--status", "maybe"]);
    assert!(refused.contains("status"), "{refused}");
    let refused = dropline.refused(&["prices", "approve", "no-such-change"]);
    assert!(refused.contains("not found"), "{refused}");
}
