//! The clock and entropy: the only place that reads the time of day or random bytes.
//!
//! Everything else receives a time or random bytes as a value, so decisions stay pure and tests can
//! pin time. Must not do anything else.
#![allow(clippy::disallowed_methods)]

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use chrono::{DateTime, Utc};

/// A source of the current time, and of the random bytes ids are made of.
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;

    /// Fill `buf` with random bytes for ids and nonces: the operating system's ([`random_bytes`]).
    fn fill_random(&self, buf: &mut [u8]) {
        fill_os_random(buf);
    }
}

/// `N` random bytes from `clock` (a test clock's are seeded).
pub fn random_from<const N: usize>(clock: &dyn Clock) -> [u8; N] {
    let mut buf = [0u8; N];
    clock.fill_random(&mut buf);
    buf
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

/// `N` random bytes from the operating system (see [`fill_os_random`]).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    fill_os_random(&mut buf);
    buf
}

/// Random bytes from the operating system. Falls back to time-derived bytes if the OS source fails,
/// which only weakens uniqueness, never correctness (ids are also checked on write).
fn fill_os_random(buf: &mut [u8]) {
    if getrandom::fill(buf).is_err() {
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default().to_le_bytes();
        let pid = std::process::id().to_le_bytes();
        for (i, b) in buf.iter_mut().enumerate() {
            *b = nanos[i % 8] ^ pid[i % 4].rotate_left(i as u32);
        }
    }
}

/// The clock of tests that pin output (`OMK_TEST_TIME`, `OMK_TEST_SEED`; like jj's test environment):
/// it starts at a given time and moves one second each time it is read, and its random bytes come
/// from a generator seeded with a given number, so the same commands give the same ids, times and
/// commits run after run. Each command of a test gets its own start and seed.
#[derive(Debug)]
pub struct TestClock {
    start: DateTime<Utc>,
    reads: AtomicI64,
    state: AtomicU64,
}

impl TestClock {
    /// A clock at `start` whose random bytes come from `seed`.
    pub fn new(start: DateTime<Utc>, seed: u64) -> TestClock {
        TestClock {
            start,
            reads: AtomicI64::new(0),
            state: AtomicU64::new(seed),
        }
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        self.start + chrono::Duration::seconds(self.reads.fetch_add(1, Ordering::Relaxed))
    }

    fn fill_random(&self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let next = splitmix64(self.state.fetch_add(SPLITMIX_STEP, Ordering::Relaxed));
            chunk.copy_from_slice(&next.to_le_bytes()[..chunk.len()]);
        }
    }
}

const SPLITMIX_STEP: u64 = 0x9e37_79b9_7f4a_7c15;

/// One output of the SplitMix64 generator for the state `x` (the state advances by [`SPLITMIX_STEP`]).
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(SPLITMIX_STEP);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
