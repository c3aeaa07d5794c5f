//! Delivering magic links.

use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Mutex;

/// A message to one address.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Mail {
    /// Recipient (normalised).
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body, with the link.
    pub body: String,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The body holds a live sign-in link: not for logs.
        f.debug_struct("Mail").field("to", &self.to).field("subject", &self.subject).finish_non_exhaustive()
    }
}

/// What [`Mailer::send`] returns: the delivery, to be awaited.
pub type MailFuture<'a> = Pin<Box<dyn Future<Output = Result<(), MailError>> + Send + 'a>>;

/// Why a message was not delivered (the provider's error, kept as the source of
/// [`Error::Mail`](crate::Error::Mail)).
pub type MailError = Box<dyn std::error::Error + Send + Sync>;

/// Sends mail. Implement it over your provider (Resend, SendGrid, SES...), typically with
/// an async HTTP client. The auth layer calls it after the link is stored; a failure is
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

/// Waits for `delivery` on this thread (the blocking auth calls).
pub(crate) fn deliver(delivery: MailFuture<'_>) -> crate::Result<()> {
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
