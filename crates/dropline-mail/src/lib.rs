//! The [`Mailer`](dropline_app::mail::Mailer) of dropline: an outbox message rendered from its
//! template in the store's brand ([`render`]) and handed to an SMTP server ([`SmtpMailer`]).
//!
//! What it must never do: put dropline's name, or anything about a supplier, in what a
//! customer receives. The sender is the store's brand (`From`, `Reply-To`, logo, support
//! address); no header names the software that sent it. The templates only show what the
//! engine put in the message's data, which holds no supplier data for a customer's email.

mod render;
mod smtp;

pub use render::{CUSTOMER_TEMPLATES, RenderError, RenderedEmail, SELLER_TEMPLATES, render};
pub use smtp::{SmtpConfig, SmtpCredentials, SmtpMailer, TlsMode};

#[cfg(test)]
mod render_tests;
