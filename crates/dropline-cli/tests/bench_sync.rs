//! `dropline bench-sync` at a tiny size, run as a user runs it: the report's invariants hold
//! (the drift sync writes exactly what changed, the sync without drift writes nothing) and
//! its figures are there.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::process::{Command, Stdio};

fn bench_sync(args: &[&str]) -> Value {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = Command::new(env!("CARGO_BIN_EXE_dropline"))
        .env_clear()
        .current_dir(dir.path())
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--json")
        .arg("bench-sync")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run dropline");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "bench-sync failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("data").join("bench"))
        .expect("the bench folder")
        .collect();
    assert!(leftovers.is_empty(), "the database is deleted without --keep");
    serde_json::from_str(&stdout).unwrap_or_else(|err| panic!("no JSON ({err}): {stdout}"))
}

fn count(value: &Value) -> u64 {
    value.as_u64().unwrap_or_else(|| panic!("not a count: {value}"))
}

#[test]
fn bench_sync_writes_only_what_changed() {
    let report = bench_sync(&[
        "--variants",
        "200",
        "--variants-per-product",
        "10",
        "--drift-bp",
        "3000",
        "--supplier-rate",
        "100",
    ]);
    assert_eq!(report["variants"], 200, "{report:#}");
    let phases = report["phases"].as_array().expect("phases");
    assert_eq!(phases.len(), 3, "{report:#}");
    let (first, second, third) = (&phases[0], &phases[1], &phases[2]);

    // The baseline writes every variant; CJ is read by product, two requests a product.
    assert_eq!(count(&first["variants_pushed"]), 200, "{first:#}");
    assert!(count(&first["supplier_requests"]) >= 40, "{first:#}");
    assert!(count(&first["storefront_requests"]) > 0, "{first:#}");
    assert_eq!(first["supplier_rate_limited"], 0, "paced under CJ's limit: {first:#}");

    // After the drift: exactly the variants that changed at the storefront were written.
    assert!(count(&report["drift"]["moved_at_supplier"]) > 0, "{report:#}");
    assert!(count(&second["variants_pushed"]) > 0, "{second:#}");
    assert_eq!(second["variants_pushed"], second["changed_at_storefront"], "{second:#}");
    assert_eq!(report["drift"]["wasted_pushes"], 0, "{report:#}");
    assert!(count(&second["supplier_requests"]) > 0, "{second:#}");
    for phase in phases {
        assert_eq!(phase["out_of_line"], 0, "the storefront follows CJ: {phase:#}");
        assert!(phase["error"].is_null(), "{phase:#}");
    }

    // Nothing moved: nothing is written, though CJ is read again.
    assert_eq!(third["variants_pushed"], 0, "{third:#}");
    assert_eq!(third["storefront_listing_writes"], 0, "{third:#}");
    assert_eq!(third["changed_at_storefront"], 0, "{third:#}");
    assert!(count(&third["supplier_requests"]) > 0, "{third:#}");

    assert!(count(&report["peak_memory_kib"]) > 0, "{report:#}");
    assert_eq!(report["at_cj_levels"].as_array().map(Vec::len), Some(6), "{report:#}");
}
