//! Delivering magic links.

use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Mutex;

/// A message to one address: a magic link, rendered from the [`MailTemplate`].
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Mail {
    /// Recipient (normalised).
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body, with the link.
    pub body: String,
    /// HTML body, with the link (HTML-escaped), when the template has one.
    pub html: Option<String>,
    /// The sign-in link itself.
    link: String,
}

impl Mail {
    /// The sign-in link the message carries, for a mailer that renders the message itself
    /// (a provider-side template). A live credential: never log it.
    pub fn link(&self) -> &str {
        &self.link
    }
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The body holds a live sign-in link: not for logs.
        f.debug_struct("Mail").field("to", &self.to).field("subject", &self.subject).finish_non_exhaustive()
    }
}

/// The magic-link message: a subject, a plain-text body and, if set, an HTML body, each
/// with placeholders: `{link}` (the sign-in link), `{product}` (the product name) and
/// `{minutes}` (how long the link works). In the HTML body the values are HTML-escaped.
///
/// The plain-text and HTML bodies must contain `{link}`; the subject must not (subject
/// lines end up in logs and mail previews), and it and the product name must be one line.
/// [`AuthBuilder::build`](crate::auth::AuthBuilder::build) refuses a template that
/// breaks these with [`Error::MailSettings`](crate::Error::MailSettings).
///
/// ```
/// use tenantry::auth::MailTemplate;
///
/// let template = MailTemplate::new("Clips")
///     .subject("Your {product} sign-in link")
///     .html("<p>Hello!</p><p><a href=\"{link}\">Sign in to {product}</a> within {minutes} minutes.</p>");
/// let mail = template.render("ada@example.com", "https://clips.example/v?token=a&b", 15);
/// assert_eq!(mail.subject, "Your Clips sign-in link");
/// assert!(mail.body.contains("https://clips.example/v?token=a&b"));
/// assert!(mail.html.unwrap().contains(r#"<a href="https://clips.example/v?token=a&amp;b">"#));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailTemplate {
    product: String,
    subject: String,
    text: String,
    html: Option<String>,
}

impl Default for MailTemplate {
    /// The message sent when no template is set: plain text only, no product name.
    fn default() -> Self {
        MailTemplate {
            product: String::new(),
            subject: String::from("Your sign-in link"),
            text: String::from("Open this link to sign in (it works once, for {minutes} minutes):\n{link}"),
            html: None,
        }
    }
}

impl MailTemplate {
    /// A plain-text and HTML message naming `product`; change any part with the methods
    /// below.
    pub fn new(product: impl Into<String>) -> Self {
        MailTemplate {
            product: product.into(),
            subject: String::from("Sign in to {product}"),
            text: String::from(
                "Open this link to sign in to {product} (it works once, for {minutes} minutes):\n{link}\n\n\
                 If you did not ask to sign in, ignore this message.",
            ),
            html: Some(String::from(
                "<p>Open this link to sign in to {product} (it works once, for {minutes} minutes):</p>\n\
                 <p><a href=\"{link}\">Sign in to {product}</a></p>\n\
                 <p>If you did not ask to sign in, ignore this message.</p>",
            )),
        }
    }

    /// The subject line.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = subject.into();
        self
    }

    /// The plain-text body.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = text.into();
        self
    }

    /// The HTML body (values are HTML-escaped into it).
    pub fn html(mut self, html: impl Into<String>) -> Self {
        self.html = Some(html.into());
        self
    }

    /// No HTML body: plain text only.
    pub fn without_html(mut self) -> Self {
        self.html = None;
        self
    }

    /// Refuses a template that would send a message without the link, or put the link or
    /// a line break into the subject.
    pub(crate) fn check(&self) -> crate::Result<()> {
        let why = if !self.text.contains("{link}") {
            "the plain-text body of the mail template has no {link}"
        } else if self.html.as_ref().is_some_and(|h| !h.contains("{link}")) {
            "the HTML body of the mail template has no {link}"
        } else if self.subject.contains("{link}") {
            "the subject of the mail template contains {link}; subject lines end up in logs"
        } else if self.subject.contains(['\r', '\n']) || self.product.contains(['\r', '\n']) {
            "the mail subject and product name must be one line"
        } else {
            return Ok(());
        };
        Err(crate::Error::MailSettings { why })
    }

    /// The message for `to`, carrying `link`, valid for `minutes`.
    pub fn render(&self, to: &str, link: &str, minutes: u64) -> Mail {
        let minutes = minutes.to_string();
        let values = [("{link}", link), ("{product}", self.product.as_str()), ("{minutes}", minutes.as_str())];
        Mail {
            to: to.to_owned(),
            subject: fill(&self.subject, &values, false),
            body: fill(&self.text, &values, false),
            html: self.html.as_ref().map(|h| fill(h, &values, true)),
            link: link.to_owned(),
        }
    }
}

/// `template` with each placeholder replaced by its value, in one pass (a value that
/// contains a placeholder's text is not expanded again); HTML-escaped when `html`.
fn fill(template: &str, values: &[(&str, &str)], html: bool) -> String {
    let mut out = String::with_capacity(template.len() + 128);
    let mut rest = template;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match values.iter().find(|(name, _)| rest.starts_with(name)) {
            Some((name, value)) => {
                if html {
                    escape_html(value, &mut out);
                } else {
                    out.push_str(value);
                }
                rest = &rest[name.len()..];
            }
            None => {
                out.push('{');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn escape_html(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// What [`Mailer::send`] returns: the delivery, to be awaited.
pub type MailFuture<'a> = Pin<Box<dyn Future<Output = Result<(), MailError>> + Send + 'a>>;

/// Why a message was not delivered (the provider's error, kept as the source of
/// [`Error::Mail`](crate::Error::Mail)).
pub type MailError = Box<dyn std::error::Error + Send + Sync>;

/// Sends mail. tenantry has an SMTP mailer ([`SmtpMailer`](crate::auth::SmtpMailer), feature
/// `smtp`) and one for JSON email APIs of the Resend and SendGrid kind
/// ([`HttpMailer`](crate::auth::HttpMailer), feature `http-mail`); implement it over
/// another provider, typically with an async HTTP client. The auth layer calls it after the link is stored; a failure is
/// reported as [`Error::Mail`](crate::Error::Mail).
///
/// [`AsyncAuth`](crate::auth::AsyncAuth) awaits it on the caller's runtime. The blocking
/// [`Auth::request_link`](crate::auth::Auth::request_link) waits for it on the calling
/// thread: there a future that needs tokio (an HTTP client's) works only on a thread
/// inside a runtime's context, such as tokio's blocking pool.
///
/// ```
/// use tenantry::auth::{Mail, MailFuture, Mailer};
///
/// struct Provider { api_key: String }
///
/// impl Mailer for Provider {
///     fn send<'a>(&'a self, mail: &'a Mail) -> MailFuture<'a> {
///         Box::pin(async move {
///             // e.g. POST https://api.provider.example/emails with self.api_key
///             let _ = (&self.api_key, &mail.to, &mail.subject, &mail.body);
///             Ok(())
///         })
///     }
/// }
/// ```
pub trait Mailer: Send + Sync + 'static {
    /// Sends one message.
    fn send<'a>(&'a self, mail: &'a Mail) -> MailFuture<'a>;
}

/// Runs `work`, which needs tokio (a socket, a timer), on the caller's runtime; when
/// polled outside any (the blocking [`Auth`](crate::auth::Auth) calls wait on the calling
/// thread), on a runtime of its own for the duration.
#[cfg(any(feature = "smtp", feature = "http-mail"))]
pub(crate) async fn on_tokio<F: Future>(work: F) -> Result<F::Output, MailError> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Ok(work.await);
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    Ok(runtime.block_on(work))
}

/// Waits for `delivery` (the blocking auth calls). On a thread of a tokio runtime it waits
/// on a helper thread instead: a current-thread runtime's own thread, blocked here, could
/// not drive the sockets and timers the delivery awaits.
pub(crate) fn deliver(delivery: MailFuture<'_>) -> crate::Result<()> {
    #[cfg(feature = "tokio")]
    if tokio::runtime::Handle::try_current().is_ok() {
        return std::thread::scope(|scope| {
            scope
                .spawn(|| futures::executor::block_on(delivery))
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
        .map_err(crate::Error::Mail);
    }
    futures::executor::block_on(delivery).map_err(crate::Error::Mail)
}

/// The embedded default: appends each message to a file (or prints it to stdout), so a
/// developer can click the link. Messages hold live sign-in links: in production, give
/// [`AuthBuilder::mailer`](crate::auth::AuthBuilder::mailer) a real mailer, or the links
/// end up in your logs.
#[derive(Debug)]
pub struct Outbox {
    path: Option<PathBuf>,
    lock: Mutex<()>,
}

impl Outbox {
    /// Messages appended to `path`.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Outbox { path: Some(path.into()), lock: Mutex::new(()) }
    }

    /// Messages printed to standard output.
    pub fn stdout() -> Self {
        Outbox { path: None, lock: Mutex::new(()) }
    }
}

impl Mailer for Outbox {
    fn send<'a>(&'a self, mail: &'a Mail) -> MailFuture<'a> {
        Box::pin(std::future::ready(self.write(mail)))
    }
}

impl Outbox {
    /// A local file append or a print: quick, done in place.
    fn write(&self, mail: &Mail) -> Result<(), MailError> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let text = format!("To: {}\nSubject: {}\n\n{}\n----\n", mail.to, mail.subject, mail.body);
        // The HTML body carries the same link; the outbox is for a developer to click it.
        match &self.path {
            Some(path) => {
                std::fs::OpenOptions::new().create(true).append(true).open(path)?.write_all(text.as_bytes())?
            }
            None => std::io::stdout().lock().write_all(text.as_bytes())?,
        }
        Ok(())
    }
}

/// Keeps messages in memory, for tests.
#[derive(Debug, Default)]
pub struct MemoryMailer {
    sent: Mutex<Vec<Mail>>,
}

impl MemoryMailer {
    /// Messages sent so far.
    pub fn sent(&self) -> Vec<Mail> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Mailer for MemoryMailer {
    fn send<'a>(&'a self, mail: &'a Mail) -> MailFuture<'a> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).push(mail.clone());
        Box::pin(std::future::ready(Ok(())))
    }
}
