//! The dashboard over plain HTTP (no browser): sign-in answers, the session cookie, the
//! redirect to `/sign-in` without a live session, the CSRF check of posted forms, and
//! another store's order answering "not found".

use crate::id_of;
use dropline_app::accounts::{Accounts, NewUser};
use dropline_domain::account::{Caller, Role};
use dropline_testkit::{TestApp, data};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};

const PASSWORD: &str = "correct horse battery staple";

/// A client that shows redirects instead of following them.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

/// `application/x-www-form-urlencoded` of these pairs.
fn form_body(pairs: &[(&str, &str)]) -> String {
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => (b as char).to_string(),
                b' ' => "+".to_string(),
                b => format!("%{b:02X}"),
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A seller of `store_id` with [`PASSWORD`]; their email.
async fn seller(app: &TestApp, store_id: &str, email: &str) -> String {
    Accounts::new(app.app().clone())
        .create_user(
            Caller::operator(),
            NewUser {
                email: email.into(),
                name: "Sam Seller".into(),
                role: Role::Seller,
                store_id: Some(store_id.parse().expect("store id")),
                password: PASSWORD.into(),
            },
        )
        .await
        .expect("a seller");
    email.to_string()
}

/// Signs in; the `Cookie` header value of the session.
async fn sign_in(app: &TestApp, email: &str) -> String {
    let response = client()
        .post(format!("{}/sign-in", app.base_url()))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form_body(&[("email", email), ("password", PASSWORD)]))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/orders");
    let cookie = response.headers()[SET_COOKIE].to_str().expect("text").to_string();
    assert!(cookie.starts_with("dropline_session="), "{cookie}");
    for part in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    // Served on 127.0.0.1 over plain http: no `Secure`, or the browser would drop it.
    assert!(!cookie.contains("Secure"), "{cookie}");
    cookie.split(';').next().expect("name=value").to_string()
}

#[tokio::test]
async fn a_wrong_password_is_refused_with_a_message_and_the_email_kept() {
    let app = TestApp::spawn().await;
    let seeded = app.seed().await;
    let email = seller(&app, &seeded.store_id, "sam@example.com").await;
    let response = client()
        .post(format!("{}/sign-in", app.base_url()))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form_body(&[
            ("email", email.as_str()),
            ("password", "not the password"),
        ]))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get(SET_COOKIE).is_none());
    let body = response.text().await.expect("body");
    assert!(body.contains("Wrong email or password"), "{body}");
    assert!(body.contains("value=\"sam@example.com\""), "{body}");
}

#[tokio::test]
async fn without_a_live_session_the_dashboard_sends_to_sign_in() {
    let app = TestApp::spawn().await;
    // No cookie, malformed ones, and a well-formed token of no session.
    let unknown = format!("dropline_session={}", "ab".repeat(32));
    let cookies = [
        None,
        Some("dropline_session=not-a-token"),
        Some("dropline_session=<script>"),
        Some(unknown.as_str()),
    ];
    for cookie in cookies {
        for path in ["/orders", "/orders/00000000-0000-0000-0000-000000000000"] {
            let mut request = client().get(format!("{}{path}", app.base_url()));
            if let Some(cookie) = cookie {
                request = request.header(COOKIE, cookie);
            }
            let response = request.send().await.expect("sent");
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path} with {cookie:?}");
            assert_eq!(response.headers()[LOCATION], "/sign-in");
        }
    }
}

#[tokio::test]
async fn sign_out_needs_the_csrf_token_of_the_session() {
    let app = TestApp::spawn().await;
    let seeded = app.seed().await;
    let email = seller(&app, &seeded.store_id, "sam@example.com").await;
    let cookie = sign_in(&app, &email).await;
    let sign_out = |form: &'static [(&'static str, &'static str)]| {
        client()
            .post(format!("{}/sign-out", app.base_url()))
            .header(COOKIE, cookie.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form_body(form))
            .send()
    };

    for form in [&[][..], &[("csrf", "")][..], &[("csrf", "wrong")][..]] {
        let response = sign_out(form).await.expect("sent");
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{form:?}");
        let body = response.text().await.expect("body");
        assert!(body.contains("security token is missing or wrong"), "{body}");
    }

    // The session is still there; its page carries the token, which signs out.
    let orders = client()
        .get(format!("{}/orders", app.base_url()))
        .header(COOKIE, cookie.clone())
        .send()
        .await
        .expect("sent");
    assert_eq!(orders.status(), StatusCode::OK);
    let body = orders.text().await.expect("body");
    let csrf = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a csrf field")
        .to_string();
    let response = client()
        .post(format!("{}/sign-out", app.base_url()))
        .header(COOKIE, cookie.clone())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form_body(&[("csrf", csrf.as_str())]))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/sign-in");
    let cleared = response.headers()[SET_COOKIE].to_str().expect("text");
    assert!(
        cleared.starts_with("dropline_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );

    let after = client()
        .get(format!("{}/orders", app.base_url()))
        .header(COOKIE, cookie)
        .send()
        .await
        .expect("sent");
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn another_stores_order_is_not_found() {
    let app = TestApp::spawn().await;
    let ours = app.seed().await;
    let theirs = app.seed().await;
    let order = data::order(
        &theirs.store_id,
        &theirs.next_external_id(),
        &[(theirs.skus[0].as_str(), 1)],
    );
    let their_order = id_of(&app.with_token(&theirs.token).post_order(&order).await.expect(201));
    let email = seller(&app, &ours.store_id, "sam@example.com").await;
    let cookie = sign_in(&app, &email).await;

    for path in [format!("/orders/{their_order}"), "/orders/not-an-id".to_string()] {
        let response = client()
            .get(format!("{}{path}", app.base_url()))
            .header(COOKIE, cookie.clone())
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let list = client()
        .get(format!("{}/orders", app.base_url()))
        .header(COOKIE, cookie)
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("body");
    assert!(!list.contains(&their_order), "{list}");
}

#[tokio::test]
async fn repeated_wrong_passwords_lock_the_sign_in_with_a_message() {
    let app = TestApp::spawn().await;
    let seeded = app.seed().await;
    let email = seller(&app, &seeded.store_id, "sam@example.com").await;
    let attempt = |password: &'static str| {
        client()
            .post(format!("{}/sign-in", app.base_url()))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form_body(&[("email", email.as_str()), ("password", password)]))
            .send()
    };
    for _ in 0..5 {
        let response = attempt("not the password").await.expect("sent");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Locked: even the right password is refused for now, with the reason.
    let response = attempt(PASSWORD).await.expect("sent");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().get(SET_COOKIE).is_none());
    let body = response.text().await.expect("body");
    assert!(body.contains("Too many failed sign-ins"), "{body}");
    assert!(body.contains("value=\"sam@example.com\""), "{body}");
}
