//! The writer task: forms batches from the queue and runs each as one transaction with one
//! savepoint per operation, answering callers only after the COMMIT.

use crate::{BatchConfig, BatchError, BoxFuture, Counters, Msg};
use sqlx::SqliteConnection;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, timeout_at};

/// One queued operation, type-erased: run it, then answer its caller with the batch's fate.
pub(crate) trait Job: Send {
    /// Runs the operation; true when it succeeded (its savepoint is kept).
    fn run<'a>(&'a mut self, conn: &'a mut SqliteConnection) -> BoxFuture<'a, bool>;
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
    F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: From<BatchError> + Send + 'static,
{
    fn run<'a>(&'a mut self, conn: &'a mut SqliteConnection) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            let Some(op) = self.op.take() else { return false };
            let result = op(conn).await;
            let ok = result.is_ok();
            self.result = Some(result);
            ok
        })
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

pub(crate) async fn run_writer(
    mut conn: SqliteConnection,
    mut rx: mpsc::Receiver<Msg>,
    config: BatchConfig,
    counters: Arc<Counters>,
) {
    let max = config.max_ops.max(1);
    let mut closing = None;
    while closing.is_none() {
        let mut jobs: Vec<Box<dyn Job>> = Vec::with_capacity(max);
        match rx.recv().await {
            Some(Msg::Op(job)) => jobs.push(job),
            Some(Msg::Close(done)) => closing = Some(done),
            None => break,
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
                match timeout_at(deadline, rx.recv()).await {
                    Ok(Some(Msg::Op(job))) => jobs.push(job),
                    Ok(Some(Msg::Close(done))) => closing = Some(done),
                    Ok(None) | Err(_) => break,
                }
            }
        }
        if !jobs.is_empty() {
            counters.batches.fetch_add(1, Relaxed);
            counters.ops.fetch_add(jobs.len() as u64, Relaxed);
            run_batch(&mut conn, jobs).await;
        }
    }
    rx.close();
    if let Err(e) = sqlx::Connection::close(conn).await {
        tracing::warn!(error = %e, "closing the SQLite writer connection failed");
    }
    if let Some(done) = closing {
        let _ = done.send(());
    }
}

async fn run_batch(conn: &mut SqliteConnection, mut jobs: Vec<Box<dyn Job>>) {
    let failed = match in_transaction(conn, &mut jobs).await {
        Ok(()) => None,
        Err(e) => {
            tracing::error!(error = %e, ops = jobs.len(), "a write batch failed and was rolled back");
            // Fails harmlessly when SQLite already rolled back (or BEGIN never happened).
            let _ = exec(conn, "ROLLBACK").await;
            Some(BatchError::NotCommitted(Arc::new(e)))
        }
    };
    for job in jobs {
        job.answer(failed.clone());
    }
}

async fn in_transaction(conn: &mut SqliteConnection, jobs: &mut [Box<dyn Job>]) -> Result<(), sqlx::Error> {
    // Each step below is one round trip to the connection's worker thread, however many
    // statements it holds: between two operations, ending one savepoint and opening the next.
    exec(conn, "BEGIN IMMEDIATE; SAVEPOINT op").await?;
    let last = jobs.len().saturating_sub(1);
    for (i, job) in jobs.iter_mut().enumerate() {
        let ok = job.run(conn).await;
        // ROLLBACK TO fails when SQLite rolled the whole transaction back on its own (I/O
        // error, full disk …): then the batch as a whole fails, as it must.
        exec(
            conn,
            match (ok, i == last) {
                (true, false) => "RELEASE op; SAVEPOINT op",
                (false, false) => "ROLLBACK TO op; RELEASE op; SAVEPOINT op",
                (true, true) => "RELEASE op; COMMIT",
                (false, true) => "ROLLBACK TO op; RELEASE op; COMMIT",
            },
        )
        .await?;
    }
    Ok(())
}

async fn exec(conn: &mut SqliteConnection, sql: &'static str) -> Result<(), sqlx::Error> {
    sqlx::query(sql).execute(conn).await.map(drop)
}
