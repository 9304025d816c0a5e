//! The clock and entropy: the only place that reads the time of day or random bytes.
//!
//! Everything else receives a time or random bytes as a value, so decisions stay pure and tests can
//! pin time. Must not do anything else.
#![allow(clippy::disallowed_methods)]

use chrono::{DateTime, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that always says the same time (tests, deterministic tools).
#[derive(Clone, Copy, Debug)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// Now on the monotonic clock: for deadlines and elapsed time, never recorded (recorded times come
/// from a [`Clock`]). tokio's instant, so tests that pause tokio's time pause it too.
pub fn monotonic() -> tokio::time::Instant {
    tokio::time::Instant::now()
}

/// `N` random bytes from the operating system. Falls back to time-derived bytes if the OS source fails,
/// which only weakens uniqueness, never correctness (ids are also checked on write).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    if getrandom::fill(&mut buf).is_err() {
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default().to_le_bytes();
        let pid = std::process::id().to_le_bytes();
        for (i, b) in buf.iter_mut().enumerate() {
            *b = nanos[i % 8] ^ pid[i % 4].rotate_left(i as u32);
        }
    }
    buf
}
