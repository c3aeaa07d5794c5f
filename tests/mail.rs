//! Magic links delivered for real: through an SMTP server (STARTTLS, a certificate made
//! for the run, a password), and through a local HTTP server standing in for a JSON email
//! API (Resend's and SendGrid's shapes, and their error answers).
//!
//! The SMTP server is `.ci/smtp_server.py`, started by `.ci/run`, which exports
//! `TENANTRY_SMTP_PORT`, `TENANTRY_SMTP_CA` (the authority that signed its certificate),
//! `TENANTRY_SMTP_MAILDIR` (where it writes what it receives), `TENANTRY_SMTP_USER` and
//! `TENANTRY_SMTP_PASSWORD`. Without them the SMTP tests print a notice and skip, except
//! under `CI=true`, where they fail.
#![cfg(all(feature = "smtp", feature = "http-mail", feature = "axum"))]

mod common;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use tenantry::auth::{
    AsyncAuth, Auth, EmailApi, HttpMailer, MailTemplate, Mailer, MemoryMailer, Merge, SmtpMailer, SmtpSecurity,
};
use tenantry::{Admin, Error, SqliteDatabase};
use uuid::Uuid;

const VERIFY_URL: &str = "https://clips.example/auth/verify";

fn auth_with(mailer: Arc<dyn Mailer>, template: MailTemplate) -> tenantry::Result<Auth> {
    let db = SqliteDatabase::open_in_memory()?;
    Auth::builder(&Admin::new("mail tests build the auth service"), db)
        .verify_url(VERIFY_URL)
        .mailer(mailer)
        .mail_template(template)
        .build()
}

/// A fresh address, so a test finds its own message among the server's.
fn address() -> String {
    format!("ada-{}@example.com", Uuid::new_v4().simple())
}

#[test]
fn a_template_without_the_link_or_with_it_in_the_subject_is_refused() {
    let cases = [
        (MailTemplate::new("Clips").text("Welcome back!"), "plain-text body"),
        (MailTemplate::new("Clips").html("<p>Welcome back!</p>"), "HTML body"),
        (MailTemplate::new("Clips").subject("Your link: {link}"), "subject"),
        (MailTemplate::new("Clips\r\nBcc: everyone@example.com"), "one line"),
    ];
    for (template, what) in cases {
        let err = auth_with(Arc::new(MemoryMailer::default()), template).unwrap_err();
        assert!(matches!(err, Error::MailSettings { .. }), "{err:?}");
        assert!(err.to_string().contains(what), "{err}");
    }
}

#[test]
fn the_template_fills_the_link_and_product_escaping_them_in_html() {
    let mail = Arc::new(MemoryMailer::default());
    let template = MailTemplate::new("Clips & <Co>")
        .subject("{product}: sign in")
        .text("{link}\n{product} for {minutes} min; {unknown} stays")
        .html("<a href=\"{link}\">{product}</a>");
    let auth = auth_with(mail.clone(), template).unwrap();
    auth.request_link("ada@example.com", "caller", None).unwrap();
    let sent = &mail.sent()[0];
    assert_eq!(sent.subject, "Clips & <Co>: sign in");
    let link = sent.link().to_owned();
    assert!(link.starts_with(&format!("{VERIFY_URL}?token=")), "{link}");
    assert_eq!(sent.body, format!("{link}\nClips & <Co> for 15 min; {{unknown}} stays"));
    assert_eq!(sent.html.as_deref(), Some(format!("<a href=\"{link}\">Clips &amp; &lt;Co&gt;</a>").as_str()));
    // The link works: the message carries the real token.
    let token = link.rsplit("token=").next().unwrap();
    assert!(auth.verify_link(token, None, Merge::IntoAccount).is_ok());
}

// ---- SMTP ----

struct SmtpServer {
    port: u16,
    ca: Vec<u8>,
    maildir: PathBuf,
    user: String,
    password: String,
}

fn smtp_server() -> Option<SmtpServer> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (Some(port), Some(ca), Some(maildir), Some(user), Some(password)) = (
        var("TENANTRY_SMTP_PORT"),
        var("TENANTRY_SMTP_CA"),
        var("TENANTRY_SMTP_MAILDIR"),
        var("TENANTRY_SMTP_USER"),
        var("TENANTRY_SMTP_PASSWORD"),
    ) else {
        common::server_missing(
            "no SMTP server is configured: TENANTRY_SMTP_PORT and the rest are not set (.ci/run starts .ci/smtp_server.py)",
        );
        return None;
    };
    Some(SmtpServer {
        port: port.parse().expect("TENANTRY_SMTP_PORT is a port"),
        ca: std::fs::read(ca).expect("TENANTRY_SMTP_CA is a readable PEM file"),
        maildir: maildir.into(),
        user,
        password,
    })
}

impl SmtpServer {
    fn mailer(&self) -> SmtpMailer {
        SmtpMailer::builder("localhost", "Clips <login@clips.example>")
            .port(self.port)
            .credentials(&self.user, &self.password)
            .root_certificate_pem(self.ca.clone())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    }

    /// The raw message the server received for `to`, waiting for it a little.
    fn received(&self, to: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            for entry in std::fs::read_dir(&self.maildir).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "eml") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    if text.contains(to) {
                        return text;
                    }
                }
            }
            assert!(Instant::now() < deadline, "the SMTP server received no message for {to}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The decoded text of a quoted-printable part (soft line breaks and `=XX` escapes).
fn unquote(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// The token of the sign-in link in a received message.
fn token_in(message: &str) -> String {
    let text = unquote(message);
    let at = text.find("token=").expect("the message carries the link") + "token=".len();
    text[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_magic_link_goes_through_smtp_with_starttls_and_signs_in() {
    let Some(server) = smtp_server() else { return };
    let auth = auth_with(Arc::new(server.mailer()), MailTemplate::new("Clips")).unwrap();
    let to = address();
    AsyncAuth::new(auth.clone()).request_link(&to, "caller", None).await.unwrap();

    let message = server.received(&to);
    assert!(message.contains("Subject: Sign in to Clips"), "{message}");
    assert!(message.contains("From: Clips <login@clips.example>"), "{message}");
    assert!(message.contains("multipart/alternative"), "plain text and HTML: {message}");
    assert!(message.contains("text/plain") && message.contains("text/html"), "{message}");
    let token = token_in(&message);
    let login = auth.verify_link(&token, None, Merge::IntoAccount).unwrap();
    assert_eq!(login.session.identity.user.email.as_deref(), Some(to.as_str()));
}

#[test]
fn the_blocking_auth_sends_through_smtp_outside_any_runtime() {
    let Some(server) = smtp_server() else { return };
    let auth = auth_with(Arc::new(server.mailer()), MailTemplate::default()).unwrap();
    let to = address();
    auth.request_link(&to, "caller", None).unwrap();
    let message = server.received(&to);
    assert!(message.contains("Subject: Your sign-in link"), "{message}");
    assert!(!message.contains("text/html"), "the default template is plain text: {message}");
    auth.verify_link(&token_in(&message), None, Merge::IntoAccount).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_refuses_a_wrong_password_and_an_untrusted_certificate() {
    let Some(server) = smtp_server() else { return };
    let wrong = SmtpMailer::builder("localhost", "login@clips.example")
        .port(server.port)
        .credentials(&server.user, "not the password")
        .root_certificate_pem(server.ca.clone())
        .build()
        .unwrap();
    let auth = auth_with(Arc::new(wrong), MailTemplate::default()).unwrap();
    let err = AsyncAuth::new(auth).request_link(&address(), "caller", None).await.unwrap_err();
    let Error::Mail(source) = &err else { panic!("{err:?}") };
    assert!(
        format!("{source:?}").contains("Authentication credentials invalid"),
        "the server refused the login: {source:?}"
    );

    // TLS is checked: the test's authority is not among the web's roots.
    let untrusted = SmtpMailer::builder("localhost", "login@clips.example")
        .port(server.port)
        .credentials(&server.user, &server.password)
        .build()
        .unwrap();
    let to = address();
    let auth = auth_with(Arc::new(untrusted), MailTemplate::default()).unwrap();
    let err = AsyncAuth::new(auth).request_link(&to, "caller", None).await.unwrap_err();
    let Error::Mail(source) = &err else { panic!("{err:?}") };
    assert!(format!("{source:?}").contains("UnknownIssuer"), "{source:?}");
    let text = format!("{err} {source:?}");
    assert!(!text.contains("token="), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stops_answering_fails_the_send_at_the_timeout() {
    // A listener that accepts and never says a word.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let mailer = SmtpMailer::builder("localhost", "login@clips.example")
        .port(port)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let auth = auth_with(Arc::new(mailer), MailTemplate::default()).unwrap();
    let started = Instant::now();
    let err = AsyncAuth::new(auth).request_link(&address(), "caller", None).await.unwrap_err();
    assert!(matches!(err, Error::Mail(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    held.abort();
}

#[test]
fn smtp_settings_that_cannot_be_safe_are_refused() {
    let refused = |b: tenantry::auth::SmtpMailerBuilder| matches!(b.build(), Err(Error::MailSettings { .. }));
    assert!(refused(SmtpMailer::builder("smtp.example.com", "login@clips.example").security(SmtpSecurity::Plaintext)));
    assert!(refused(
        SmtpMailer::builder("127.0.0.1", "login@clips.example").security(SmtpSecurity::Plaintext).credentials("u", "p")
    ));
    assert!(refused(SmtpMailer::builder("smtp.example.com", "not an address")));
    assert!(refused(SmtpMailer::builder("smtp.example.com/x", "login@clips.example")));
    assert!(refused(SmtpMailer::builder("smtp.example.com", "login@clips.example").root_certificate_pem("nope")));
    assert!(SmtpMailer::builder("localhost", "login@clips.example").security(SmtpSecurity::Plaintext).build().is_ok());
}

// ---- HTTP email APIs ----

/// One scripted answer of the stand-in API.
#[derive(Clone)]
struct Answer {
    status: u16,
    retry_after: Option<&'static str>,
    body: String,
    delay: Duration,
}

/// A scripted body that answers with the request's own body.
const ECHO: &str = "<echo the request>";

fn answer(status: u16, body: &str) -> Answer {
    Answer { status, retry_after: None, body: body.to_owned(), delay: Duration::ZERO }
}

#[derive(Default)]
struct Api {
    script: Mutex<Vec<Answer>>,
    requests: Mutex<Vec<(String, Option<String>, serde_json::Value)>>,
}

async fn api_handler(
    State(api): State<Arc<Api>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: String,
) -> axum::response::Response {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let json = serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
    let request = body;
    api.requests.lock().unwrap().push((uri.path().to_owned(), auth, json));
    let next = {
        let mut script = api.script.lock().unwrap();
        if script.is_empty() { answer(200, "{\"id\":\"sent\"}") } else { script.remove(0) }
    };
    tokio::time::sleep(next.delay).await;
    let body = if next.body == ECHO { request } else { next.body };
    let mut response = (StatusCode::from_u16(next.status).unwrap(), body).into_response();
    if let Some(after) = next.retry_after {
        response.headers_mut().insert("retry-after", after.parse().unwrap());
    }
    response
}

/// The stand-in API on a loopback port, answering `script` in order, then 200s.
async fn api(script: Vec<Answer>) -> (Arc<Api>, String) {
    let api = Arc::new(Api { script: Mutex::new(script), ..Api::default() });
    let app = axum::Router::new().fallback(axum::routing::post(api_handler)).with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (api, base)
}

fn http_mailer(api: EmailApi, base: &str) -> HttpMailer {
    HttpMailer::builder(api, "re_test_key", "Clips <login@clips.example>")
        .base_url(base)
        .backoff(Duration::from_millis(20))
        .timeout(Duration::from_millis(500))
        .attempts(3)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resend_gets_the_message_as_json_with_the_key_as_bearer() {
    let (api, base) = api(vec![]).await;
    let auth = auth_with(Arc::new(http_mailer(EmailApi::Resend, &base)), MailTemplate::new("Clips")).unwrap();
    let to = address();
    AsyncAuth::new(auth.clone()).request_link(&to, "caller", None).await.unwrap();
    let requests = api.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    let (path, bearer, json) = &requests[0];
    assert_eq!(path, "/emails");
    assert_eq!(bearer.as_deref(), Some("Bearer re_test_key"));
    assert_eq!(json["from"], "Clips <login@clips.example>");
    assert_eq!(json["to"], serde_json::json!([to]));
    assert_eq!(json["subject"], "Sign in to Clips");
    let text = json["text"].as_str().unwrap();
    assert!(json["html"].as_str().unwrap().contains("<a href=\""), "{json}");
    let token = text.split("token=").nth(1).unwrap().split_whitespace().next().unwrap();
    auth.verify_link(token, None, Merge::IntoAccount).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sendgrid_gets_its_own_shape() {
    let (api, base) = api(vec![answer(202, "")]).await;
    let auth = auth_with(Arc::new(http_mailer(EmailApi::SendGrid, &base)), MailTemplate::new("Clips")).unwrap();
    let to = address();
    AsyncAuth::new(auth).request_link(&to, "caller", None).await.unwrap();
    let (path, bearer, json) = api.requests.lock().unwrap()[0].clone();
    assert_eq!(path, "/v3/mail/send");
    assert_eq!(bearer.as_deref(), Some("Bearer re_test_key"));
    assert_eq!(json["personalizations"][0]["to"][0]["email"], to.as_str());
    assert_eq!(json["from"], serde_json::json!({ "email": "login@clips.example", "name": "Clips" }));
    assert_eq!(json["content"][0]["type"], "text/plain");
    assert_eq!(json["content"][1]["type"], "text/html");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_and_server_errors_are_retried() {
    let mut limited = answer(429, "{\"message\":\"slow down\"}");
    limited.retry_after = Some("0");
    let (api, base) = api(vec![limited, answer(503, "unavailable")]).await;
    let auth = auth_with(Arc::new(http_mailer(EmailApi::Resend, &base)), MailTemplate::default()).unwrap();
    AsyncAuth::new(auth).request_link(&address(), "caller", None).await.unwrap();
    assert_eq!(api.requests.lock().unwrap().len(), 3, "429, 503, then delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_keeps_failing_gives_a_mail_error_after_the_attempts() {
    let link_echo = "{\"message\":\"internal\"}";
    let (api, base) = api(vec![answer(500, link_echo), answer(500, link_echo), answer(500, link_echo)]).await;
    let auth = auth_with(Arc::new(http_mailer(EmailApi::Resend, &base)), MailTemplate::default()).unwrap();
    let err = AsyncAuth::new(auth).request_link(&address(), "caller", None).await.unwrap_err();
    assert_eq!(api.requests.lock().unwrap().len(), 3);
    let Error::Mail(source) = &err else { panic!("{err:?}") };
    assert_eq!(source.to_string(), "the email API answered 500 ({\"message\":\"internal\"}) after 3 attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_is_final_and_its_error_holds_neither_link_nor_key() {
    // A provider that echoes the request in its error answer: the link is cut out.
    let (api, base) = api(vec![answer(422, ECHO)]).await;
    let auth = auth_with(Arc::new(http_mailer(EmailApi::Resend, &base)), MailTemplate::default()).unwrap();
    let err = AsyncAuth::new(auth).request_link(&address(), "caller", None).await.unwrap_err();
    assert_eq!(api.requests.lock().unwrap().len(), 1, "a 422 is not retried");
    let Error::Mail(source) = &err else { panic!("{err:?}") };
    let text = source.to_string();
    assert!(text.starts_with("the email API answered 422"), "{text}");
    assert!(text.contains("[link]"), "the echo is there, without the link: {text}");
    assert!(!text.contains("re_test_key") && !text.contains("token="), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_api_times_out_each_attempt() {
    let slow = Answer { delay: Duration::from_secs(3), ..answer(200, "") };
    let (api, base) = api(vec![slow.clone(), slow.clone(), slow]).await;
    let auth = auth_with(Arc::new(http_mailer(EmailApi::Resend, &base)), MailTemplate::default()).unwrap();
    let started = Instant::now();
    let err = AsyncAuth::new(auth).request_link(&address(), "caller", None).await.unwrap_err();
    let Error::Mail(source) = &err else { panic!("{err:?}") };
    assert_eq!(source.to_string(), "the email API could not be reached (timed out) after 3 attempts");
    assert_eq!(api.requests.lock().unwrap().len(), 3);
    assert!(started.elapsed() < Duration::from_secs(3), "each attempt stops at the timeout");
}

#[test]
fn the_blocking_auth_sends_over_http_from_a_current_thread_runtime_and_outside_one() {
    // A current-thread runtime's own thread, blocked in the blocking call, cannot drive the
    // request's socket: the send goes to a helper thread. Outside a runtime, each send gets
    // one of its own, twice in a row with one client.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (api, base) = runtime.block_on(async {
        let (api, base) = api(vec![]).await;
        (api, base)
    });
    // The stand-in API runs on a runtime of its own, on another thread.
    std::thread::spawn(move || runtime.block_on(std::future::pending::<()>()));
    let auth = auth_with(Arc::new(http_mailer(EmailApi::Resend, &base)), MailTemplate::default()).unwrap();
    let inside = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    inside.block_on(async { auth.request_link(&address(), "caller", None) }).unwrap();
    auth.request_link(&address(), "caller", None).unwrap();
    auth.request_link(&address(), "caller", None).unwrap();
    assert_eq!(api.requests.lock().unwrap().len(), 3);
}

#[test]
fn http_mailer_settings_are_checked() {
    let build = |b: tenantry::auth::HttpMailerBuilder| b.build().map(drop);
    let refused = |r: tenantry::Result<()>| matches!(r, Err(Error::MailSettings { .. }));
    assert!(refused(build(HttpMailer::builder(EmailApi::Resend, " ", "login@clips.example"))));
    assert!(refused(build(HttpMailer::builder(EmailApi::Resend, "k", "clips"))));
    assert!(refused(build(HttpMailer::builder(EmailApi::Resend, "k", "login@clips.example").base_url("ftp://x"))));
    // The key and the link never travel in clear to another machine.
    assert!(refused(build(
        HttpMailer::builder(EmailApi::Resend, "k", "login@clips.example").base_url("http://api.example.com")
    )));
    assert!(
        build(HttpMailer::builder(EmailApi::Resend, "k", "login@clips.example").base_url("http://127.0.0.1:9")).is_ok()
    );
    assert!(build(HttpMailer::builder(EmailApi::SendGrid, "k", "Clips <login@clips.example>")).is_ok());
}
