//! The mailer through a real SMTP dialogue, against the test sink of dropline-testkit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The sink is dropline-testkit's, compiled in by path: a dev-dependency on the testkit would
// build the whole application (web, worker, both store crates, sqlx) for these tests, and
// tie them to the state of every one of those crates.
#[path = "../../dropline-testkit/src/smtp.rs"]
#[allow(dead_code)] // the sink's whole API, of which these tests use a part
mod sink;

use dropline_app::mail::{MailError, Mailer, OutgoingEmail};
use dropline_app::ports::Message;
use dropline_domain::catalog::Store as Shop;
use dropline_mail::{CUSTOMER_TEMPLATES, SmtpConfig, SmtpCredentials, SmtpMailer, TlsMode, render};
use serde_json::{Value, json};
use sink::{MailAddress, SmtpSink};
use std::time::Duration;

const STORE_ID: &str = "0190a6f0-0000-7000-8000-000000000001";
const CUSTOMER: &str = "jane@customer.example";
const WAIT: Duration = Duration::from_secs(5);

fn store(brand: Value) -> Shop {
    serde_json::from_value(json!({
        "id": STORE_ID,
        "name": "acme-store",
        "platform": "shopify",
        "currency": "EUR",
        "settings": {"brand": brand},
    }))
    .unwrap()
}

fn acme() -> Shop {
    store(json!({
        "display_name": "Acme Goods",
        "logo_url": "https://cdn.acme.example/logo.png",
        "from_email": "orders@acme.example",
        "reply_to": "help@acme.example",
        "support_email": "support@acme.example",
        "website_url": "https://acme.example",
    }))
}

fn data() -> Value {
    json!({
        "order": {
            "number": "#1042",
            "customer_name": "Jane Doe",
            "total": "59.80 EUR",
            "items": [{"title": "Linen shirt", "variant_title": "M / Blue", "quantity": 2}],
            "shipping_city": "Lyon",
            "shipping_country": "FR",
        },
        "tracking_page_url": "https://acme.example/track/4f2a",
        "parcel": {
            "carrier": "La Poste",
            "tracking_number": "LP123456789FR",
            "tracking_url": "https://carrier.example/track?n=LP123456789FR",
            "expected_latest": "2026-12-10",
        },
        "delay": {"reason": "The carrier is busy.", "expected_latest": "2026-12-14"},
        "failure": {"reason": "Recipient absent", "next_step": "The parcel waits at the post office."},
        "refund": {"amount": "29.90 EUR"},
    })
}

fn message(template: &str, recipient: Option<&str>, data: Value) -> Message {
    serde_json::from_value(json!({
        "id": "0190a6f0-0000-7000-8000-00000000000a",
        "store_id": STORE_ID,
        "order_id": "0190a6f0-0000-7000-8000-00000000000b",
        "template": template,
        "recipient": recipient,
        "data": data,
        "state": "queued",
        "created_at": "2026-12-04T10:00:00Z",
    }))
    .unwrap()
}

fn config(host: String, port: u16) -> SmtpConfig {
    SmtpConfig {
        port,
        tls: TlsMode::None,
        timeout: Duration::from_secs(5),
        ..SmtpConfig::new(host)
    }
}

fn mailer(sink: &SmtpSink) -> SmtpMailer {
    SmtpMailer::new(config(sink.host(), sink.port()))
}

async fn send(mailer: &SmtpMailer, store: &Shop, message: &Message, message_id: &str) -> Result<(), MailError> {
    mailer
        .send(OutgoingEmail {
            message,
            store,
            message_id: message_id.to_string(),
        })
        .await
}

#[tokio::test]
async fn every_customer_template_is_delivered_in_the_store_brand() {
    let sink = SmtpSink::start().await;
    let mailer = mailer(&sink);
    let store = acme();
    for template in CUSTOMER_TEMPLATES {
        let message = message(template, Some(CUSTOMER), data());
        send(&mailer, &store, &message, &format!("{template}.1@acme.example"))
            .await
            .unwrap_or_else(|e| panic!("{template}: {e}"));
    }
    let received = sink.wait_for(CUSTOMER_TEMPLATES.len(), WAIT).await;
    assert_eq!(received.len(), CUSTOMER_TEMPLATES.len());

    for (template, email) in CUSTOMER_TEMPLATES.iter().zip(&received) {
        let expected = render(template, &store, &data(), None).unwrap();
        assert_eq!(email.envelope_from, "orders@acme.example", "{template}");
        assert_eq!(email.envelope_to, [CUSTOMER], "{template}");
        assert_eq!(
            email.from,
            Some(MailAddress {
                name: Some("Acme Goods".to_string()),
                address: "orders@acme.example".to_string()
            }),
            "{template}"
        );
        assert_eq!(email.to.len(), 1, "{template}");
        assert_eq!(email.to[0].address, CUSTOMER, "{template}");
        assert_eq!(
            email.reply_to.as_ref().map(|a| a.address.as_str()),
            Some("help@acme.example"),
            "{template}"
        );
        assert_eq!(email.subject.as_deref(), Some(expected.subject.as_str()), "{template}");
        assert_eq!(
            email.message_id.as_deref(),
            Some(format!("{template}.1@acme.example").as_str()),
            "{template}"
        );
        assert_eq!(
            email.header("Message-ID"),
            Some(format!("<{template}.1@acme.example>").as_str())
        );
        assert_eq!(
            email.content_type.as_deref(),
            Some("multipart/alternative"),
            "{template}"
        );
        let html = email
            .html
            .as_deref()
            .unwrap_or_else(|| panic!("{template}: no HTML part"));
        let text = email
            .text
            .as_deref()
            .unwrap_or_else(|| panic!("{template}: no text part"));
        assert_eq!(
            html.replace("\r\n", "\n").trim_end(),
            expected.html.trim_end(),
            "{template}"
        );
        assert_eq!(
            text.replace("\r\n", "\n").trim_end(),
            expected.text.trim_end(),
            "{template}"
        );
        assert!(email.header("Date").is_some(), "{template}");

        // Nothing names the software or the machine that sent it.
        let raw = email.raw_text().to_lowercase();
        assert!(!raw.contains("dropline"), "{template}");
        assert!(!raw.contains("lettre"), "{template}");
        for header in ["X-Mailer", "User-Agent"] {
            assert!(email.header(header).is_none(), "{template}: {header}");
        }
    }

    let shipped = &received[CUSTOMER_TEMPLATES.iter().position(|t| *t == "shipped").unwrap()];
    for part in [shipped.html.as_deref().unwrap(), shipped.text.as_deref().unwrap()] {
        assert!(part.contains("https://carrier.example/track?n=LP123456789FR"));
        assert!(part.contains("https://acme.example/track/4f2a"));
    }
    assert!(
        shipped
            .html
            .as_deref()
            .unwrap()
            .contains(r#"href="https://acme.example/track/4f2a""#)
    );
}

#[tokio::test]
async fn reply_to_falls_back_to_the_support_address_and_the_name_to_the_store() {
    let sink = SmtpSink::start().await;
    let store = store(json!({"from_email": "orders@acme.example", "support_email": "support@acme.example"}));
    send(
        &mailer(&sink),
        &store,
        &message("delivered", Some(CUSTOMER), data()),
        "m1@acme.example",
    )
    .await
    .unwrap();
    let email = &sink.wait_for(1, WAIT).await[0];
    assert_eq!(email.from.as_ref().and_then(|a| a.name.as_deref()), Some("acme-store"));
    assert_eq!(
        email.reply_to.as_ref().map(|a| a.address.as_str()),
        Some("support@acme.example")
    );

    let store = self::store(json!({"from_email": "orders@acme.example"}));
    send(
        &mailer(&sink),
        &store,
        &message("delivered", Some(CUSTOMER), data()),
        "m2@acme.example",
    )
    .await
    .unwrap();
    let email = &sink.wait_for(2, WAIT).await[1];
    assert!(email.header("Reply-To").is_none());
}

#[tokio::test]
async fn a_message_id_without_domain_gets_the_sender_domain() {
    let sink = SmtpSink::start().await;
    let id = "0190a6f0-0000-7000-8000-00000000000a";
    send(&mailer(&sink), &acme(), &message("shipped", Some(CUSTOMER), data()), id)
        .await
        .unwrap();
    let email = &sink.wait_for(1, WAIT).await[0];
    assert_eq!(email.message_id, Some(format!("{id}@acme.example")));
}

#[tokio::test]
async fn international_names_and_text_arrive_intact() {
    let sink = SmtpSink::start().await;
    let store = store(json!({"display_name": "Café Ünïcode & Co", "from_email": "orders@acme.example"}));
    let mut data = data();
    data["order"]["customer_name"] = json!("Zoë Ōtani");
    send(
        &mailer(&sink),
        &store,
        &message("shipped", Some(CUSTOMER), data),
        "u1@acme.example",
    )
    .await
    .unwrap();
    let email = &sink.wait_for(1, WAIT).await[0];
    assert_eq!(
        email.from.as_ref().and_then(|a| a.name.as_deref()),
        Some("Café Ünïcode & Co")
    );
    assert!(email.text.as_deref().unwrap().contains("Hi Zoë Ōtani,"));
    assert!(email.html.as_deref().unwrap().contains("Café Ünïcode &amp; Co"));
    assert!(email.raw.is_ascii(), "encoded for any server");
}

#[tokio::test]
async fn a_refused_recipient_is_undeliverable_with_the_server_text() {
    let sink = SmtpSink::start().await;
    sink.refuse_recipients_containing("gone@");
    let error = send(
        &mailer(&sink),
        &acme(),
        &message("shipped", Some("gone@customer.example"), data()),
        "r1@acme.example",
    )
    .await
    .unwrap_err();
    let MailError::Undeliverable(reason) = &error else {
        panic!("{error:?}");
    };
    assert!(reason.contains("gone@customer.example"), "{reason}");
    assert!(reason.contains("550"), "{reason}");
    assert!(reason.contains("no such user"), "{reason}");
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn a_temporary_failure_is_retryable_and_the_retry_goes_through() {
    let sink = SmtpSink::start().await;
    sink.fail_next_transactions(1);
    let mailer = mailer(&sink);
    let message = message("shipped", Some(CUSTOMER), data());
    let error = send(&mailer, &acme(), &message, "t1@acme.example").await.unwrap_err();
    let MailError::Retryable(reason) = &error else {
        panic!("{error:?}");
    };
    assert!(reason.contains("451") && reason.contains("try again later"), "{reason}");
    assert!(sink.received().is_empty());

    send(&mailer, &acme(), &message, "t1@acme.example").await.unwrap();
    let received = sink.wait_for(1, WAIT).await;
    assert_eq!(received[0].message_id.as_deref(), Some("t1@acme.example"));
}

#[tokio::test]
async fn a_refused_connection_is_retryable() {
    // A port that was free a moment ago and has no listener now.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mailer = SmtpMailer::new(config("127.0.0.1".to_string(), port));
    let error = send(
        &mailer,
        &acme(),
        &message("shipped", Some(CUSTOMER), data()),
        "c1@acme.example",
    )
    .await
    .unwrap_err();
    assert!(matches!(error, MailError::Retryable(_)), "{error:?}");
}

#[tokio::test]
async fn a_silent_server_times_out_as_retryable() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and says nothing.
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let mailer = SmtpMailer::new(SmtpConfig {
        timeout: Duration::from_millis(300),
        ..config("127.0.0.1".to_string(), port)
    });
    let started = std::time::Instant::now();
    let error = send(
        &mailer,
        &acme(),
        &message("shipped", Some(CUSTOMER), data()),
        "s1@acme.example",
    )
    .await
    .unwrap_err();
    assert!(matches!(error, MailError::Retryable(_)), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    server.abort();
}

#[tokio::test]
async fn a_store_without_sender_address_is_invalid_and_nothing_is_sent() {
    let sink = SmtpSink::start().await;
    let store = store(json!({"display_name": "Acme Goods", "support_email": "support@acme.example"}));
    let error = send(
        &mailer(&sink),
        &store,
        &message("shipped", Some(CUSTOMER), data()),
        "f1@acme.example",
    )
    .await
    .unwrap_err();
    let MailError::Invalid(reason) = &error else {
        panic!("{error:?}");
    };
    assert!(reason.contains("from_email"), "{reason}");
    assert_eq!(sink.connections(), 0);

    let store = self::store(json!({"from_email": "not an address"}));
    let error = send(
        &mailer(&sink),
        &store,
        &message("shipped", Some(CUSTOMER), data()),
        "f2@acme.example",
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&error, MailError::Invalid(r) if r.contains("not an address")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_bad_or_missing_recipient_is_undeliverable() {
    let sink = SmtpSink::start().await;
    let mailer = mailer(&sink);
    let error = send(
        &mailer,
        &acme(),
        &message("shipped", Some("jane at home"), data()),
        "b1@acme.example",
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&error, MailError::Undeliverable(r) if r.contains("jane at home")),
        "{error:?}"
    );
    let error = send(&mailer, &acme(), &message("shipped", None, data()), "b2@acme.example")
        .await
        .unwrap_err();
    assert!(matches!(error, MailError::Undeliverable(_)), "{error:?}");
    assert_eq!(sink.connections(), 0);
}

#[tokio::test]
async fn an_unknown_template_or_a_broken_override_is_invalid() {
    let sink = SmtpSink::start().await;
    let error = send(
        &mailer(&sink),
        &acme(),
        &message("nope", Some(CUSTOMER), data()),
        "i1@acme.example",
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&error, MailError::Invalid(r) if r.contains("nope")),
        "{error:?}"
    );

    let overrides = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(overrides.path().join(STORE_ID)).unwrap();
    std::fs::write(overrides.path().join(STORE_ID).join("shipped.txt"), "{{ broken").unwrap();
    let mailer = SmtpMailer::new(SmtpConfig {
        overrides_dir: Some(overrides.path().to_path_buf()),
        ..config(sink.host(), sink.port())
    });
    let error = send(
        &mailer,
        &acme(),
        &message("shipped", Some(CUSTOMER), data()),
        "i2@acme.example",
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&error, MailError::Invalid(r) if r.contains("shipped.txt")),
        "{error:?}"
    );
    assert_eq!(sink.connections(), 0);
}

#[tokio::test]
async fn an_override_reaches_the_customer() {
    let sink = SmtpSink::start().await;
    let overrides = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(overrides.path().join(STORE_ID)).unwrap();
    std::fs::write(
        overrides.path().join(STORE_ID).join("shipped.subject.txt"),
        "{{ order.number }} shipped!",
    )
    .unwrap();
    let mailer = SmtpMailer::new(SmtpConfig {
        overrides_dir: Some(overrides.path().to_path_buf()),
        ..config(sink.host(), sink.port())
    });
    send(
        &mailer,
        &acme(),
        &message("shipped", Some(CUSTOMER), data()),
        "o1@acme.example",
    )
    .await
    .unwrap();
    assert_eq!(
        sink.wait_for(1, WAIT).await[0].subject.as_deref(),
        Some("#1042 shipped!")
    );
}

#[tokio::test]
async fn credentials_sign_in_before_sending() {
    let sink = SmtpSink::start().await;
    let mailer = SmtpMailer::new(SmtpConfig {
        credentials: Some(SmtpCredentials {
            username: "relay-user".to_string(),
            password: "relay-secret".to_string(),
        }),
        ..config(sink.host(), sink.port())
    });
    assert!(!format!("{:?}", mailer.config()).contains("relay-secret"));
    send(
        &mailer,
        &acme(),
        &message("delivered", Some(CUSTOMER), data()),
        "a1@acme.example",
    )
    .await
    .unwrap();
    assert_eq!(sink.wait_for(1, WAIT).await.len(), 1);
}

#[tokio::test]
async fn starttls_refused_by_the_server_is_retryable() {
    // The sink offers no STARTTLS: a mailer that requires it must not send in the clear.
    let sink = SmtpSink::start().await;
    let mailer = SmtpMailer::new(SmtpConfig {
        tls: TlsMode::StartTls,
        ..config(sink.host(), sink.port())
    });
    let error = send(
        &mailer,
        &acme(),
        &message("shipped", Some(CUSTOMER), data()),
        "st1@acme.example",
    )
    .await
    .unwrap_err();
    assert!(matches!(error, MailError::Retryable(_)), "{error:?}");
    assert!(sink.received().is_empty());
}
