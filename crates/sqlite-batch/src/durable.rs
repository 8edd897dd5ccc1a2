//! Pipelined durability: the writer commits a batch and goes on with the next one while a
//! second thread makes the first durable and only then answers its callers.
//!
//! With `synchronous=FULL` SQLite fsyncs the WAL inside every COMMIT, on the writer's thread:
//! the single writer spent about half its time waiting for the disk, executing nothing. In
//! pipelined mode the writer's connection runs `synchronous=NORMAL` (a WAL commit is written
//! but not fsynced; checkpoints still fsync the WAL before copying it and the database after)
//! and hands each committed batch to the syncer thread, which `fdatasync`s the WAL file —
//! once for every batch waiting, in commit order — and then answers their callers. The
//! promise is the same as FULL's: an answered write is on stable storage. What differs is
//! that another connection may read a commit up to one fsync before it is durable; a power
//! loss in that window can lose such a commit, never an answered one.
//!
//! If an fsync fails, the state of the file is unknown (the kernel may have dropped the dirty
//! pages): every batch from then on is answered with [`BatchError::NotDurable`], as PostgreSQL
//! stops on a failed fsync; restarting the process recovers from what is on disk.

use crate::batch::{Job, Wake};
use crate::{BatchError, Msg};
use std::fs::File;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

/// A committed (or rolled-back) batch whose callers wait for the syncer.
pub(crate) struct Committed {
    pub jobs: Vec<Box<dyn Job>>,
    pub failed: Option<BatchError>,
}

/// Where answered batches go: straight back (the connection's own `synchronous` decides),
/// or through the syncer.
pub(crate) enum Answerer {
    Direct,
    Pipelined {
        to_syncer: flume::Sender<Committed>,
        thread: std::thread::JoinHandle<()>,
        /// Batches handed to the syncer and not yet answered.
        in_flight: Arc<AtomicUsize>,
        /// A token from the syncer each time `in_flight` drops to zero.
        idle: flume::Receiver<()>,
    },
}

impl Answerer {
    /// Answers the batch now, or after the WAL has been fsynced.
    pub fn answer(&self, batch: Committed) {
        match self {
            Answerer::Direct => answer_all(batch.jobs, batch.failed),
            Answerer::Pipelined { to_syncer, in_flight, .. } => {
                in_flight.fetch_add(1, Relaxed);
                if let Err(flume::SendError(batch)) = to_syncer.send(batch) {
                    in_flight.fetch_sub(1, Relaxed);
                    answer_all(batch.jobs, Some(BatchError::Closed));
                }
            }
        }
    }

    /// For a writer with an open transaction and an empty queue: returns at once when no
    /// commit awaits its fsync (always, without a syncer), otherwise when the syncer has
    /// answered everything handed to it or the queue has something, whichever comes first.
    pub fn wait_for_syncer(&self, queue: &flume::Receiver<Msg>) -> Wake {
        let Answerer::Pipelined { in_flight, idle, .. } = self else { return Wake::SyncerIdle };
        // A token may be left over from an earlier idle moment: the count decides. A syncer
        // that is gone sends no more tokens; the commit then goes ahead, and handing it over
        // answers its callers `Closed`.
        while in_flight.load(Relaxed) > 0 {
            let woke = flume::Selector::new()
                .recv(queue, |msg| Some(Wake::Queue(msg)))
                .recv(idle, |token| token.is_err().then_some(Wake::SyncerIdle))
                .wait();
            if let Some(wake) = woke {
                return wake;
            }
        }
        Wake::SyncerIdle
    }

    /// Waits until every batch handed over has been answered.
    pub fn finish(self) {
        if let Answerer::Pipelined { to_syncer, thread, .. } = self {
            drop(to_syncer);
            let _ = thread.join();
        }
    }
}

/// Switches `conn` to pipelined durability when it is a WAL database in a file; otherwise
/// (in-memory, rollback journal) answers come straight after COMMIT.
pub(crate) fn answerer(conn: &rusqlite::Connection, synced: Arc<AtomicU64>) -> Answerer {
    match open_wal(conn) {
        Ok(Some(wal)) => {
            let (to_syncer, from_writer) = flume::unbounded();
            let (idle_tx, idle) = flume::bounded(1);
            let in_flight = Arc::new(AtomicUsize::new(0));
            let syncer = Syncer { wal, synced, in_flight: in_flight.clone(), idle: idle_tx };
            let spawned =
                std::thread::Builder::new().name("sqlite-syncer".into()).spawn(move || syncer.run(from_writer));
            match spawned.and_then(|thread| {
                conn.pragma_update(None, "synchronous", "NORMAL").map_err(std::io::Error::other)?;
                Ok(thread)
            }) {
                Ok(thread) => Answerer::Pipelined { to_syncer, thread, in_flight, idle },
                Err(e) => {
                    tracing::warn!(error = %e, "no syncer thread: each COMMIT fsyncs on the writer's thread");
                    Answerer::Direct
                }
            }
        }
        Ok(None) => Answerer::Direct,
        Err(e) => {
            tracing::warn!(error = %e, "cannot open the WAL file: each COMMIT fsyncs on the writer's thread");
            Answerer::Direct
        }
    }
}

/// The connection's WAL file, when it has one.
fn open_wal(conn: &rusqlite::Connection) -> std::io::Result<Option<File>> {
    let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).map_err(std::io::Error::other)?;
    let path = conn.path().unwrap_or_default();
    if !mode.eq_ignore_ascii_case("wal") || path.is_empty() {
        return Ok(None);
    }
    // A read opens the WAL (creating the file if this is its first connection).
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(())).map_err(std::io::Error::other)?;
    File::open(format!("{path}-wal")).map(Some)
}

/// The syncer thread's state.
struct Syncer {
    wal: File,
    synced: Arc<AtomicU64>,
    in_flight: Arc<AtomicUsize>,
    idle: flume::Sender<()>,
}

impl Syncer {
    fn run(self, from_writer: flume::Receiver<Committed>) {
        let mut broken: Option<BatchError> = None;
        while let Ok(first) = from_writer.recv() {
            let mut batches = vec![first];
            batches.extend(from_writer.try_iter());
            let n = batches.len();
            if broken.is_none()
                && batches.iter().any(|b| b.failed.is_none())
                && let Err(e) = self.wal.sync_data()
            {
                tracing::error!(error = %e, "fsync of the SQLite WAL failed: no write is acknowledged from now on");
                broken = Some(BatchError::NotDurable(Arc::new(e)));
            }
            for b in batches {
                if b.failed.is_none() && broken.is_none() {
                    self.synced.fetch_add(1, Relaxed);
                }
                answer_all(b.jobs, b.failed.or_else(|| broken.clone()));
            }
            if self.in_flight.fetch_sub(n, Relaxed) == n {
                // Full means a token is already waiting for the writer.
                let _ = self.idle.try_send(());
            }
        }
    }
}

fn answer_all(jobs: Vec<Box<dyn Job>>, failed: Option<BatchError>) {
    for job in jobs {
        job.answer(failed.clone());
    }
}
