//! Magic links over SMTP, on lettre: encrypted unless the server is on this machine.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::mail::{Mail, MailError, MailFuture, Mailer, on_tokio};
use crate::error::{Error, Result};

/// How an [`SmtpMailer`] secures its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SmtpSecurity {
    /// TLS from the first byte ("implicit TLS", usually port 465).
    Tls,
    /// A plain connection upgraded with `STARTTLS` before anything else is sent, and
    /// refused if the server does not offer it (usually port 587). The default.
    StartTls,
    /// No encryption, for a server on this machine only (a local relay, a test server):
    /// the mailer refuses to be built for any other host, and with credentials.
    Plaintext,
}

/// Sends magic links through an SMTP server (feature `smtp`).
///
/// TLS is on by default ([`SmtpSecurity::StartTls`] on port 587), with the server's
/// certificate checked against the web's root certificates and the host name. One
/// connection per message: magic links are few and far between.
///
/// ```no_run
/// # fn main() -> tenantry::Result<()> {
/// use std::sync::Arc;
/// use tenantry::auth::{SmtpMailer, SmtpSecurity};
///
/// let mailer = SmtpMailer::builder("smtp.example.com", "Clips <login@clips.example>")
///     .credentials("login@clips.example", "app password")
///     .build()?;
/// // Auth::builder(&admin, db).mailer(Arc::new(mailer))
/// # let _ = (Arc::new(mailer), SmtpSecurity::StartTls); Ok(()) }
/// ```
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    timeout: Duration,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

/// Settings for an [`SmtpMailer`]: [`SmtpMailer::builder`].
pub struct SmtpMailerBuilder {
    host: String,
    from: String,
    port: Option<u16>,
    security: SmtpSecurity,
    credentials: Option<(String, String)>,
    roots: Vec<Vec<u8>>,
    timeout: Duration,
}

impl std::fmt::Debug for SmtpMailerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password stays out of logs.
        f.debug_struct("SmtpMailerBuilder")
            .field("host", &self.host)
            .field("from", &self.from)
            .field("port", &self.port)
            .field("security", &self.security)
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// Settings for a mailer that sends through `host` as `from` (`login@clips.example`
    /// or `Clips <login@clips.example>`).
    pub fn builder(host: impl Into<String>, from: impl Into<String>) -> SmtpMailerBuilder {
        SmtpMailerBuilder {
            host: host.into(),
            from: from.into(),
            port: None,
            security: SmtpSecurity::StartTls,
            credentials: None,
            roots: Vec::new(),
            timeout: Duration::from_secs(30),
        }
    }
}

impl SmtpMailerBuilder {
    /// The port (default 465 for [`SmtpSecurity::Tls`], 587 for `StartTls`, 25 for
    /// `Plaintext`).
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// How the connection is secured (default [`SmtpSecurity::StartTls`]).
    pub fn security(mut self, security: SmtpSecurity) -> Self {
        self.security = security;
        self
    }

    /// Signs in to the server (`AUTH PLAIN` or `LOGIN`, over the encrypted connection).
    pub fn credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some((user.into(), password.into()));
        self
    }

    /// Also trusts this certificate authority (PEM), e.g. a company's own; the web's root
    /// certificates stay trusted.
    pub fn root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.roots.push(pem.into());
        self
    }

    /// How long sending one message may take in all, connecting included (default 30 s):
    /// a server that stops answering fails the send instead of holding it.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The mailer. [`Error::MailSettings`] for a sender that is not an address, a
    /// certificate that does not parse, or plaintext to another machine or with
    /// credentials.
    pub fn build(self) -> Result<SmtpMailer> {
        let settings = |why| Error::MailSettings { why };
        let from: Mailbox = self.from.parse().map_err(|_| settings("the sender is not an email address"))?;
        if self.host.is_empty() || self.host.contains(['/', ' ', '@']) {
            return Err(settings("the SMTP server is not a host name"));
        }
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(self.host.as_str()).timeout(Some(self.timeout));
        let tls = |host: &str| -> Result<TlsParameters> {
            let mut params = TlsParameters::builder(host.to_owned());
            for pem in &self.roots {
                if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
                    return Err(settings("a root certificate is not valid PEM"));
                }
                let cert = Certificate::from_pem(pem).map_err(|_| settings("a root certificate is not valid PEM"))?;
                params = params.add_root_certificate(cert);
            }
            params.build_rustls().map_err(|_| settings("TLS could not be set up"))
        };
        let port = match self.security {
            SmtpSecurity::Tls => {
                builder = builder.tls(Tls::Wrapper(tls(&self.host)?));
                465
            }
            SmtpSecurity::StartTls => {
                builder = builder.tls(Tls::Required(tls(&self.host)?));
                587
            }
            SmtpSecurity::Plaintext => {
                if !super::is_local_host(&self.host) {
                    return Err(settings("plaintext SMTP is only for a server on this machine; use TLS"));
                }
                if self.credentials.is_some() {
                    return Err(settings("credentials are never sent over plaintext SMTP; use TLS"));
                }
                builder = builder.tls(Tls::None);
                25
            }
        };
        builder = builder.port(self.port.unwrap_or(port));
        if let Some((user, password)) = self.credentials {
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(SmtpMailer { transport: builder.build(), from, timeout: self.timeout })
    }
}

impl SmtpMailer {
    fn message(&self, mail: &Mail) -> std::result::Result<Message, MailError> {
        // An address, never a display form: what the account's address says is where it goes.
        let to = Mailbox::new(None, mail.to.parse::<lettre::Address>()?);
        let builder = Message::builder().from(self.from.clone()).to(to).subject(mail.subject.as_str());
        let text = SinglePart::builder().header(ContentType::TEXT_PLAIN).body(mail.body.clone());
        Ok(match &mail.html {
            Some(html) => builder.multipart(
                MultiPart::alternative()
                    .singlepart(text)
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html.clone())),
            )?,
            None => builder.singlepart(text)?,
        })
    }
}

impl Mailer for SmtpMailer {
    fn send<'a>(&'a self, mail: &'a Mail) -> MailFuture<'a> {
        Box::pin(async move {
            let message = self.message(mail)?;
            // The timer is made inside: outside a runtime, `on_tokio` provides one first.
            let send = async { tokio::time::timeout(self.timeout, self.transport.send(message)).await };
            match on_tokio(send).await? {
                Ok(sent) => sent.map(drop).map_err(MailError::from),
                Err(_) => Err("the SMTP server did not finish within the timeout".into()),
            }
        })
    }
}
