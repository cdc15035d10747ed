//! [`SmtpMailer`]: the outbox's emails submitted to an SMTP server (a relay such as the
//! seller's provider or a transactional email service), one connection per email.
//!
//! The SMTP dialogue is driven step by step (greeting, STARTTLS, AUTH, MAIL, RCPT, DATA)
//! rather than through lettre's one-call transport, because what the engine does with a
//! refusal depends on the step that refused: a 5xx to RCPT is this recipient
//! ([`MailError::Undeliverable`]), a 5xx to MAIL is the store's sender address
//! ([`MailError::Invalid`]), and anything before MAIL is the server or our account with it
//! ([`MailError::Retryable`]).

use crate::render::{brand_name, non_empty, render};
use async_trait::async_trait;
use dropline_app::mail::{MailError, Mailer, OutgoingEmail};
use lettre::address::Envelope;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::{Address, Message};
use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain text: a relay on the same machine or network only (and tests).
    None,
    /// Plain connection upgraded with STARTTLS before anything is sent; refused if the
    /// server does not offer it (usually port 587).
    StartTls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

impl TlsMode {
    /// The usual port of the mode: 25, 587 or 465.
    pub fn default_port(self) -> u16 {
        match self {
            Self::None => 25,
            Self::StartTls => 587,
            Self::Tls => 465,
        }
    }
}

/// The account on the SMTP server.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpCredentials {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for SmtpCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpCredentials")
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// Where and how [`SmtpMailer`] submits emails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// Signs in (AUTH PLAIN or LOGIN) when set.
    pub credentials: Option<SmtpCredentials>,
    /// The limit of each step (connecting, each command, the message upload).
    pub timeout: Duration,
    /// The name given in EHLO; `[127.0.0.1]` when unset (the machine's name is not used, so
    /// nothing about the host reaches a recipient through the relay's `Received` header).
    pub helo_name: Option<String>,
    /// The folder of the stores' template overrides (`{dir}/{store_id}/{file}`, see
    /// [`render`](crate::render)); only the embedded defaults when unset.
    pub overrides_dir: Option<PathBuf>,
}

impl SmtpConfig {
    /// STARTTLS on port 587, no credentials, 30 s per step, no overrides.
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            port: TlsMode::StartTls.default_port(),
            tls: TlsMode::StartTls,
            credentials: None,
            timeout: Duration::from_secs(30),
            helo_name: None,
            overrides_dir: None,
        }
    }
}

/// Sends the outbox's emails over SMTP, in the store's brand.
#[derive(Clone, Debug)]
pub struct SmtpMailer {
    config: SmtpConfig,
}

impl SmtpMailer {
    /// A mailer for this server. Connects only when sending: a server that is down at
    /// start delays the outbox, it does not stop the process.
    pub fn new(config: SmtpConfig) -> Self {
        // lettre's TLS comes without a crypto provider of its own: ring, the one provider of
        // the project. Fails only when a provider is already installed, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self { config }
    }

    /// The configuration it was built with (credentials hidden from `Debug`).
    pub fn config(&self) -> &SmtpConfig {
        &self.config
    }

    /// The email as it goes on the wire, with its envelope.
    fn build(&self, email: &OutgoingEmail<'_>) -> Result<(Envelope, Vec<u8>), MailError> {
        let store = email.store;
        let brand = &store.settings.brand;
        let from_email = non_empty(&brand.from_email).ok_or_else(|| {
            MailError::Invalid(format!(
                "store {:?} has no sender address (brand.from_email)",
                store.name
            ))
        })?;
        let from_address: Address = from_email
            .parse()
            .map_err(|e| MailError::Invalid(format!("sender address {from_email:?} is not an email address: {e}")))?;
        let reply_to = match non_empty(&brand.reply_to).or(non_empty(&brand.support_email)) {
            Some(reply_to) => Some(reply_to.parse::<Address>().map_err(|e| {
                MailError::Invalid(format!("reply-to address {reply_to:?} is not an email address: {e}"))
            })?),
            None => None,
        };
        let recipient = non_empty(&email.message.recipient)
            .ok_or_else(|| MailError::Undeliverable("the message has no recipient".to_string()))?;
        let to: Mailbox = recipient
            .parse()
            .map_err(|e| MailError::Undeliverable(format!("{recipient:?} is not an email address: {e}")))?;

        let rendered = render(
            &email.message.template,
            store,
            &email.message.data,
            self.config.overrides_dir.as_deref(),
        )
        .map_err(|e| MailError::Invalid(e.to_string()))?;

        let mut builder = Message::builder()
            .from(Mailbox::new(Some(brand_name(store)), from_address.clone()))
            .to(to)
            .subject(rendered.subject)
            .message_id(Some(format!("<{}>", message_id(&email.message_id, &from_address))));
        if let Some(reply_to) = reply_to {
            builder = builder.reply_to(Mailbox::new(None, reply_to));
        }
        let message = builder
            .multipart(MultiPart::alternative_plain_html(rendered.text, rendered.html))
            .map_err(|e| MailError::Invalid(format!("cannot build the email: {e}")))?;
        Ok((message.envelope().clone(), message.formatted()))
    }

    /// One SMTP session that submits one email.
    async fn submit(&self, envelope: &Envelope, body: &[u8]) -> Result<(), MailError> {
        let config = &self.config;
        let hello = match &config.helo_name {
            Some(name) => ClientId::Domain(name.clone()),
            None => ClientId::default(),
        };
        let tls = match config.tls {
            TlsMode::None => None,
            TlsMode::StartTls | TlsMode::Tls => Some(
                TlsParameters::new_rustls(config.host.clone())
                    .map_err(|e| MailError::Retryable(format!("cannot set up TLS for {}: {e}", config.host)))?,
            ),
        };
        let wrapper = if config.tls == TlsMode::Tls { tls.clone() } else { None };
        let server = format!("{}:{}", config.host, config.port);
        let mut connection = self
            .step(
                Stage::Session,
                &server,
                AsyncSmtpConnection::connect_tokio1(
                    (config.host.as_str(), config.port),
                    Some(config.timeout),
                    &hello,
                    wrapper,
                    None,
                ),
            )
            .await?;
        let result = self
            .transaction(&mut connection, &server, &hello, tls, envelope, body)
            .await;
        match &result {
            // The server has the message: a failed QUIT changes nothing.
            Ok(()) => {
                let _ = tokio::time::timeout(config.timeout, connection.quit()).await;
            }
            Err(_) => {
                let _ = tokio::time::timeout(config.timeout, connection.abort()).await;
            }
        }
        result
    }

    async fn transaction(
        &self,
        connection: &mut AsyncSmtpConnection,
        server: &str,
        hello: &ClientId,
        tls: Option<TlsParameters>,
        envelope: &Envelope,
        body: &[u8],
    ) -> Result<(), MailError> {
        if let (TlsMode::StartTls, Some(tls)) = (self.config.tls, tls) {
            self.step(Stage::Session, server, connection.starttls(tls, hello))
                .await?;
        }
        if let Some(credentials) = &self.config.credentials {
            let credentials = Credentials::new(credentials.username.clone(), credentials.password.clone());
            self.step(
                Stage::Session,
                server,
                connection.auth(&[Mechanism::Plain, Mechanism::Login], &credentials),
            )
            .await?;
        }

        let recipients = envelope
            .to()
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let mut parameters = Vec::new();
        let non_ascii = envelope
            .from()
            .into_iter()
            .chain(envelope.to())
            .any(|a| !AsRef::<str>::as_ref(a).is_ascii());
        if non_ascii {
            if !connection.server_info().supports_feature(Extension::SmtpUtfEight) {
                return Err(MailError::Undeliverable(format!(
                    "{recipients}: the mail server does not accept international (non-ASCII) addresses"
                )));
            }
            parameters.push(MailParameter::SmtpUtfEight);
        }
        if !body.is_ascii() && connection.server_info().supports_feature(Extension::EightBitMime) {
            parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let sender = envelope.from().map(|a| a.to_string()).unwrap_or_default();
        self.step(
            Stage::Sender,
            &sender,
            connection.command(Mail::new(envelope.from().cloned(), parameters)),
        )
        .await?;
        for recipient in envelope.to() {
            self.step(
                Stage::Recipient,
                recipient.as_ref(),
                connection.command(Rcpt::new(recipient.clone(), Vec::new())),
            )
            .await?;
        }
        self.step(Stage::Recipient, &recipients, connection.command(Data))
            .await?;
        self.step(Stage::Content, &recipients, connection.message(body)).await?;
        Ok(())
    }

    /// Runs one step of the session within the time-out and sorts its failure.
    async fn step<T>(
        &self,
        stage: Stage,
        subject: &str,
        step: impl Future<Output = Result<T, lettre::transport::smtp::Error>>,
    ) -> Result<T, MailError> {
        match tokio::time::timeout(self.config.timeout, step).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(classify(stage, subject, &error)),
            Err(_) => Err(MailError::Retryable(format!(
                "{}: no answer within {} s",
                stage.describe(subject),
                self.config.timeout.as_secs_f32()
            ))),
        }
    }
}

/// The part of the SMTP session a step belongs to.
#[derive(Clone, Copy, Debug)]
enum Stage {
    /// Connecting, greeting, STARTTLS, AUTH: the server and our account with it.
    Session,
    /// MAIL FROM: the store's sender address.
    Sender,
    /// RCPT TO and DATA: the recipient.
    Recipient,
    /// The message itself.
    Content,
}

impl Stage {
    fn describe(self, subject: &str) -> String {
        match self {
            Self::Session => format!("mail server {subject}"),
            Self::Sender => format!("sender {subject}"),
            Self::Recipient => format!("recipient {subject}"),
            Self::Content => format!("message to {subject}"),
        }
    }
}

/// Sorts an SMTP failure by what the engine does next.
fn classify(stage: Stage, subject: &str, error: &lettre::transport::smtp::Error) -> MailError {
    let what = stage.describe(subject);
    if !error.is_permanent() {
        // 4xx, refused or dropped connections, time-outs, TLS and protocol failures: the
        // same email may well go through later.
        return MailError::Retryable(format!("{what}: {error}"));
    }
    match stage {
        // A 5xx before MAIL (bad credentials, a server that refuses us) is no fault of this
        // email and fails every email alike: retried, so the outbox waits for the operator
        // instead of failing every message for good.
        Stage::Session => MailError::Retryable(format!("{what}: {error}")),
        Stage::Sender => MailError::Invalid(format!("{what} refused: {error}")),
        Stage::Recipient | Stage::Content => MailError::Undeliverable(format!("{what} refused: {error}")),
    }
}

/// The Message-ID without angle brackets; `{id}@{sender's domain}` when the id has no `@`,
/// since RFC 5322 wants one (and the store's domain names nothing but the store).
fn message_id(id: &str, from: &Address) -> String {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    if id.contains('@') {
        id.to_string()
    } else {
        format!("{id}@{}", from.domain())
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: OutgoingEmail<'_>) -> Result<(), MailError> {
        let (envelope, body) = self.build(&email)?;
        let result = self.submit(&envelope, &body).await;
        match &result {
            Ok(()) => tracing::debug!(
                message = %email.message.id,
                template = %email.message.template,
                "email sent"
            ),
            Err(error) => tracing::warn!(
                message = %email.message.id,
                template = %email.message.template,
                %error,
                "email not sent"
            ),
        }
        result
    }
}
