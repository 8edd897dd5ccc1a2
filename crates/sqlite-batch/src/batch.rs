//! The writer thread: runs queued operations in one transaction with one savepoint per
//! operation, and answers their callers only after the COMMIT is durable (directly, or
//! through the syncer thread: `durable.rs`).
//!
//! A transaction begins with the first operation queued and takes every operation that
//! arrives while it is open. It commits when the queue is empty and the syncer has nothing
//! left to fsync (at once, for an idle store or one without a syncer), or when it holds
//! [`BatchConfig::max_ops`]. Under load the syncer is always busy with the previous commit, so
//! each COMMIT and fsync serves everything that arrived during the last fsync, without a timer
//! and without delaying any answer: an operation that arrives while an fsync runs could not be
//! answered before that fsync ends, and its own commit starts the moment it does.

use crate::durable::{self, Committed};
use crate::{BatchConfig, BatchError, Counters, Msg};
use rusqlite::Connection;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use tokio::sync::oneshot;

/// One queued operation, type-erased: run it, then answer its caller with the batch's fate.
pub(crate) trait Job: Send {
    /// Runs the operation; true when it succeeded (its savepoint is kept).
    fn run(&mut self, conn: &Connection) -> bool;
    /// Sends the answer: the operation's own result, or `failed` when the batch did not commit.
    fn answer(self: Box<Self>, failed: Option<BatchError>);
}

pub(crate) struct Pending<F, T, E> {
    pub op: Option<F>,
    pub result: Option<Result<T, E>>,
    pub reply: oneshot::Sender<Result<T, E>>,
}

impl<F, T, E> Job for Pending<F, T, E>
where
    F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<BatchError> + Send + 'static,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(op) = self.op.take() else { return false };
        let result = op(conn);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn answer(self: Box<Self>, failed: Option<BatchError>) {
        let answer = match (self.result, failed) {
            // A failed operation changed nothing whatever happened to the batch: its own error
            // is the most precise answer.
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(v)), None) => Ok(v),
            (_, Some(batch)) => Err(E::from(batch)),
            (None, None) => Err(E::from(BatchError::Closed)),
        };
        // The caller may have gone away; the outcome stands either way.
        let _ = self.reply.send(answer);
    }
}

pub(crate) fn run_writer(conn: Connection, rx: flume::Receiver<Msg>, config: BatchConfig, counters: Arc<Counters>) {
    let max = config.max_ops.max(1);
    let answerer = durable::answerer(&conn, counters.synced.clone());
    let mut closing = None;
    while closing.is_none() {
        let first = match rx.recv() {
            Ok(Msg::Op(job)) => job,
            Ok(Msg::Close(done)) => {
                closing = Some(done);
                break;
            }
            Err(_) => break,
        };
        let mut batch = Batch::begin(&conn);
        batch.run(first);
        // The transaction stays open while operations are queued and while the syncer is
        // still making the previous commit durable: its answers could not come sooner anyway,
        // and every operation taken in meanwhile shares this COMMIT and its fsync.
        while closing.is_none() && batch.jobs.len() < max && batch.error.is_none() {
            let next = match rx.try_recv() {
                Ok(msg) => msg,
                Err(flume::TryRecvError::Disconnected) => break,
                Err(flume::TryRecvError::Empty) => match answerer.wait_for_syncer(&rx) {
                    Wake::SyncerIdle => break,
                    Wake::Queue(Ok(msg)) => msg,
                    Wake::Queue(Err(_)) => break,
                },
            };
            match next {
                Msg::Op(job) => batch.run(job),
                Msg::Close(done) => closing = Some(done),
            }
        }
        counters.batches.fetch_add(1, Relaxed);
        counters.ops.fetch_add(batch.jobs.len() as u64, Relaxed);
        answerer.answer(batch.commit());
    }
    answerer.finish();
    drop(rx);
    if let Err((_, e)) = conn.close() {
        tracing::warn!(error = %e, "closing the SQLite writer connection failed");
    }
    if let Some(done) = closing {
        let _ = done.send(());
    }
}

/// What woke a writer waiting with an open transaction.
pub(crate) enum Wake {
    /// Nothing is waiting to be made durable: commit now.
    SyncerIdle,
    /// The queue answered: an operation, a close, or the news that every sender is gone.
    Queue(Result<Msg, flume::RecvError>),
}

/// One open transaction and the operations run in it so far.
struct Batch<'c> {
    conn: &'c Connection,
    jobs: Vec<Box<dyn Job>>,
    /// Why the transaction cannot commit (BEGIN, a savepoint, or ROLLBACK TO failed); the
    /// operations after it are not run.
    error: Option<rusqlite::Error>,
}

impl<'c> Batch<'c> {
    fn begin(conn: &'c Connection) -> Batch<'c> {
        Batch { conn, jobs: Vec::with_capacity(16), error: exec(conn, "BEGIN IMMEDIATE").err() }
    }

    /// Runs `job` in a savepoint of its own, rolled back when the job fails.
    fn run(&mut self, mut job: Box<dyn Job>) {
        if self.error.is_none()
            && let Err(e) = in_savepoint(self.conn, &mut job)
        {
            self.error = Some(e);
        }
        self.jobs.push(job);
    }

    fn commit(self) -> Committed {
        let result = match self.error {
            None => exec(self.conn, "COMMIT"),
            Some(e) => Err(e),
        };
        let failed = result.err().map(|e| {
            tracing::error!(error = %e, ops = self.jobs.len(), "a write batch failed and was rolled back");
            // Fails harmlessly when SQLite already rolled back (or BEGIN never happened).
            let _ = self.conn.execute_batch("ROLLBACK");
            BatchError::NotCommitted(Arc::new(e))
        });
        Committed { jobs: self.jobs, failed }
    }
}

fn in_savepoint(conn: &Connection, job: &mut Box<dyn Job>) -> rusqlite::Result<()> {
    exec(conn, "SAVEPOINT op")?;
    // ROLLBACK TO fails when SQLite rolled the whole transaction back on its own (I/O error,
    // full disk …): then the batch as a whole fails, as it must.
    if !job.run(conn) {
        exec(conn, "ROLLBACK TO op")?;
    }
    exec(conn, "RELEASE op")
}

fn exec(conn: &Connection, sql: &'static str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}
