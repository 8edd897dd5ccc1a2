//! Read-only work on a few threads, each owning one SQLite connection: an async caller hands
//! a closure over and awaits its answer, one hand-off per operation however many statements
//! it runs. In WAL mode readers never wait for the writer.

use crate::BatchError;
use rusqlite::Connection;
use tokio::sync::oneshot;

type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// Handle to the reader threads. Cheap to clone; the threads end when every handle is gone.
#[derive(Clone)]
pub struct Readers {
    queue: flume::Sender<ReadJob>,
}

impl Readers {
    /// Starts one thread per connection.
    pub fn spawn(conns: Vec<Connection>) -> std::io::Result<Readers> {
        let (queue, rx) = flume::unbounded::<ReadJob>();
        for (i, conn) in conns.into_iter().enumerate() {
            let rx = rx.clone();
            std::thread::Builder::new().name(format!("sqlite-reader-{i}")).spawn(move || {
                for job in rx.iter() {
                    job(&conn);
                }
            })?;
        }
        Ok(Readers { queue })
    }

    /// Runs `op` on the next free reader connection.
    pub async fn run<T, E, F>(&self, op: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<BatchError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: ReadJob = Box::new(move |conn| {
            let _ = reply.send(op(conn));
        });
        self.queue.send(job).map_err(|_| E::from(BatchError::Closed))?;
        answer.await.unwrap_or_else(|_| Err(E::from(BatchError::Closed)))
    }
}
