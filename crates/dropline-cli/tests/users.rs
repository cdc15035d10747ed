//! `dropline users add|list` run as an operator runs them: the password on standard input,
//! tables for people, JSON for scripts, one-line errors with a non-zero exit.

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs the binary over the data directory `dir`, with `stdin` as its standard input.
fn run(dir: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dropline"))
        .env_clear()
        .current_dir(dir)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run dropline");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("dropline ends")
}

fn run_json(dir: &std::path::Path, args: &[&str], stdin: &str) -> Value {
    let output = run(dir, args, stdin);
    assert!(
        output.status.success(),
        "dropline {args:?} failed: {}",
        text(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| panic!("no JSON ({err}): {}", text(&output.stdout)))
}

#[test]
fn users_are_added_with_a_password_from_stdin_and_listed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let store = run_json(dir, &["stores", "add", "Mugs", "--currency", "EUR", "--json"], "");
    let store_id = store["store"]["id"].as_str().expect("store id").to_string();

    let password = "correct horse battery\n";
    let operator = run_json(
        dir,
        &[
            "users",
            "add",
            "--email",
            "Root@Example.com",
            "--name",
            "Root",
            "--role",
            "operator",
            "--password-stdin",
            "--json",
        ],
        password,
    );
    assert_eq!(operator["email"], "root@example.com");
    assert_eq!(operator["role"], "operator");
    assert_eq!(operator["store_id"], Value::Null);
    let seller = run(
        dir,
        &[
            "users",
            "add",
            "--email",
            "ana@example.com",
            "--name",
            "Ana",
            "--role",
            "seller",
            "--store",
            &store_id,
            "--password-stdin",
        ],
        password,
    );
    assert!(seller.status.success(), "{}", text(&seller.stderr));
    assert!(text(&seller.stdout).contains("user ana@example.com (seller) created"));

    let listed = run_json(dir, &["users", "list", "--json"], "");
    let emails: Vec<&str> = listed
        .as_array()
        .expect("a list")
        .iter()
        .map(|user| user["email"].as_str().expect("email"))
        .collect();
    assert_eq!(emails, ["root@example.com", "ana@example.com"]);
    assert!(!listed.to_string().contains("argon2"), "no hash is shown: {listed}");

    let table = run(dir, &["users", "list"], "");
    assert!(table.status.success());
    let table = text(&table.stdout);
    assert!(
        table.contains("ana@example.com") && table.contains(&store_id) && table.contains("all"),
        "{table}"
    );
}

#[test]
fn refused_users_give_one_line_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let add = |email: &str, role: &str, password: &str| {
        run(
            dir,
            &[
                "users",
                "add",
                "--email",
                email,
                "--name",
                "N",
                "--role",
                role,
                "--password-stdin",
            ],
            password,
        )
    };
    for (output, expected) in [
        (
            add("a@example.com", "operator", "short\n"),
            "password: must be at least 12",
        ),
        (add("a@example.com", "seller", "correct horse battery\n"), "store_id"),
        (
            add("not-an-email", "operator", "correct horse battery\n"),
            "email: not a valid email",
        ),
        (add("a@example.com", "operator", ""), "no password on standard input"),
        (
            add("a@example.com", "boss", "correct horse battery\n"),
            "'boss' is not a role",
        ),
    ] {
        assert!(!output.status.success());
        let stderr = text(&output.stderr);
        assert!(stderr.contains(expected), "expected '{expected}' in: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    }
    assert!(
        add("a@example.com", "operator", "correct horse battery\n")
            .status
            .success()
    );
    let duplicate = add("A@example.com", "operator", "correct horse battery\n");
    assert!(!duplicate.status.success());
    assert!(
        text(&duplicate.stderr).contains("exists"),
        "{}",
        text(&duplicate.stderr)
    );

    // Without --password-stdin nothing is read and nothing is created.
    let missing = run(
        dir,
        &[
            "users",
            "add",
            "--email",
            "b@example.com",
            "--name",
            "N",
            "--role",
            "operator",
        ],
        "",
    );
    assert_eq!(missing.status.code(), Some(2));
    let listed = run_json(dir, &["users", "list", "--json"], "");
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
}
