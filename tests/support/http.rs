//! A tiny HTTP/1.1 toolkit for tests, on std only: a client for calls the tests make themselves, and a
//! recording front server that sits between git-omk and the emulator, records every request, and either
//! forwards it or answers as the current rule says (401, 403, 429, GitHub's example responses).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::Value;

/// One request as received.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `GET`, `POST`, …
    pub method: String,
    /// Path and query.
    pub target: String,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// The body, parsed when JSON.
    pub body: Option<Value>,
}

impl Recorded {
    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// Query parameters.
    pub fn query(&self) -> Vec<(String, String)> {
        self.target
            .split_once('?')
            .map(|(_, q)| {
                q.split('&')
                    .filter(|p| !p.is_empty())
                    .map(|p| match p.split_once('=') {
                        Some((k, v)) => (k.to_owned(), v.to_owned()),
                        None => (p.to_owned(), String::new()),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A header value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// How the front answers one request.
pub enum Reply {
    /// Pass it to the upstream server.
    Forward,
    /// Answer directly.
    Respond {
        /// Status code.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// Body.
        body: String,
    },
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, body: &Value) -> Reply {
        Reply::Respond {
            status,
            headers: Vec::new(),
            body: body.to_string(),
        }
    }
}

/// Decides the reply to each request.
pub type Rule = Box<dyn Fn(&Recorded) -> Reply + Send + Sync>;

/// A recording front server on 127.0.0.1.
pub struct Front {
    /// Its address.
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    rule: Arc<Mutex<Rule>>,
    stop: Arc<AtomicBool>,
}

impl Front {
    /// Start in front of `upstream` (or none: every request must be answered by the rule).
    pub fn start(upstream: Option<SocketAddr>) -> Front {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let rule: Arc<Mutex<Rule>> = Arc::new(Mutex::new(Box::new(|_: &Recorded| Reply::Forward)));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, ru, st) = (requests.clone(), rule.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (r, ru) = (r.clone(), ru.clone());
                thread::spawn(move || serve(conn, upstream, &r, &ru));
            }
        });
        Front {
            addr,
            requests,
            rule,
            stop,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replace the rule.
    pub fn set_rule(&self, rule: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) {
        *self.rule.lock().expect("rule lock") = Box::new(rule);
    }

    /// Forward everything again.
    pub fn forward_all(&self) {
        self.set_rule(|_| Reply::Forward);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("requests lock").clone()
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(mut conn: TcpStream, upstream: Option<SocketAddr>, log: &Mutex<Vec<Recorded>>, rule: &Mutex<Rule>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let Some((head, body)) = read_request(&conn) else {
        return;
    };
    let recorded = parse_request(&head, &body);
    log.lock().expect("requests lock").push(recorded.clone());
    let reply = (rule.lock().expect("rule lock"))(&recorded);
    let bytes = match (reply, upstream) {
        (
            Reply::Respond {
                status,
                headers,
                body,
            },
            _,
        ) => response(status, &headers, &body),
        (Reply::Forward, Some(up)) => forward(up, &head, &body),
        (Reply::Forward, None) => response(599, &[], r#"{"message":"no upstream and no rule"}"#),
    };
    let _ = conn.write_all(&bytes);
    let _ = conn.shutdown(Shutdown::Both);
}

fn read_request(conn: &TcpStream) -> Option<(Vec<String>, Vec<u8>)> {
    let mut reader = BufReader::new(conn);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if line.is_empty() {
            break;
        }
        head.push(line);
    }
    let length = head
        .iter()
        .find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((head, body))
}

fn parse_request(head: &[String], body: &[u8]) -> Recorded {
    let mut first = head[0].split(' ');
    let method = first.next().unwrap_or("").to_owned();
    let target = first.next().unwrap_or("").to_owned();
    let headers = head[1..]
        .iter()
        .filter_map(|h| h.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = (!body.is_empty()).then(|| {
        serde_json::from_slice(body).unwrap_or(Value::String(String::from_utf8_lossy(body).into_owned()))
    });
    Recorded {
        method,
        target,
        headers,
        body,
    }
}

fn response(status: u16, headers: &[(String, String)], body: &str) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} X\r\nContent-Type: application/json; charset=utf-8\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    out.into_bytes()
}

fn forward(upstream: SocketAddr, head: &[String], body: &[u8]) -> Vec<u8> {
    let Ok(mut up) = TcpStream::connect(upstream) else {
        return response(502, &[], r#"{"message":"upstream down"}"#);
    };
    let mut request = format!("{}\r\n", head[0]);
    for h in &head[1..] {
        let name = h.split(':').next().unwrap_or("").trim().to_ascii_lowercase();
        if name != "connection" && name != "keep-alive" {
            request.push_str(&format!("{h}\r\n"));
        }
    }
    request.push_str("Connection: close\r\n\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    let mut answer = Vec::new();
    if up.write_all(&bytes).is_err() || up.read_to_end(&mut answer).is_err() {
        return response(502, &[], r#"{"message":"upstream failed"}"#);
    }
    answer
}

/// A direct call (not through a front): `(status, JSON body)`.
pub fn call(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    call_as(addr, "omk_test_token", method, path, body)
}

/// A direct call with `token`: `(status, JSON body)`.
pub fn call_as(
    addr: SocketAddr,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    try_call_as(addr, token, method, path, body).expect("an HTTP exchange with the server")
}

/// A direct call that reports a refused or reset connection instead of panicking (a server that is still
/// starting may accept and then reset): `(status, JSON body)`.
pub fn try_call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> std::io::Result<(u16, Value)> {
    try_call_as(addr, "omk_test_token", method, path, body)
}

fn try_call_as(
    addr: SocketAddr,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> std::io::Result<(u16, Value)> {
    let mut conn = TcpStream::connect(addr)?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: token {token}\r\nAccept: application/vnd.github+json\r\nUser-Agent: git-omk-tests\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| not_http("no end of the header"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let rest = &raw[split + 4..];
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| not_http("no status code"))?;
    let payload = if head.contains("transfer-encoding: chunked") {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    let text = String::from_utf8_lossy(&payload).into_owned();
    let json = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Ok((status, json))
}

fn not_http(what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("not an HTTP answer: {what}"),
    )
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(&rest[..eol]).trim().to_owned();
        let Ok(n) = usize::from_str_radix(&size, 16) else {
            break;
        };
        if n == 0 || rest.len() < eol + 2 + n {
            break;
        }
        out.extend_from_slice(&rest[eol + 2..eol + 2 + n]);
        rest = &rest[(eol + 4 + n).min(rest.len())..];
    }
    out
}
