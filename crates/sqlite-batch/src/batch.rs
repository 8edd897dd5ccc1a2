//! The writer thread: forms batches from the queue and runs each as one transaction with one
//! savepoint per operation, answering callers only after the COMMIT is durable (directly, or
//! through the syncer thread: `durable.rs`).

use crate::durable::{self, Committed};
use crate::{BatchConfig, BatchError, Counters, Msg};
use rusqlite::Connection;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;
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
        let mut jobs: Vec<Box<dyn Job>> = Vec::with_capacity(16);
        match rx.recv() {
            Ok(Msg::Op(job)) => jobs.push(job),
            Ok(Msg::Close(done)) => closing = Some(done),
            Err(_) => break,
        }
        while closing.is_none() && jobs.len() < max {
            match rx.try_recv() {
                Ok(Msg::Op(job)) => jobs.push(job),
                Ok(Msg::Close(done)) => closing = Some(done),
                Err(_) => break,
            }
        }
        if jobs.len() > 1 && !config.linger.is_zero() {
            let deadline = Instant::now() + config.linger;
            while closing.is_none() && jobs.len() < max {
                match rx.recv_deadline(deadline) {
                    Ok(Msg::Op(job)) => jobs.push(job),
                    Ok(Msg::Close(done)) => closing = Some(done),
                    Err(_) => break,
                }
            }
        }
        if !jobs.is_empty() {
            counters.batches.fetch_add(1, Relaxed);
            counters.ops.fetch_add(jobs.len() as u64, Relaxed);
            answerer.answer(run_batch(&conn, jobs));
        }
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

fn run_batch(conn: &Connection, mut jobs: Vec<Box<dyn Job>>) -> Committed {
    let failed = match in_transaction(conn, &mut jobs) {
        Ok(()) => None,
        Err(e) => {
            tracing::error!(error = %e, ops = jobs.len(), "a write batch failed and was rolled back");
            // Fails harmlessly when SQLite already rolled back (or BEGIN never happened).
            let _ = conn.execute_batch("ROLLBACK");
            Some(BatchError::NotCommitted(Arc::new(e)))
        }
    };
    Committed { jobs, failed }
}

fn in_transaction(conn: &Connection, jobs: &mut [Box<dyn Job>]) -> rusqlite::Result<()> {
    exec(conn, "BEGIN IMMEDIATE")?;
    for job in jobs.iter_mut() {
        exec(conn, "SAVEPOINT op")?;
        let ok = job.run(conn);
        // ROLLBACK TO fails when SQLite rolled the whole transaction back on its own (I/O
        // error, full disk …): then the batch as a whole fails, as it must.
        if !ok {
            exec(conn, "ROLLBACK TO op")?;
        }
        exec(conn, "RELEASE op")?;
    }
    exec(conn, "COMMIT")
}

fn exec(conn: &Connection, sql: &'static str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}
