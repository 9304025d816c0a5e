//! Following a child process's stdout line by line while it runs (`goal watch` in a second process).

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// The lines a child printed so far, read on a thread.
pub struct Follow {
    rx: Receiver<String>,
    /// Every line received, in order.
    pub seen: Vec<String>,
}

impl Follow {
    /// Follow `child`'s stdout (which must be piped).
    pub fn stdout_of(child: &mut Child) -> Follow {
        let out = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Follow { rx, seen: Vec::new() }
    }

    /// Read lines until one contains `needle` (true), the output ends (false), or `guard` passes (a hang
    /// guard only: false).
    pub fn until(&mut self, needle: &str, guard: Duration) -> bool {
        let deadline = Instant::now() + guard;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(needle);
                    self.seen.push(line);
                    if found {
                        return true;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return false,
            }
        }
    }

    /// Every line until the output ends (bounded by `guard`, a hang guard).
    pub fn rest(&mut self, guard: Duration) -> &[String] {
        self.until("\u{0}never printed\u{0}", guard);
        &self.seen
    }

    /// Everything seen, as one text.
    pub fn text(&self) -> String {
        self.seen.join("\n")
    }
}
