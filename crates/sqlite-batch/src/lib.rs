//! Group commit for one SQLite writer connection, and a pool of reader threads.
//!
//! SQLite allows one writer at a time, and with `synchronous=FULL` every COMMIT waits for an
//! fsync, so one commit per operation caps a store at a few thousand writes per second. A
//! [`Writer`] owns the single writer connection on a thread of its own. Callers submit each
//! write operation as a closure over `&rusqlite::Connection`; the thread runs everything
//! queued, and everything that arrives while the previous commit is being fsynced (up to
//! [`BatchConfig::max_ops`]), inside ONE `BEGIN IMMEDIATE … COMMIT`,
//! wraps each operation in a `SAVEPOINT` (rolled back when the operation returns an error, so
//! a failed operation changes nothing and does not disturb its neighbours), and answers every
//! caller only once the COMMIT is on stable storage. For a WAL database in a file the fsync
//! is pipelined: the writer commits with `synchronous=NORMAL` and goes on with the next batch
//! while a syncer thread fsyncs the WAL and then answers (`durable.rs`); otherwise the answer
//! comes after COMMIT, as durable as the connection's `synchronous` setting makes it.
//!
//! Operations run synchronously on the writer's thread: a batch costs one hand-off from the
//! async caller and back, however many statements it runs (an async driver that hops to a
//! worker thread per statement spends most of its time switching threads).
//!
//! An operation must not open transactions of its own (the batch is the transaction), must not
//! wait on anything outside the database (it would stall every other write), and should read
//! what it needs to answer inside the same closure, so it sees its own write.
//!
//! [`Readers`] runs read-only closures on a few threads, each owning a connection of its own.

mod batch;
mod durable;
mod readers;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

pub use readers::Readers;
pub use rusqlite;
use rusqlite::Connection;
use tokio::sync::oneshot;

use batch::Job;

/// Why an operation got no answer of its own.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BatchError {
    /// The batch's transaction failed (BEGIN, a savepoint, or COMMIT): nothing of the batch
    /// was committed, including this operation.
    #[error("the write batch was not committed: {0}")]
    NotCommitted(#[source] Arc<rusqlite::Error>),
    /// The batch was committed but fsyncing the WAL failed: whether it survives a power loss
    /// is unknown, and so is every later batch's (the writer acknowledges nothing more).
    #[error("the write batch could not be made durable: {0}")]
    NotDurable(#[source] Arc<std::io::Error>),
    /// The writer (or reader pool) was closed, or its thread stopped, before it answered.
    #[error("the SQLite connection is closed")]
    Closed,
}

/// How batches are formed.
#[derive(Debug, Clone, Copy)]
pub struct BatchConfig {
    /// Most operations in one transaction.
    pub max_ops: usize,
    /// Operations that may wait for the writer before submitters are slowed down.
    pub queue: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig { max_ops: 256, queue: 8192 }
    }
}

/// Counters since the writer started: how many transactions, how many operations.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchStats {
    pub batches: u64,
    pub ops: u64,
    /// Committed batches made durable by the syncer thread (zero when commits fsync
    /// themselves: in-memory or rollback-journal databases).
    pub synced: u64,
}

#[derive(Default)]
struct Counters {
    batches: AtomicU64,
    ops: AtomicU64,
    synced: Arc<AtomicU64>,
}

enum Msg {
    Op(Box<dyn Job>),
    Close(oneshot::Sender<()>),
}

/// Handle to the thread that owns the writer connection. Cheap to clone.
#[derive(Clone)]
pub struct Writer {
    queue: flume::Sender<Msg>,
    counters: Arc<Counters>,
}

impl Writer {
    /// Starts the writer thread; it owns `conn` from now on.
    pub fn spawn(conn: Connection, config: BatchConfig) -> std::io::Result<Writer> {
        let (queue, rx) = flume::bounded(config.queue.max(1));
        let counters = Arc::new(Counters::default());
        let c = counters.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || batch::run_writer(conn, rx, config, c))?;
        Ok(Writer { queue, counters })
    }

    /// Runs `op` in the next batch and returns its result once the batch has committed. An
    /// `Err` from `op` rolls back everything `op` did (and only that).
    pub async fn run<T, E, F>(&self, op: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<BatchError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = batch::Pending { op: Some(op), result: None, reply };
        self.queue.send_async(Msg::Op(Box::new(job))).await.map_err(|_| E::from(BatchError::Closed))?;
        answer.await.unwrap_or_else(|_| Err(E::from(BatchError::Closed)))
    }

    /// Transactions and operations committed or attempted so far.
    pub fn stats(&self) -> BatchStats {
        BatchStats {
            batches: self.counters.batches.load(Relaxed),
            ops: self.counters.ops.load(Relaxed),
            synced: self.counters.synced.load(Relaxed),
        }
    }

    /// Operations queued and not yet taken into a batch.
    pub fn waiting(&self) -> usize {
        self.queue.len()
    }

    /// Finishes the batch in progress, then closes the connection. Operations submitted
    /// afterwards fail with [`BatchError::Closed`].
    pub async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.queue.send_async(Msg::Close(done)).await.is_ok() {
            let _ = closed.await;
        }
    }
}
