//! JSON-RPC 2.0 over newline-delimited stdio, as both Wire and ACP speak it.
//!
//! Owns line framing with a bounded line length (a longer line is discarded, never buffered whole),
//! classification of a line into request, notification or response (anything else is reported as
//! malformed, not fatal), and encoding of outgoing messages. Must not know any protocol's methods.

use std::io;

use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// Default longest line accepted from an agent: 8 MiB.
pub const DEFAULT_MAX_LINE: usize = 8 << 20;

/// What the framing layer read.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// One complete line, without its newline.
    Line(Vec<u8>),
    /// A line longer than the limit; its bytes were discarded as they arrived.
    TooLong {
        /// How many bytes it had.
        len: usize,
    },
    /// End of stream.
    Eof,
}

/// Reads newline-delimited frames while holding at most `max` bytes of one line in memory.
#[derive(Debug)]
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    max: usize,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    /// Frame `inner` with lines of at most `max` bytes.
    pub fn new(inner: R, max: usize) -> LineReader<R> {
        LineReader {
            inner,
            buf: Vec::new(),
            max,
        }
    }

    /// The capacity of the line buffer right now (for tests of the memory bound).
    pub fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// The next frame. Cancel-safe only between frames: run it in a task of its own.
    pub async fn next(&mut self) -> io::Result<Frame> {
        let mut discarded: Option<usize> = None;
        loop {
            let available = self.inner.fill_buf().await?;
            if available.is_empty() {
                let frame = match discarded {
                    Some(len) => Frame::TooLong { len },
                    None if self.buf.is_empty() => Frame::Eof,
                    None => Frame::Line(std::mem::take(&mut self.buf)),
                };
                return Ok(frame);
            }
            let newline = memchr(available);
            let chunk_len = newline.unwrap_or(available.len());
            match discarded.as_mut() {
                Some(len) => *len += chunk_len,
                None if self.buf.len() + chunk_len > self.max => {
                    discarded = Some(self.buf.len() + chunk_len);
                    self.buf = Vec::new();
                }
                None => self.buf.extend_from_slice(&available[..chunk_len]),
            }
            let consumed = newline.map_or(chunk_len, |n| n + 1);
            self.inner.consume(consumed);
            if newline.is_some() {
                return Ok(match discarded {
                    Some(len) => Frame::TooLong { len },
                    None => Frame::Line(std::mem::take(&mut self.buf)),
                });
            }
        }
    }
}

fn memchr(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|b| *b == b'\n')
}

/// An error object of a response.
#[derive(Clone, Debug, PartialEq)]
pub struct RpcError {
    /// Code.
    pub code: i64,
    /// Message.
    pub message: String,
}

/// One incoming message.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// A request: must be answered with the same id.
    Request {
        /// Its id, echoed back verbatim.
        id: Value,
        /// Method name.
        method: String,
        /// Parameters (`null` when absent).
        params: Value,
    },
    /// A notification.
    Notification {
        /// Method name.
        method: String,
        /// Parameters (`null` when absent).
        params: Value,
    },
    /// A response to one of our requests.
    Response {
        /// The id we sent.
        id: Value,
        /// Result or error.
        outcome: Result<Value, RpcError>,
    },
}

/// A response as the engines hand it on: the id it answers and its outcome.
pub type Answer = (Value, Result<Value, RpcError>);

/// Why a line is not a JSON-RPC message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not JSON.
    #[error("not JSON: {0}")]
    Json(String),
    /// JSON, but not a JSON-RPC message.
    #[error("not a JSON-RPC message: {0}")]
    Shape(&'static str),
}

/// Classify one line.
pub fn parse(line: &[u8]) -> Result<Message, ParseError> {
    let value: Value = serde_json::from_slice(line).map_err(|e| ParseError::Json(e.to_string()))?;
    let Value::Object(mut obj) = value else {
        return Err(ParseError::Shape("not an object"));
    };
    let id = obj.remove("id");
    let params = obj.remove("params").unwrap_or(Value::Null);
    match (obj.remove("method"), id) {
        (Some(Value::String(method)), Some(id)) if !id.is_null() => {
            Ok(Message::Request { id, method, params })
        }
        (Some(Value::String(method)), _) => Ok(Message::Notification { method, params }),
        (Some(_), _) => Err(ParseError::Shape("method is not a string")),
        (None, Some(id)) => response(id, obj),
        (None, None) => Err(ParseError::Shape("neither a method nor an id")),
    }
}

fn response(id: Value, mut obj: Map<String, Value>) -> Result<Message, ParseError> {
    if let Some(error) = obj.remove("error") {
        let code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
        let message = error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("(no message)")
            .to_owned();
        return Ok(Message::Response {
            id,
            outcome: Err(RpcError { code, message }),
        });
    }
    match obj.remove("result") {
        Some(result) => Ok(Message::Response {
            id,
            outcome: Ok(result),
        }),
        None => Err(ParseError::Shape("a response without result or error")),
    }
}

fn line(value: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(value).expect("serde_json::Value always serialises");
    bytes.push(b'\n');
    bytes
}

/// Encode a request.
pub fn request(id: &Value, method: &str, params: Value) -> Vec<u8> {
    line(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
}

/// Encode a notification.
pub fn notification(method: &str, params: Value) -> Vec<u8> {
    line(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
}

/// Encode a successful response.
pub fn result(id: &Value, result: Value) -> Vec<u8> {
    line(&json!({"jsonrpc": "2.0", "id": id, "result": result}))
}

/// Encode an error response.
pub fn error(id: &Value, code: i64, message: &str) -> Vec<u8> {
    line(&json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}))
}

/// JSON-RPC: the method does not exist.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// JSON-RPC: invalid parameters.
pub const INVALID_PARAMS: i64 = -32602;
/// JSON-RPC: internal error.
pub const INTERNAL_ERROR: i64 = -32603;

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // `#[tokio::test]` builds its own runtime
mod tests {
    use super::*;
    use tokio::io::BufReader;

    async fn frames(input: &[u8], max: usize) -> Vec<Frame> {
        let mut reader = LineReader::new(BufReader::with_capacity(16, input), max);
        let mut out = Vec::new();
        loop {
            let frame = reader.next().await.unwrap();
            let eof = frame == Frame::Eof;
            out.push(frame);
            if eof {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn lines_are_framed_and_long_ones_discarded() {
        let mut input = b"{\"a\":1}\n".to_vec();
        input.extend(vec![b'x'; 100]);
        input.extend(b"\nshort\ntail-without-newline");
        let got = frames(&input, 50).await;
        assert_eq!(
            got,
            vec![
                Frame::Line(b"{\"a\":1}".to_vec()),
                Frame::TooLong { len: 100 },
                Frame::Line(b"short".to_vec()),
                Frame::Line(b"tail-without-newline".to_vec()),
                Frame::Eof,
            ]
        );
    }

    #[tokio::test]
    async fn a_ten_megabyte_line_never_sits_in_memory() {
        let mut input = vec![b'y'; 10 << 20];
        input.extend(b"\n{\"ok\":true}\n");
        let mut reader = LineReader::new(BufReader::new(&input[..]), 64 << 10);
        assert_eq!(reader.next().await.unwrap(), Frame::TooLong { len: 10 << 20 });
        assert!(
            reader.buffer_capacity() <= 64 << 10,
            "capacity {}",
            reader.buffer_capacity()
        );
        assert_eq!(
            reader.next().await.unwrap(),
            Frame::Line(b"{\"ok\":true}".to_vec())
        );
    }

    #[test]
    fn messages_are_classified() {
        let req = parse(br#"{"jsonrpc":"2.0","id":"x1","method":"request","params":{"a":1}}"#).unwrap();
        assert!(matches!(req, Message::Request { ref id, .. } if id == "x1"));
        let note = parse(br#"{"jsonrpc":"2.0","method":"event","params":{}}"#).unwrap();
        assert!(matches!(note, Message::Notification { .. }));
        let ok = parse(br#"{"jsonrpc":"2.0","id":3,"result":{"stopReason":"end_turn"}}"#).unwrap();
        assert!(matches!(ok, Message::Response { outcome: Ok(_), .. }));
        let err =
            parse(br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request"}}"#)
                .unwrap();
        assert!(matches!(
            err,
            Message::Response {
                outcome: Err(RpcError { code: -32600, .. }),
                ..
            }
        ));
        assert!(matches!(parse(b"{not json"), Err(ParseError::Json(_))));
        assert!(matches!(parse(b"[1,2]"), Err(ParseError::Shape(_))));
        assert!(matches!(parse(br#"{"id":1}"#), Err(ParseError::Shape(_))));
        assert!(matches!(parse(br#"{"method":5}"#), Err(ParseError::Shape(_))));
    }

    #[test]
    fn encoding_is_one_line() {
        let bytes = request(&json!("omk-1"), "prompt", json!({"user_input": "a\nb"}));
        assert_eq!(bytes.iter().filter(|b| **b == b'\n').count(), 1);
        assert!(bytes.ends_with(b"\n"));
        let back = parse(&bytes[..bytes.len() - 1]).unwrap();
        assert!(matches!(back, Message::Request { method, .. } if method == "prompt"));
    }
}
