//! The writer's promises, proven on a real database file: one transaction per batch, a failed
//! operation changes nothing and spares its neighbours, a failed COMMIT fails the whole batch,
//! and a closed writer refuses work.

use admit_sqlite_batch::{BatchConfig, BatchError, BatchStats, Writer};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection};
use std::time::Duration;
use tokio::sync::oneshot;

#[derive(Debug, thiserror::Error)]
enum TestError {
    #[error("refused by the operation")]
    Refused,
    #[error(transparent)]
    Batch(#[from] BatchError),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

async fn writer(dir: &tempfile::TempDir) -> Writer {
    let options = SqliteConnectOptions::new()
        .filename(dir.path().join("batch.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true);
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    for ddl in [
        "CREATE TABLE rows (id INTEGER PRIMARY KEY)",
        "CREATE TABLE parents (id INTEGER PRIMARY KEY)",
        "CREATE TABLE children (id INTEGER PRIMARY KEY,
                                parent_id INTEGER REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)",
    ] {
        sqlx::query(ddl).execute(&mut conn).await.unwrap();
    }
    Writer::spawn(conn, BatchConfig::default())
}

async fn insert_row(w: &Writer, id: i64, then_fail: bool) -> Result<i64, TestError> {
    w.run(move |c| {
        Box::pin(async move {
            sqlx::query("INSERT INTO rows (id) VALUES (?)").bind(id).execute(&mut *c).await?;
            if then_fail {
                return Err(TestError::Refused);
            }
            Ok(id)
        })
    })
    .await
}

async fn row_ids(w: &Writer) -> Vec<i64> {
    w.run(|c| {
        Box::pin(async move {
            Ok::<_, TestError>(sqlx::query_scalar("SELECT id FROM rows ORDER BY id").fetch_all(c).await?)
        })
    })
    .await
    .unwrap()
}

/// Occupies the writer until the returned sender fires, so that what is submitted meanwhile
/// forms exactly one batch.
async fn block_writer(w: &Writer) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (release, released) = oneshot::channel::<()>();
    let (started_tx, started) = oneshot::channel::<()>();
    let w2 = w.clone();
    let task = tokio::spawn(async move {
        w2.run(move |_| {
            Box::pin(async move {
                let _ = started_tx.send(());
                let _ = released.await;
                Ok::<_, TestError>(())
            })
        })
        .await
        .unwrap()
    });
    started.await.unwrap();
    (release, task)
}

async fn wait_until_queued(w: &Writer, n: usize) {
    for _ in 0..1000 {
        if w.waiting() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("only {} of {n} operations were queued", w.waiting());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_failing_operation_in_a_batch_changes_nothing_and_its_neighbours_commit() {
    let dir = tempfile::tempdir().unwrap();
    let w = writer(&dir).await;
    let (release, blocker) = block_writer(&w).await;
    let before = w.stats();

    let ops: Vec<_> = (1..=50)
        .map(|id| {
            tokio::spawn({
                let w = w.clone();
                async move { insert_row(&w, id, id == 25).await }
            })
        })
        .collect();
    wait_until_queued(&w, 50).await;
    release.send(()).unwrap();
    blocker.await.unwrap();
    let mut answers = Vec::new();
    for op in ops {
        answers.push(op.await.unwrap());
    }

    let after = w.stats();
    assert_eq!(
        (after.batches - before.batches, after.ops - before.ops),
        (1, 50),
        "the fifty operations ran as one transaction"
    );
    for (i, answer) in answers.iter().enumerate() {
        match (i + 1, answer) {
            (25, Err(TestError::Refused)) => {}
            (id, Ok(got)) if id != 25 => assert_eq!(*got, id as i64),
            (id, other) => panic!("operation {id} answered {other:?}"),
        }
    }
    let expected: Vec<i64> = (1..=50).filter(|id| *id != 25).collect();
    assert_eq!(row_ids(&w).await, expected, "the failed operation's insert was rolled back, and only it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_fails_every_operation_of_the_batch_and_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let w = writer(&dir).await;
    let (release, blocker) = block_writer(&w).await;

    let mut ops: Vec<_> = (1..=10)
        .map(|id| {
            tokio::spawn({
                let w = w.clone();
                async move { insert_row(&w, id, false).await.map(drop) }
            })
        })
        .collect();
    // A deferred foreign key passes every statement and fails only at COMMIT.
    ops.push(tokio::spawn({
        let w = w.clone();
        async move {
            w.run(|c| {
                Box::pin(async move {
                    sqlx::query("INSERT INTO children (id, parent_id) VALUES (1, 999)").execute(c).await?;
                    Ok::<_, TestError>(())
                })
            })
            .await
        }
    }));
    wait_until_queued(&w, 11).await;
    release.send(()).unwrap();
    blocker.await.unwrap();

    for op in ops {
        let answer = op.await.unwrap();
        assert!(matches!(answer, Err(TestError::Batch(BatchError::NotCommitted(_)))), "{answer:?}");
    }
    assert_eq!(row_ids(&w).await, Vec::<i64>::new(), "nothing of the failed batch was kept");
    assert_eq!(insert_row(&w, 7, false).await.unwrap(), 7, "the next batch commits normally");
    assert_eq!(row_ids(&w).await, [7]);
}

#[tokio::test]
async fn a_closed_writer_refuses_new_operations() {
    let dir = tempfile::tempdir().unwrap();
    let w = writer(&dir).await;
    insert_row(&w, 1, false).await.unwrap();

    w.close().await;

    assert!(matches!(insert_row(&w, 2, false).await, Err(TestError::Batch(BatchError::Closed))));
    assert_eq!(w.stats(), BatchStats { batches: 1, ops: 1 });
}
