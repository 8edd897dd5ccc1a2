//! The writer's promises, proven on a real database file: one transaction per batch, a failed
//! operation changes nothing and spares its neighbours, a failed COMMIT fails the whole batch,
//! and a closed writer refuses work.

use admit_sqlite_batch::rusqlite::{self, Connection};
use admit_sqlite_batch::{BatchConfig, BatchError, BatchStats, Readers, Writer};
use std::time::Duration;
use tokio::sync::oneshot;

#[derive(Debug, thiserror::Error)]
enum TestError {
    #[error("refused by the operation")]
    Refused,
    #[error(transparent)]
    Batch(#[from] BatchError),
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
}

fn writer(dir: &tempfile::TempDir) -> Writer {
    let conn = Connection::open(dir.path().join("batch.db")).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
         CREATE TABLE rows (id INTEGER PRIMARY KEY);
         CREATE TABLE parents (id INTEGER PRIMARY KEY);
         CREATE TABLE children (id INTEGER PRIMARY KEY,
                                parent_id INTEGER REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED);",
    )
    .unwrap();
    Writer::spawn(conn, BatchConfig::default()).unwrap()
}

async fn insert_row(w: &Writer, id: i64, then_fail: bool) -> Result<i64, TestError> {
    w.run(move |c| {
        c.execute("INSERT INTO rows (id) VALUES (?)", [id])?;
        if then_fail {
            return Err(TestError::Refused);
        }
        Ok(id)
    })
    .await
}

fn ids(c: &Connection) -> Result<Vec<i64>, TestError> {
    let mut stmt = c.prepare("SELECT id FROM rows ORDER BY id")?;
    let ids = stmt.query_map([], |r| r.get(0))?.collect::<Result<Vec<i64>, _>>()?;
    Ok(ids)
}

async fn row_ids(w: &Writer) -> Vec<i64> {
    w.run(ids).await.unwrap()
}

/// Occupies the writer until the returned sender fires, so that what is submitted meanwhile
/// joins the blocking operation's transaction: one batch. The task answers the blocking
/// operation's fate, which is that batch's.
async fn block_writer(w: &Writer) -> (oneshot::Sender<()>, tokio::task::JoinHandle<Result<(), TestError>>) {
    let (release, released) = oneshot::channel::<()>();
    let (started_tx, started) = oneshot::channel::<()>();
    let w2 = w.clone();
    let task = tokio::spawn(async move {
        w2.run(move |_| {
            let _ = started_tx.send(());
            // The writer runs on a thread of its own, so the operation may block it.
            let _ = released.blocking_recv();
            Ok::<_, TestError>(())
        })
        .await
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
    let w = writer(&dir);
    let (release, blocker) = block_writer(&w).await;

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
    blocker.await.unwrap().unwrap();
    let mut answers = Vec::new();
    for op in ops {
        answers.push(op.await.unwrap());
    }

    let s = w.stats();
    assert_eq!((s.batches, s.ops), (1, 51), "the fifty operations ran in the blocking operation's transaction");
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
    let w = writer(&dir);
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
                c.execute("INSERT INTO children (id, parent_id) VALUES (1, 999)", [])?;
                Ok::<_, TestError>(())
            })
            .await
        }
    }));
    wait_until_queued(&w, 11).await;
    release.send(()).unwrap();
    ops.push(blocker);

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
    let w = writer(&dir);
    insert_row(&w, 1, false).await.unwrap();

    w.close().await;

    assert!(matches!(insert_row(&w, 2, false).await, Err(TestError::Batch(BatchError::Closed))));
    assert_eq!(w.stats(), BatchStats { batches: 1, ops: 1, synced: 1 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_see_what_the_writer_committed_and_answer_many_callers_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let w = writer(&dir);
    for id in 1..=3 {
        insert_row(&w, id, false).await.unwrap();
    }
    let conns = (0..2).map(|_| Connection::open(dir.path().join("batch.db")).unwrap()).collect();
    let readers = Readers::spawn(conns).unwrap();
    let reads: Vec<_> = (0..20)
        .map(|_| {
            let readers = readers.clone();
            tokio::spawn(async move { readers.run(ids).await })
        })
        .collect();
    for read in reads {
        assert_eq!(read.await.unwrap().unwrap(), [1, 2, 3]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answered_write_of_a_wal_file_was_fsynced_before_its_answer() {
    let dir = tempfile::tempdir().unwrap();
    let w = writer(&dir);
    let ops: Vec<_> = (1..=200)
        .map(|id| {
            let w = w.clone();
            tokio::spawn(async move {
                insert_row(&w, id, false).await.unwrap();
                // Batches are answered in commit order, each after the fsync that covers it:
                // when this answer arrives, the syncer has counted this batch (and so every
                // earlier one) as durable.
                let s = w.stats();
                (s.synced, s.batches)
            })
        })
        .collect();
    for op in ops {
        let (synced, batches) = op.await.unwrap();
        assert!(synced >= 1 && synced <= batches, "synced {synced} of {batches} batches");
    }
    let s = w.stats();
    assert_eq!((s.ops, s.synced), (200, s.batches), "every committed batch was fsynced by the syncer");
    let mode: String = {
        let c = Connection::open(dir.path().join("batch.db")).unwrap();
        c.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap()
    };
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn an_in_memory_database_answers_after_commit_without_a_syncer() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("CREATE TABLE rows (id INTEGER PRIMARY KEY);").unwrap();
    let w = Writer::spawn(conn, BatchConfig::default()).unwrap();
    assert_eq!(insert_row(&w, 1, false).await.unwrap(), 1);
    assert_eq!(row_ids(&w).await, [1]);
    assert_eq!(w.stats(), BatchStats { batches: 2, ops: 2, synced: 0 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolled_back_batch_is_answered_in_order_with_the_durable_ones() {
    let dir = tempfile::tempdir().unwrap();
    let w = writer(&dir);
    insert_row(&w, 1, false).await.unwrap();
    let failed = w
        .run(|c| {
            c.execute("INSERT INTO children (id, parent_id) VALUES (1, 999)", [])?;
            Ok::<_, TestError>(())
        })
        .await;
    assert!(matches!(failed, Err(TestError::Batch(BatchError::NotCommitted(_)))), "{failed:?}");
    insert_row(&w, 2, false).await.unwrap();
    let s = w.stats();
    assert_eq!((s.batches, s.synced), (3, 2), "the rolled-back batch needed no fsync");
}
