//! Magic links through a JSON email API (Resend, SendGrid), on reqwest.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use serde_json::json;

use super::mail::{Mail, MailError, MailFuture, Mailer, on_tokio};
use crate::error::{Error, Result};

/// The JSON email APIs an [`HttpMailer`] speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmailApi {
    /// Resend: `POST {base}/emails` with `from`, `to`, `subject`, `text` and `html`.
    Resend,
    /// SendGrid: `POST {base}/v3/mail/send` with `personalizations`, `from`, `subject` and
    /// `content`.
    SendGrid,
}

impl EmailApi {
    fn default_base(self) -> &'static str {
        match self {
            EmailApi::Resend => "https://api.resend.com",
            EmailApi::SendGrid => "https://api.sendgrid.com",
        }
    }

    fn path(self) -> &'static str {
        match self {
            EmailApi::Resend => "/emails",
            EmailApi::SendGrid => "/v3/mail/send",
        }
    }
}

/// Sends magic links through a JSON email API of the Resend or SendGrid kind (feature
/// `http-mail`).
///
/// Each message is one `POST` with the API key as a bearer token. A `429` or `5xx`
/// answer, or a connection that fails, is retried with exponential backoff (honouring
/// `Retry-After`, capped at 30 seconds), up to the attempts set; any other answer is final.
/// Every request has a timeout, and one that timed out is retried too, so in rare cases a
/// user gets a link twice. Errors carry the status and the provider's answer, never the
/// API key, and the link is cut out of them.
///
/// ```no_run
/// # fn main() -> tenantry::Result<()> {
/// use tenantry::auth::{EmailApi, HttpMailer};
///
/// let key = std::env::var("RESEND_API_KEY").unwrap_or_default();
/// let mailer = HttpMailer::builder(EmailApi::Resend, key, "Clips <login@clips.example>").build()?;
/// # Ok(()) }
/// ```
pub struct HttpMailer {
    client: reqwest::Client,
    api: EmailApi,
    url: String,
    key: String,
    from: String,
    attempts: u32,
    backoff: Duration,
    deadline: Duration,
}

impl std::fmt::Debug for HttpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The API key stays out of logs.
        f.debug_struct("HttpMailer").field("api", &self.api).field("url", &self.url).finish_non_exhaustive()
    }
}

/// Settings for an [`HttpMailer`]: [`HttpMailer::builder`].
pub struct HttpMailerBuilder {
    api: EmailApi,
    base: Option<String>,
    key: String,
    from: String,
    timeout: Duration,
    attempts: u32,
    backoff: Duration,
    deadline: Duration,
}

impl std::fmt::Debug for HttpMailerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMailerBuilder").field("api", &self.api).field("base", &self.base).finish_non_exhaustive()
    }
}

impl HttpMailer {
    /// Settings for a mailer that posts to `api` with `key`, sending as `from`
    /// (`login@clips.example` or `Clips <login@clips.example>`).
    pub fn builder(api: EmailApi, key: impl Into<String>, from: impl Into<String>) -> HttpMailerBuilder {
        HttpMailerBuilder {
            api,
            base: None,
            key: key.into(),
            from: from.into(),
            timeout: Duration::from_secs(10),
            attempts: 4,
            backoff: Duration::from_millis(250),
            deadline: Duration::from_secs(30),
        }
    }
}

impl HttpMailerBuilder {
    /// The API's base URL (default the provider's own, `https://api.resend.com` or
    /// `https://api.sendgrid.com`): a regional endpoint, a proxy, or a test server.
    pub fn base_url(mut self, base: impl Into<String>) -> Self {
        self.base = Some(base.into());
        self
    }

    /// How long one request may take, connecting included (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many times a message is tried in all (default 4; at least 1).
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// The wait before the first retry (default 250 ms), doubled for each one after.
    pub fn backoff(mut self, first: Duration) -> Self {
        self.backoff = first;
        self
    }

    /// How long one message may take in all, retries and waits included (default 30 s).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The mailer. [`Error::MailSettings`] for an empty key, a sender that is not an
    /// address, or a base URL that is not `http(s)://`.
    pub fn build(self) -> Result<HttpMailer> {
        let settings = |why| Error::MailSettings { why };
        if self.key.trim().is_empty() {
            return Err(settings("the email API key is empty"));
        }
        if sender_address(&self.from).is_none() {
            return Err(settings("the sender is not an email address"));
        }
        let base = self.base.unwrap_or_else(|| self.api.default_base().to_owned());
        let base = base.trim_end_matches('/');
        let url = reqwest::Url::parse(base).map_err(|_| settings("the email API base URL is not a URL"))?;
        let local = url.host_str().is_some_and(super::is_local_host);
        // The key and the link travel in the request: over TLS, or only to this machine.
        if !(url.scheme() == "https" || (url.scheme() == "http" && local)) || base.contains(['?', '#']) {
            return Err(settings("the email API base URL is not https (http only to this machine)"));
        }
        let client = reqwest::Client::builder()
            .timeout(self.timeout)
            // A redirect would send the key and the link on to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .https_only(!local)
            // No connection outlives a send: the blocking auth calls give each send a
            // runtime of its own, and a pooled connection would belong to a dead one.
            .pool_max_idle_per_host(0)
            .build()
            .map_err(|_| settings("the HTTP client could not be set up"))?;
        Ok(HttpMailer {
            client,
            api: self.api,
            url: format!("{base}{}", self.api.path()),
            key: self.key,
            from: self.from,
            attempts: self.attempts,
            backoff: self.backoff,
            deadline: self.deadline,
        })
    }
}

/// `(name, address)` of `Name <address>` or a bare `address`.
fn sender_address(from: &str) -> Option<(Option<&str>, &str)> {
    let (name, address) = match from.trim().strip_suffix('>').and_then(|f| f.rsplit_once('<')) {
        Some((name, address)) => (Some(name.trim()).filter(|n| !n.is_empty()), address.trim()),
        None => (None, from.trim()),
    };
    let (local, domain) = address.split_once('@')?;
    let plain = |s: &str| !s.is_empty() && !s.contains(['<', '>', ' ', '@', ',']);
    (plain(local) && plain(domain)).then_some((name, address))
}

/// Why a message was not sent: the last answer (or transport failure) of the last attempt.
#[derive(Debug)]
struct ApiError {
    status: Option<u16>,
    attempts: u32,
    detail: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(status) => write!(f, "the email API answered {status} ({})", self.detail)?,
            None => write!(f, "the email API could not be reached ({})", self.detail)?,
        }
        write!(f, " after {} attempt{}", self.attempts, if self.attempts == 1 { "" } else { "s" })
    }
}

impl std::error::Error for ApiError {}

/// At most this much of a provider's answer goes into an error.
const DETAIL_BYTES: usize = 300;

/// The provider's answer for an error message: shortened, on one line, and without the
/// link (in case it is echoed back). An answer holding any 16 characters of the link's
/// token (escaped or cut short by the echo) is withheld whole.
fn detail(text: &str, link: &str) -> String {
    let text = if link.is_empty() { text.to_owned() } else { text.replace(link, "[link]") };
    let token = link.rsplit_once("token=").map_or(link, |(_, t)| t).as_bytes();
    if token.len() >= 16 && token.windows(16).any(|piece| text.as_bytes().windows(16).any(|w| w == piece)) {
        return String::from("the answer is withheld: it holds part of the link");
    }
    let mut one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.len() > DETAIL_BYTES {
        let mut end = DETAIL_BYTES;
        while !one_line.is_char_boundary(end) {
            end -= 1;
        }
        one_line.truncate(end);
        one_line.push('…');
    }
    one_line
}

impl HttpMailer {
    fn body(&self, mail: &Mail) -> String {
        match self.api {
            EmailApi::Resend => {
                let mut body = json!({
                    "from": self.from,
                    "to": [mail.to],
                    "subject": mail.subject,
                    "text": mail.body,
                });
                if let Some(html) = &mail.html {
                    body["html"] = json!(html);
                }
                body.to_string()
            }
            EmailApi::SendGrid => {
                let (name, address) = sender_address(&self.from).unwrap_or((None, self.from.as_str()));
                let mut from = json!({ "email": address });
                if let Some(name) = name {
                    from["name"] = json!(name);
                }
                let mut content = vec![json!({ "type": "text/plain", "value": mail.body })];
                if let Some(html) = &mail.html {
                    content.push(json!({ "type": "text/html", "value": html }));
                }
                json!({
                    "personalizations": [{ "to": [{ "email": mail.to }] }],
                    "from": from,
                    "subject": mail.subject,
                    "content": content,
                })
                .to_string()
            }
        }
    }

    /// Every attempt, within the overall deadline.
    async fn deliver(&self, mail: &Mail) -> std::result::Result<(), ApiError> {
        match tokio::time::timeout(self.deadline, self.attempts(mail)).await {
            Ok(result) => result,
            Err(_) => Err(ApiError { status: None, attempts: 0, detail: String::from("the overall deadline passed") }),
        }
    }

    async fn attempts(&self, mail: &Mail) -> std::result::Result<(), ApiError> {
        let body = self.body(mail);
        let mut wait = self.backoff;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = self
                .client
                .post(&self.url)
                .bearer_auth(&self.key)
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await;
            let (status, retry_after, detail) = match sent {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) => {
                    let status = response.status();
                    let retry_after = response
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let text = response.text().await.unwrap_or_default();
                    let retry = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
                    let error = ApiError {
                        status: Some(status.as_u16()),
                        attempts: attempt,
                        detail: detail(&text, mail.link()),
                    };
                    if !retry {
                        return Err(error);
                    }
                    (error.status, retry_after, error.detail)
                }
                Err(e) => {
                    let what = if e.is_timeout() { "timed out" } else { "connection failed" };
                    (None, None, what.to_owned())
                }
            };
            if attempt >= self.attempts {
                return Err(ApiError { status, attempts: attempt, detail });
            }
            tokio::time::sleep(retry_after.unwrap_or(wait).min(Duration::from_secs(30))).await;
            wait = wait.saturating_mul(2);
        }
    }
}

impl Mailer for HttpMailer {
    fn send<'a>(&'a self, mail: &'a Mail) -> MailFuture<'a> {
        Box::pin(async move { on_tokio(self.deliver(mail)).await?.map_err(|e| -> MailError { Box::new(e) }) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn senders_parse_with_and_without_a_name() {
        assert_eq!(sender_address("login@clips.example"), Some((None, "login@clips.example")));
        assert_eq!(sender_address("Clips <login@clips.example>"), Some((Some("Clips"), "login@clips.example")));
        assert_eq!(sender_address(" <login@clips.example>"), Some((None, "login@clips.example")));
        for bad in ["", "clips", "a@", "@b", "Clips <login>", "a@b@c", "a b@c"] {
            assert_eq!(sender_address(bad), None, "{bad}");
        }
    }

    #[test]
    fn details_lose_the_link_and_stay_short() {
        let link = "https://clips.example/verify?token=0123456789abcdef0123";
        assert_eq!(detail(&format!("bad\nrequest: {link}"), link), "bad request: [link]");
        let escaped = r#"{"text":"https:\/\/clips.example\/verify?token=0123456789abcdef01"}"#;
        assert_eq!(detail(escaped, link), "the answer is withheld: it holds part of the link");
        let long = "é".repeat(400);
        let cut = detail(&long, link);
        assert!(cut.len() <= DETAIL_BYTES + '…'.len_utf8() && cut.ends_with('…'));
    }
}
