//! Reading `goal list` rows on worker threads: batches of goal copies go out in order and their rows come
//! back in the same order, with a bounded number of batches in flight, so a listing streams in constant
//! memory and stops reading as soon as its consumer has enough.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, mpsc};

use gix::ObjectId;

use super::read::{ListEntry, list_row};
use super::{GoalRef, Store, StoreError};

/// Goal copies to read (with whatever the caller needs back with each row).
pub type Batch<T> = Vec<(GoalRef, ObjectId, T)>;

/// The rows read for a [`Batch`], in its order.
pub type Rows<T> = Vec<(ListEntry, T)>;

/// The most reader threads a listing uses.
const MAX_READERS: usize = 8;

impl Store {
    /// Read the list rows of `batches` on reader threads (one per core), handing each batch's rows to
    /// `each` in batch order, until the batches run out or `each` answers `false`. At most one batch per
    /// reader plus one is read ahead of `each`.
    pub fn read_list_batches<T: Send, E: From<StoreError>>(
        &self,
        batches: impl Iterator<Item = Batch<T>>,
        each: impl FnMut(Rows<T>) -> Result<bool, E>,
    ) -> Result<(), E> {
        let readers = std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_READERS));
        let shared = self.repo.clone().into_sync();
        let (work_tx, work_rx) = mpsc::channel::<Job<T>>();
        let (done_tx, done_rx) = mpsc::channel::<Done<T>>();
        let work_rx = Mutex::new(work_rx);
        std::thread::scope(|scope| {
            for _ in 0..readers {
                let (work_rx, done_tx, shared) = (&work_rx, done_tx.clone(), &shared);
                scope.spawn(move || {
                    let repo = shared.to_thread_local();
                    while let Some((seq, batch)) = next_job(work_rx) {
                        let rows = catch_unwind(AssertUnwindSafe(|| read_batch(&repo, batch))).ok();
                        if done_tx.send((seq, rows)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(done_tx);
            // Returning drops `work_tx`, which ends the readers.
            hand_out(batches, work_tx, done_rx, readers + 1, each)
        })
    }
}

/// A batch and its place in the listing.
type Job<T> = (usize, Batch<T>);
/// A batch's rows (`None` when its reader failed) and its place in the listing.
type Done<T> = (usize, Option<Rows<T>>);

/// Send `batches` to the readers, at most `ahead` more than handed out, and hand their rows to `each` in
/// order.
fn hand_out<T, E: From<StoreError>>(
    batches: impl Iterator<Item = Batch<T>>,
    work: mpsc::Sender<Job<T>>,
    done: mpsc::Receiver<Done<T>>,
    ahead: usize,
    mut each: impl FnMut(Rows<T>) -> Result<bool, E>,
) -> Result<(), E> {
    let mut batches = batches.enumerate();
    let (mut sent, mut handed) = (0, 0);
    let mut arrived: BTreeMap<usize, Option<Rows<T>>> = BTreeMap::new();
    loop {
        while sent < handed + ahead {
            let Some(job) = batches.next() else { break };
            if work.send(job).is_err() {
                return Err(reader_failed().into());
            }
            sent += 1;
        }
        if handed == sent {
            return Ok(());
        }
        while !arrived.contains_key(&handed) {
            let (seq, rows) = done.recv().map_err(|_| reader_failed())?;
            arrived.insert(seq, rows);
        }
        let rows = arrived.remove(&handed).flatten().ok_or_else(reader_failed)?;
        handed += 1;
        if !each(rows)? {
            return Ok(());
        }
    }
}

/// The next batch for a reader, or `None` when the listing is over.
fn next_job<T>(work: &Mutex<mpsc::Receiver<Job<T>>>) -> Option<Job<T>> {
    work.lock().ok()?.recv().ok()
}

fn read_batch<T>(repo: &gix::Repository, batch: Batch<T>) -> Rows<T> {
    batch
        .into_iter()
        .map(|(goal, tip, extra)| (list_row(repo, goal, tip), extra))
        .collect()
}

fn reader_failed() -> StoreError {
    StoreError::Git {
        context: "reading goal commits for the list".to_owned(),
        source: gix::Error::from_error(std::io::Error::other("a reader thread failed")),
    }
}
