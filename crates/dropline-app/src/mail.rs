//! The port that sends the outbox's emails: [`Mailer`]. The engine decides what to say and
//! when (a [`Message`] with its template name and data, written with the change that caused
//! it); the adapter renders the template in the store's brand and hands it to an SMTP server.

use crate::ports::Message;
use async_trait::async_trait;
use dropline_domain::catalog::Store as Shop;

/// Why an email was not sent, sorted by what the engine does next.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The server could not be reached or answered a temporary failure (4xx): try again later.
    #[error("mail server unavailable: {0}")]
    Retryable(String),
    /// The recipient cannot receive (bad syntax, refused by the server with a 5xx): the
    /// message is failed with this reason and the seller is told.
    #[error("recipient refused: {0}")]
    Undeliverable(String),
    /// The message cannot be built (its template does not render, the sender address is
    /// missing or invalid): a configuration problem of the store, failed without retry.
    #[error("message cannot be built: {0}")]
    Invalid(String),
}

/// One email to send.
#[derive(Clone, Debug)]
pub struct OutgoingEmail<'a> {
    pub message: &'a Message,
    /// The store whose brand (name, logo, addresses) the email wears.
    pub store: &'a Shop,
    /// The Message-ID header, without angle brackets; the same on every attempt.
    pub message_id: String,
}

/// Renders and sends outbox messages.
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Renders the message's template (the store's override when it has one) and sends it
    /// as HTML with a plain-text part. Returning `Ok` means the server took it.
    async fn send(&self, email: OutgoingEmail<'_>) -> Result<(), MailError>;
}
