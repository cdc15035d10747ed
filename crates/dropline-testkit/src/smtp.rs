//! A test SMTP server: [`SmtpSink::start`] listens on `127.0.0.1:0`, takes what a plain (no
//! TLS) SMTP client submits, keeps every message with its envelope and raw bytes, and
//! parses it into a [`ReceivedEmail`]. It can refuse chosen recipients (`550 5.1.1`) and
//! answer the next transactions with `451 4.3.0`, to test how the sender sorts failures.
//!
//! Written here rather than taken from crates.io: the Rust SMTP server crates are either
//! whole mail servers or blocking, thread-per-connection libraries (mailin-embedded) that
//! bring their own TLS stack and no tokio; a sink for tests needs a small async listener, a
//! per-test port, and answers chosen by the test, which is a few commands of RFC 5321. The
//! message itself is parsed with `mail-parser` (MIME, encoded words, transfer encodings).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// The name the sink gives itself.
const SERVER_NAME: &str = "sink.test";
/// The longest command line taken (RFC 5321 says 512 octets; some room for parameters).
const MAX_LINE: usize = 4096;
/// The largest message taken.
const MAX_MESSAGE: usize = 10 * 1024 * 1024;

/// An address as a header shows it: display name and address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailAddress {
    pub name: Option<String>,
    pub address: String,
}

impl std::fmt::Display for MailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name} <{}>", self.address),
            None => f.write_str(&self.address),
        }
    }
}

/// A message the sink accepted.
#[derive(Clone, Debug)]
pub struct ReceivedEmail {
    /// The envelope's sender (`MAIL FROM`).
    pub envelope_from: String,
    /// The envelope's recipients (`RCPT TO`) that were accepted.
    pub envelope_to: Vec<String>,
    /// The message as received, dot-unstuffed, without the final `.` line.
    pub raw: Vec<u8>,
    /// The `From` header, decoded.
    pub from: Option<MailAddress>,
    /// The `To` header, decoded.
    pub to: Vec<MailAddress>,
    /// The first `Reply-To` address.
    pub reply_to: Option<MailAddress>,
    pub subject: Option<String>,
    /// The `Message-ID`, without angle brackets.
    pub message_id: Option<String>,
    /// The top-level content type, e.g. `multipart/alternative`.
    pub content_type: Option<String>,
    /// The first `text/html` part, decoded.
    pub html: Option<String>,
    /// The first `text/plain` part, decoded.
    pub text: Option<String>,
    /// The top-level headers as sent (unfolded, not decoded), in order.
    pub headers: Vec<(String, String)>,
}

impl ReceivedEmail {
    /// The first top-level header of this name (any case), as sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The raw message as text (lossy).
    pub fn raw_text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }

    fn parse(envelope_from: String, envelope_to: Vec<String>, raw: Vec<u8>) -> Self {
        use mail_parser::{MessageParser, MimeHeaders, PartType};

        let headers = raw_headers(&raw);
        let mut email = Self {
            envelope_from,
            envelope_to,
            raw: Vec::new(),
            from: None,
            to: Vec::new(),
            reply_to: None,
            subject: None,
            message_id: None,
            content_type: None,
            html: None,
            text: None,
            headers,
        };
        if let Some(message) = MessageParser::default().parse(&raw) {
            let address = |a: &mail_parser::Addr<'_>| MailAddress {
                name: a.name.as_ref().map(|n| n.to_string()),
                address: a.address.as_ref().map(|n| n.to_string()).unwrap_or_default(),
            };
            email.from = message.from().and_then(|a| a.first()).map(address);
            email.to = message
                .to()
                .map(|list| list.clone().into_list().iter().map(address).collect())
                .unwrap_or_default();
            email.reply_to = message.reply_to().and_then(|a| a.first()).map(address);
            email.subject = message.subject().map(str::to_string);
            email.message_id = message.message_id().map(str::to_string);
            email.content_type = message.content_type().map(|ct| match ct.subtype() {
                Some(subtype) => format!("{}/{subtype}", ct.ctype()),
                None => ct.ctype().to_string(),
            });
            for part in &message.parts {
                match &part.body {
                    PartType::Text(text) if email.text.is_none() => email.text = Some(text.to_string()),
                    PartType::Html(html) if email.html.is_none() => email.html = Some(html.to_string()),
                    _ => {}
                }
            }
        }
        email.raw = raw;
        email
    }
}

/// The header block of a raw message, unfolded.
fn raw_headers(raw: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(raw);
    let block = text
        .split_once("\r\n\r\n")
        .or_else(|| text.split_once("\n\n"))
        .map_or(text.as_ref(), |(head, _)| head);
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in block.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    headers
}

type RecipientRule = Box<dyn Fn(&str) -> bool + Send + Sync>;

#[derive(Default)]
struct State {
    received: Vec<ReceivedEmail>,
    refused_recipients: Vec<RecipientRule>,
    /// Transactions still to answer with 451.
    transient_failures: usize,
    /// Connections accepted so far.
    connections: usize,
}

struct Shared {
    state: Mutex<State>,
    arrived: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock has failed already; keep serving.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running test SMTP server. Stops when dropped.
pub struct SmtpSink {
    address: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    /// Starts a sink on `127.0.0.1` and a free port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the SMTP sink");
        let address = listener.local_addr().expect("the SMTP sink's address");
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            arrived: Notify::new(),
        });
        let task = tokio::spawn(serve(listener, shared.clone()));
        Self { address, shared, task }
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `127.0.0.1`.
    pub fn host(&self) -> String {
        self.address.ip().to_string()
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The messages accepted so far, oldest first.
    pub fn received(&self) -> Vec<ReceivedEmail> {
        self.shared.lock().received.clone()
    }

    /// How many connections the sink accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.lock().connections
    }

    /// Waits until at least `count` messages arrived and returns them all; panics after
    /// `timeout`.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<ReceivedEmail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.shared.arrived.notified();
            {
                let state = self.shared.lock();
                if state.received.len() >= count {
                    return state.received.clone();
                }
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                let got = self.shared.lock().received.len();
                panic!("the SMTP sink got {got} of {count} messages within {timeout:?}");
            }
        }
    }

    /// Answers `550 5.1.1 no such user` to every recipient for which `rule` is true.
    pub fn refuse_recipients(&self, rule: impl Fn(&str) -> bool + Send + Sync + 'static) {
        self.shared.lock().refused_recipients.push(Box::new(rule));
    }

    /// Answers `550 5.1.1 no such user` to every recipient containing `text` (any case).
    pub fn refuse_recipients_containing(&self, text: &str) {
        let text = text.to_ascii_lowercase();
        self.refuse_recipients(move |recipient| recipient.to_ascii_lowercase().contains(&text));
    }

    /// Answers `451 4.3.0 try again later` to the next `count` transactions (at `MAIL`).
    pub fn fail_next_transactions(&self, count: usize) {
        self.shared.lock().transient_failures = count;
    }

    /// Forgets the messages received so far (the rules stay).
    pub fn clear(&self) {
        self.shared.lock().received.clear();
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut sessions = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        shared.lock().connections += 1;
        let shared = shared.clone();
        // A broken session (the client hung up) ends only that session.
        sessions.spawn(async move {
            let _ = session(stream, &shared).await;
        });
        // Reap finished sessions so the set does not grow for the life of the sink.
        while sessions.try_join_next().is_some() {}
    }
}

/// The transaction being built.
#[derive(Default)]
struct Transaction {
    from: Option<String>,
    to: Vec<String>,
}

async fn session(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut transaction = Transaction::default();
    reply(&mut write, &format!("220 {SERVER_NAME} ESMTP ready")).await?;
    loop {
        let Some(line) = read_line(&mut reader).await? else {
            return Ok(());
        };
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches(['\r', '\n']);
        let (verb, argument) = line.split_once(' ').unwrap_or((line, ""));
        let argument = argument.trim();
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                transaction = Transaction::default();
                let lines = [
                    SERVER_NAME.to_string(),
                    "8BITMIME".to_string(),
                    "SMTPUTF8".to_string(),
                    format!("SIZE {MAX_MESSAGE}"),
                    "AUTH PLAIN LOGIN".to_string(),
                ];
                let last = lines.len() - 1;
                let text = lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| format!("250{}{l}", if i == last { ' ' } else { '-' }))
                    .collect::<Vec<_>>()
                    .join("\r\n");
                reply(&mut write, &text).await?;
            }
            "HELO" => {
                transaction = Transaction::default();
                reply(&mut write, &format!("250 {SERVER_NAME}")).await?;
            }
            "AUTH" => {
                // Any account will do: the sink tests what is sent, not who sends it.
                let mut words = argument.split_whitespace();
                match words.next().map(str::to_ascii_uppercase).as_deref() {
                    Some("PLAIN") => {
                        if words.next().is_none() {
                            reply(&mut write, "334 ").await?;
                            read_line(&mut reader).await?;
                        }
                        reply(&mut write, "235 2.7.0 authenticated").await?;
                    }
                    Some("LOGIN") => {
                        if words.next().is_none() {
                            reply(&mut write, "334 VXNlcm5hbWU6").await?;
                            read_line(&mut reader).await?;
                        }
                        reply(&mut write, "334 UGFzc3dvcmQ6").await?;
                        read_line(&mut reader).await?;
                        reply(&mut write, "235 2.7.0 authenticated").await?;
                    }
                    _ => reply(&mut write, "504 5.5.4 mechanism not supported").await?,
                }
            }
            "MAIL" => {
                let failing = {
                    let mut state = shared.lock();
                    let failing = state.transient_failures > 0;
                    state.transient_failures = state.transient_failures.saturating_sub(1);
                    failing
                };
                if failing {
                    transaction = Transaction::default();
                    reply(&mut write, "451 4.3.0 try again later").await?;
                } else if let Some(from) = path(argument, "FROM:") {
                    transaction = Transaction {
                        from: Some(from),
                        to: Vec::new(),
                    };
                    reply(&mut write, "250 2.1.0 OK").await?;
                } else {
                    reply(&mut write, "501 5.5.4 syntax: MAIL FROM:<address>").await?;
                }
            }
            "RCPT" => {
                if transaction.from.is_none() {
                    reply(&mut write, "503 5.5.1 MAIL first").await?;
                } else if let Some(to) = path(argument, "TO:") {
                    let refused = shared.lock().refused_recipients.iter().any(|rule| rule(&to));
                    if refused {
                        reply(&mut write, "550 5.1.1 no such user").await?;
                    } else {
                        transaction.to.push(to);
                        reply(&mut write, "250 2.1.5 OK").await?;
                    }
                } else {
                    reply(&mut write, "501 5.5.4 syntax: RCPT TO:<address>").await?;
                }
            }
            "DATA" => {
                if transaction.from.is_none() || transaction.to.is_empty() {
                    reply(&mut write, "554 5.5.1 no valid recipients").await?;
                    continue;
                }
                reply(&mut write, "354 end data with <CR><LF>.<CR><LF>").await?;
                let Some(raw) = read_data(&mut reader).await? else {
                    reply(&mut write, "552 5.3.4 message too big").await?;
                    transaction = Transaction::default();
                    continue;
                };
                let done = std::mem::take(&mut transaction);
                let email = ReceivedEmail::parse(done.from.unwrap_or_default(), done.to, raw);
                let number = {
                    let mut state = shared.lock();
                    state.received.push(email);
                    state.received.len()
                };
                shared.arrived.notify_waiters();
                reply(&mut write, &format!("250 2.0.0 OK queued as {number}")).await?;
            }
            "RSET" => {
                transaction = Transaction::default();
                reply(&mut write, "250 2.0.0 OK").await?;
            }
            "NOOP" => reply(&mut write, "250 2.0.0 OK").await?,
            "QUIT" => {
                reply(&mut write, "221 2.0.0 bye").await?;
                return Ok(());
            }
            "STARTTLS" => reply(&mut write, "454 4.7.0 TLS not available").await?,
            "VRFY" => reply(&mut write, "252 2.1.5 cannot verify").await?,
            _ => reply(&mut write, "500 5.5.2 command not recognized").await?,
        }
    }
}

/// The address of `FROM:<a@b> PARAMS` (`<>` gives an empty address).
fn path(argument: &str, keyword: &str) -> Option<String> {
    let head = argument.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = argument[keyword.len()..].trim_start();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    Some(inner[..end].to_string())
}

async fn reply(write: &mut tokio::net::tcp::OwnedWriteHalf, text: &str) -> std::io::Result<()> {
    // One write per reply: a reply split in two writes waits for the client's delayed ACK.
    write.write_all(format!("{text}\r\n").as_bytes()).await?;
    write.flush().await
}

/// One line with its ending; `None` at the end of the stream. A line longer than
/// [`MAX_LINE`] ends the session.
async fn read_line<R: AsyncBufReadExt + Unpin>(reader: &mut R) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let read = (&mut *reader)
        .take(MAX_LINE as u64)
        .read_until(b'\n', &mut line)
        .await?;
    if read == 0 {
        return Ok(None);
    }
    if !line.ends_with(b"\n") {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "line too long"));
    }
    Ok(Some(line))
}

/// The message of a DATA command, dot-unstuffed, up to the `.` line; `None` when larger
/// than [`MAX_MESSAGE`] (the rest is read and dropped).
async fn read_data<R: AsyncBufReadExt + Unpin>(reader: &mut R) -> std::io::Result<Option<Vec<u8>>> {
    let mut message = Vec::new();
    let mut too_big = false;
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed in DATA",
            ));
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok(if too_big { None } else { Some(message) });
        }
        // A line starting with a dot was sent with one more (RFC 5321, 4.5.2).
        let line = line.strip_prefix(b".").unwrap_or(&line);
        if message.len() + line.len() > MAX_MESSAGE {
            too_big = true;
            message.clear();
        }
        if !too_big {
            message.extend_from_slice(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_read_from_mail_and_rcpt_arguments() {
        assert_eq!(path("FROM:<a@b.example> SIZE=10", "FROM:"), Some("a@b.example".into()));
        assert_eq!(path("from: <a@b.example>", "FROM:"), Some("a@b.example".into()));
        assert_eq!(path("FROM:<>", "FROM:"), Some(String::new()));
        assert_eq!(path("TO:a@b", "TO:"), None);
        assert_eq!(path("X", "FROM:"), None);
    }

    #[test]
    fn headers_are_unfolded() {
        let raw = b"Subject: a\r\n long one\r\nFrom: x@y\r\n\r\nbody: not a header\r\n";
        assert_eq!(
            raw_headers(raw),
            vec![
                ("Subject".to_string(), "a long one".to_string()),
                ("From".to_string(), "x@y".to_string())
            ]
        );
    }
}
