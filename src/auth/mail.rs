//! Delivering magic links.

use std::io::Write;
use std::path::PathBuf;
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

/// Sends mail. Implement it over your provider (Resend, SendGrid, SES...). The auth layer
/// calls it after the link is stored; a failure is reported as [`Error::Mail`](crate::Error::Mail).
///
/// It is called synchronously. In an async service call `Auth::request_link` on tokio's
/// blocking pool (`tokio::task::spawn_blocking`, as `examples/server.rs` does), where a
/// blocking HTTP client for the provider's API is fine; the axum extractors already run
/// their auth calls there.
pub trait Mailer: Send + Sync + 'static {
    /// Sends one message.
    fn send(&self, mail: &Mail) -> Result<(), Box<dyn std::error::Error + Send + Sync>>;
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
    fn send(&self, mail: &Mail) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
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
    fn send(&self, mail: &Mail) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).push(mail.clone());
        Ok(())
    }
}
