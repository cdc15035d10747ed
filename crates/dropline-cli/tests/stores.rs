//! `dropline stores add|list|test|pull` run as a user runs them, against a simulated Shopify
//! store over HTTP on 127.0.0.1.

use dropline_sim::{ShopifySim, SimConfig, SimProduct};
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
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn shopify() -> ShopifySim {
    let catalogue = vec![
        SimProduct::simple("Ceramic mug", "MUG-1", "12.50"),
        SimProduct::simple("Poster", "POSTER-1", "8.00"),
    ];
    ShopifySim::start(
        SimConfig::new(7)
            .currency("USD")
            .shop_name("Cli Test Shop")
            .catalogue(catalogue),
    )
    .await
    .expect("the simulator starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shopify_store_is_added_tested_and_its_catalogue_pulled() {
    let sim = shopify().await;
    let dropline = Dropline::new();
    let base = sim.base_url().to_string();
    let domain = sim.shop_domain().to_string();
    let secret = sim.webhook_secret().to_string();
    let token = sim.access_token().to_string();
    // Secrets come from the environment, not the command line.
    let added = run_json(
        &dropline,
        &[
            "stores",
            "add",
            "Cli Test Shop",
            "--currency",
            "USD",
            "--platform",
            "shopify",
            "--domain",
            &domain,
            "--api-base",
            &base,
            "--json",
        ],
        &[("DROPLINE_WEBHOOK_SECRET", &secret), ("DROPLINE_ACCESS_TOKEN", &token)],
    )
    .await;
    let store_id = added["store"]["id"].as_str().expect("store id").to_string();
    assert_eq!(added["store"]["platform"], "shopify");
    let printed = added.to_string();
    assert!(
        !printed.contains(&secret) && !printed.contains(&token),
        "secrets are not printed: {printed}"
    );

    let listed = run_json(&dropline, &["stores", "list", "--json"], &[]).await;
    assert!(listed.to_string().contains(&store_id));
    assert!(!listed.to_string().contains(&secret), "secrets are not listed");

    let tested = run_json(&dropline, &["stores", "test", &store_id, "--json"], &[]).await;
    assert_eq!(tested["ok"], true);
    assert_eq!(tested["shop_name"], "Cli Test Shop");

    let pulled = run_json(&dropline, &["stores", "pull", &store_id, "--json"], &[]).await;
    assert_eq!(pulled["products_created"], 2, "{pulled}");
    assert_eq!(pulled["variants_created"], 2, "{pulled}");
    let again = run_json(&dropline, &["stores", "pull", &store_id, "--json"], &[]).await;
    assert_eq!(again["products_created"], 0, "{again}");
    assert_eq!(again["variants_created"], 0, "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_and_bad_connections_are_reported_in_one_line() {
    let sim = shopify().await;
    let dropline = Dropline::new();
    let base = sim.base_url().to_string();
    let added = run_json(
        &dropline,
        &[
            "stores",
            "add",
            "Wrong token shop",
            "--currency",
            "USD",
            "--platform",
            "shopify",
            "--domain",
            "wrong.myshopify.com",
            "--api-base",
            &base,
            "--webhook-secret",
            "a-long-enough-secret",
            "--json",
        ],
        &[("DROPLINE_ACCESS_TOKEN", "shpat_not_the_token")],
    )
    .await;
    let store_id = added["store"]["id"].as_str().expect("store id").to_string();
    let output = run(&dropline, &["stores", "test", &store_id], &[]).await;
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert_eq!(stderr.lines().filter(|l| !l.trim().is_empty()).count(), 1, "{stderr}");
    assert!(
        stderr.contains("does not work") && stderr.contains("credentials refused"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("shpat_not_the_token"),
        "the token is not printed: {stderr}"
    );

    // A connection that is not one is refused before anything is stored.
    let output = run(
        &dropline,
        &[
            "stores",
            "add",
            "Bad",
            "--currency",
            "USD",
            "--platform",
            "shopify",
            "--domain",
            "https://x/y",
            "--webhook-secret",
            "short",
        ],
        &[],
    )
    .await;
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("domain") && stderr.contains("webhook_secrets[0]"),
        "{stderr}"
    );
    let listed = run_json(&dropline, &["stores", "list", "--json"], &[]).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");

    // A store of a platform without an API has nothing to test.
    let csv = run_json(&dropline, &["stores", "add", "Csv", "--currency", "USD", "--json"], &[]).await;
    let csv_id = csv["store"]["id"].as_str().expect("store id").to_string();
    let output = run(&dropline, &["stores", "test", &csv_id], &[]).await;
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("platform"), "{}", text(&output.stderr));
    let output = run(&dropline, &["stores", "test", "not-an-id"], &[]).await;
    assert!(
        text(&output.stderr).contains("is not a store id"),
        "{}",
        text(&output.stderr)
    );
}

/// Runs the binary off the async runtime (the simulator keeps serving meanwhile).
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
