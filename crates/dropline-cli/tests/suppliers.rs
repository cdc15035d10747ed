//! `dropline suppliers add|list|reconcile|export|import` run as a user runs them, against a
//! simulated CJ on 127.0.0.1.

use dropline_sim::CjSim;
use serde_json::Value;
use std::process::{Command, Output, Stdio};

struct Dropline {
    dir: tempfile::TempDir,
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn run(dropline: &Dropline, args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = dropline.dir.path().to_path_buf();
    let args: Vec<String> = args.iter().map(|a| (*a).to_string()).collect();
    let env: Vec<(String, String)> = env.iter().map(|(n, v)| ((*n).to_string(), (*v).to_string())).collect();
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dropline"));
        command
            .env_clear()
            .current_dir(&dir)
            .arg("--data-dir")
            .arg(dir.join("data"))
            .args(&args)
            .stdin(Stdio::null());
        for (name, value) in &env {
            command.env(name, value);
        }
        command.output().expect("run dropline")
    })
    .await
    .expect("join")
}

async fn run_json(dropline: &Dropline, args: &[&str], env: &[(&str, &str)]) -> Value {
    let output = run(dropline, args, env).await;
    assert!(
        output.status.success(),
        "dropline {args:?} failed: {}",
        text(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| panic!("no JSON ({err}): {}", text(&output.stdout)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suppliers_are_added_listed_reconciled_and_agents_get_their_spreadsheet() {
    let sim = CjSim::start(61).await.expect("the simulator starts");
    let dropline = Dropline {
        dir: tempfile::tempdir().expect("temp dir"),
    };
    let store = run_json(
        &dropline,
        &["stores", "add", "Cli Shop", "--currency", "USD", "--json"],
        &[],
    )
    .await;
    let store_id = store["store"]["id"].as_str().expect("store id").to_string();
    // The API key comes from the environment, not the command line.
    let cj = run_json(
        &dropline,
        &[
            "suppliers",
            "add",
            "CJ Dropshipping",
            "--store",
            &store_id,
            "--kind",
            "cj",
            "--api-base",
            sim.base_url(),
            "--requests-per-second",
            "5",
            "--deadline-days",
            "7",
            "--json",
        ],
        &[("DROPLINE_SUPPLIER_API_KEY", sim.api_key())],
    )
    .await;
    let cj_id = cj["id"].as_str().expect("supplier id").to_string();
    assert_eq!(cj["kind"], "cj");
    let agent = run_json(
        &dropline,
        &[
            "suppliers",
            "add",
            "Agent",
            "--store",
            &store_id,
            "--kind",
            "agent",
            "--agent-layout",
            "Ref=idempotency_key, SKU=supplier_sku, Qty=quantity",
            "--json",
        ],
        &[],
    )
    .await;
    let agent_id = agent["id"].as_str().expect("agent id").to_string();

    let listed = run_json(&dropline, &["suppliers", "list", "--store", &store_id, "--json"], &[]).await;
    let rows = listed.as_array().expect("rows");
    assert_eq!(rows.len(), 2);
    assert!(!listed.to_string().contains(sim.api_key()), "the key is never printed");

    // CJ knows no order of this store: nothing differs.
    let report = run_json(&dropline, &["suppliers", "reconcile", &cj_id, "--json"], &[]).await;
    assert_eq!(report["remote_orders"], 0);
    assert_eq!(report["complete"], true);
    assert!(sim.calls("/shopping/order/list") >= 1, "CJ's list was read");

    // The agent's spreadsheet: the header of its layout (no open orders yet).
    let export = run(&dropline, &["suppliers", "export", &agent_id], &[]).await;
    assert!(export.status.success(), "{}", text(&export.stderr));
    assert_eq!(text(&export.stdout).trim(), "Ref,SKU,Qty");
    assert!(text(&export.stderr).contains("0 supplier order(s) exported"));

    // Bad input: one line, non-zero, nothing added.
    let bad = run(
        &dropline,
        &[
            "suppliers",
            "add",
            "Bad",
            "--store",
            &store_id,
            "--kind",
            "cj",
            "--api-base",
            "ftp://x",
            "--api-key",
            "k",
        ],
        &[],
    )
    .await;
    assert!(!bad.status.success());
    let message = text(&bad.stderr);
    assert!(message.contains("connection.api_base"), "{message}");
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    let unknown_kind = run(
        &dropline,
        &["suppliers", "add", "X", "--store", &store_id, "--kind", "nope"],
        &[],
    )
    .await;
    assert!(!unknown_kind.status.success());
    assert!(text(&unknown_kind.stderr).contains("not a supplier kind"));
    let file = dropline.dir.path().join("answer.csv");
    std::fs::write(&file, "idempotency_key,agent_order_id\r\nnot-ours,A-1\r\n").expect("write");
    let refused = run(
        &dropline,
        &["suppliers", "import", &agent_id, file.to_str().expect("path")],
        &[],
    )
    .await;
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("row 2"), "{}", text(&refused.stderr));
    let listed = run_json(&dropline, &["suppliers", "list", "--json"], &[]).await;
    assert_eq!(listed.as_array().expect("rows").len(), 2, "nothing was added");
    // A manual supplier has nothing to reconcile.
    let manual = run_json(
        &dropline,
        &[
            "suppliers",
            "add",
            "Manual",
            "--store",
            &store_id,
            "--kind",
            "manual",
            "--json",
        ],
        &[],
    )
    .await;
    let manual_id = manual["id"].as_str().expect("id");
    let refused = run(&dropline, &["suppliers", "reconcile", manual_id], &[]).await;
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("no order list"),
        "{}",
        text(&refused.stderr)
    );
}
