//! A small SMTP sink for the tests: a real SMTP conversation on loopback (greeting, EHLO,
//! MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT), keeping every message. It can
//! also misbehave: never greet (a hung server) or refuse every message.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// How the sink behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Accepts every message.
    Accept,
    /// Accepts connections but never says anything.
    Hang,
    /// Answers `554` to `MAIL FROM` (a permanent refusal).
    Refuse,
    /// Answers `451` (a temporary failure) to the first `MAIL FROM`, then accepts.
    FailOnce,
    /// Greets one second late, then accepts.
    Slow,
}

/// One received message.
#[derive(Clone, Debug)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The RFC 5322 message as sent in DATA.
    pub data: String,
}

impl Received {
    /// A header's value (first occurrence, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }

    /// The message with quoted-printable soft breaks and escapes decoded.
    pub fn decoded(&self) -> String {
        qp_decode(&self.data)
    }

    /// Every `http(s)://` link in the plain-text part.
    pub fn links(&self) -> Vec<String> {
        links_in(&self.decoded())
    }
}

/// Quoted-printable decoding (soft line breaks, `=XX`).
pub fn qp_decode(s: &str) -> String {
    let s = s.replace("=\r\n", "").replace("=\n", "");
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'='
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(hex, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every `http(s)://` link in `text`.
pub fn links_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("http") {
        let cand = &rest[i..];
        if cand.starts_with("http://") || cand.starts_with("https://") {
            let end = cand
                .find(|c: char| c.is_whitespace() || c == '<' || c == '"' || c == '>')
                .unwrap_or(cand.len());
            out.push(cand[..end].to_owned());
            rest = &cand[end..];
        } else {
            rest = &cand[4..];
        }
    }
    out
}

/// A running sink.
#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    messages: Arc<Mutex<Vec<Received>>>,
    /// `MAIL FROM` commands seen (attempts).
    attempts: Arc<std::sync::atomic::AtomicUsize>,
    /// The base64 arguments of `AUTH PLAIN` commands seen.
    auths: Arc<Mutex<Vec<String>>>,
}

impl SmtpSink {
    pub async fn start(mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let sink = Self {
            port,
            messages: Arc::default(),
            attempts: Arc::default(),
            auths: Arc::default(),
        };
        let s = sink.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = s.session(sock, mode).await;
                });
            }
        });
        sink
    }

    /// `SMTP_URL` for the demo server.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// How many transactions were started (`MAIL FROM` commands).
    pub fn attempts(&self) -> usize {
        self.attempts.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The base64 arguments of the `AUTH PLAIN` commands received.
    pub fn auths(&self) -> Vec<String> {
        self.auths.lock().unwrap().clone()
    }

    pub fn messages(&self) -> Vec<Received> {
        self.messages.lock().unwrap().clone()
    }

    /// Messages to `to`.
    pub fn to(&self, to: &str) -> Vec<Received> {
        self.messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to)))
            .collect()
    }

    /// Waits (at most 10 s) until `n` messages went to `to`; returns them.
    pub async fn wait_for(&self, to: &str, n: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.to(to);
            if got.len() >= n {
                return got;
            }
            if tokio::time::Instant::now() > deadline {
                let all: Vec<_> = self
                    .messages()
                    .iter()
                    .map(|m| (m.to.clone(), m.header("Subject")))
                    .collect();
                panic!(
                    "expected {n} message(s) to {to}, got {}; all: {all:?}",
                    got.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The last message to `to` with `subject`, waiting for it.
    pub async fn last(&self, to: &str, subject: &str) -> Received {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(m) = self
                .to(to)
                .into_iter()
                .rev()
                .find(|m| m.header("Subject").as_deref() == Some(subject))
            {
                return m;
            }
            if tokio::time::Instant::now() > deadline {
                let all: Vec<_> = self
                    .messages()
                    .iter()
                    .map(|m| (m.to.clone(), m.header("Subject")))
                    .collect();
                panic!("no {subject:?} message to {to}; all: {all:?}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn session(&self, sock: tokio::net::TcpStream, mode: Mode) -> std::io::Result<()> {
        if mode == Mode::Hang {
            tokio::time::sleep(Duration::from_secs(600)).await;
            return Ok(());
        }
        if mode == Mode::Slow {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let (r, mut w) = sock.into_split();
        let mut lines = BufReader::new(r);
        w.write_all(b"220 sink.test ESMTP ready\r\n").await?;
        let (mut from, mut to) = (String::new(), Vec::new());
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let cmd = line.trim_end().to_owned();
            let upper = cmd.to_ascii_uppercase();
            let reply: &[u8] = if upper.starts_with("EHLO") {
                b"250-sink.test\r\n250-8BITMIME\r\n250-AUTH PLAIN\r\n250 SMTPUTF8\r\n"
            } else if upper.starts_with("AUTH PLAIN ") {
                self.auths.lock().unwrap().push(cmd[11..].trim().to_owned());
                b"235 2.7.0 Authentication successful\r\n"
            } else if upper.starts_with("HELO") {
                b"250 sink.test\r\n"
            } else if upper.starts_with("MAIL FROM:") {
                let n = self
                    .attempts
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if mode == Mode::FailOnce && n == 0 {
                    b"451 4.3.0 try again later\r\n"
                } else if mode == Mode::Refuse {
                    b"554 5.7.1 refused\r\n"
                } else {
                    from = addr(&cmd[10..]);
                    to.clear();
                    b"250 OK\r\n"
                }
            } else if upper.starts_with("RCPT TO:") {
                to.push(addr(&cmd[8..]));
                b"250 OK\r\n"
            } else if upper == "DATA" {
                w.write_all(b"354 go ahead\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    let l = line.strip_prefix('.').unwrap_or(&line);
                    data.push_str(l);
                }
                self.messages.lock().unwrap().push(Received {
                    from: from.clone(),
                    to: to.clone(),
                    data,
                });
                b"250 OK queued\r\n"
            } else if upper == "QUIT" {
                w.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else if upper == "RSET" || upper == "NOOP" {
                b"250 OK\r\n"
            } else {
                b"502 not implemented\r\n"
            };
            w.write_all(reply).await?;
        }
    }
}

fn addr(s: &str) -> String {
    let s = s.trim();
    let s = s.split_whitespace().next().unwrap_or(s);
    s.trim_start_matches('<').trim_end_matches('>').to_owned()
}
