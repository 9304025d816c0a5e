//! How long to wait before trying again, and when to stop: jittered exponential backoff with a bound
//! on the number of waits. Pure: the caller draws the random jitter byte (`clock::random_bytes`).

use std::time::Duration;

/// Jittered exponential backoff with a bound on the number of waits.
#[derive(Clone, Debug)]
pub struct Backoff {
    waited: u32,
    limit: u32,
    base_ms: u64,
    jitter_ms: u8,
}

impl Backoff {
    /// Between attempts at a goal write: 1 ms doubling up to 64 ms plus up to 7 ms, 200 times at most
    /// (twenty processes racing on one goal all get through).
    pub fn goal_writes() -> Backoff {
        Backoff::new(200, 1, 8)
    }

    /// Between attempts at registering a worktree that raced another process's registration: 25 ms
    /// doubling plus up to 15 ms, 4 times at most.
    pub fn worktree_registrations() -> Backoff {
        Backoff::new(4, 25, 16)
    }

    /// `limit` waits of `base_ms` doubling (up to 64 times `base_ms`) plus up to `jitter_ms - 1` ms.
    pub fn new(limit: u32, base_ms: u64, jitter_ms: u8) -> Backoff {
        Backoff {
            waited: 0,
            limit,
            base_ms,
            jitter_ms: jitter_ms.max(1),
        }
    }

    /// The next wait given a random byte `jitter`, or `None` once the bound is reached.
    pub fn next_delay(&mut self, jitter: u8) -> Option<Duration> {
        if self.waited >= self.limit {
            return None;
        }
        let ms = (self.base_ms << self.waited.min(6)) + u64::from(jitter % self.jitter_ms);
        self.waited += 1;
        Some(Duration::from_millis(ms))
    }

    /// How many waits were taken.
    pub fn waited(&self) -> u32 {
        self.waited
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_with_jitter_and_stop_at_the_bound() {
        let mut backoff = Backoff::new(8, 2, 4);
        let waits: Vec<u64> = std::iter::from_fn(|| backoff.next_delay(5))
            .map(|d| d.as_millis() as u64)
            .collect();
        assert_eq!(waits, [3, 5, 9, 17, 33, 65, 129, 129]);
        assert_eq!(backoff.waited(), 8);
        assert_eq!(backoff.next_delay(0), None);
    }
}
