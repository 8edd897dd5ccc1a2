//! Upgrading a database made before migration 0009, which rebuilt `tickets` in sale order:
//! the tickets keep their ids and everything else, what refers to them still does, and
//! tickets sold afterwards come after them in the table.

use admit_domain::TicketId;
use admit_store::{SqliteStore, Store};
use rusqlite::{Connection, OptionalExtension};
use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use std::path::Path;

/// A database at migration 0008 (as the release before 0009 left it), with two tickets sold
/// at the same moment, the one inserted first with the larger id, and the other bound to a
/// phone and inspected once.
async fn database_before_the_rebuild(dir: &Path) -> std::path::PathBuf {
    let old = dir.join("migrations_up_to_0008");
    std::fs::create_dir(&old).unwrap();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.as_str() < "0009" {
            std::fs::copy(&path, old.join(&name)).unwrap();
        }
    }
    let db = dir.join("admit.db");
    let options = SqliteConnectOptions::new().filename(&db).create_if_missing(true);
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    sqlx::migrate::Migrator::new(old.as_path()).await.unwrap().run(&mut conn).await.unwrap();
    conn.close().await.unwrap();

    let c = Connection::open(&db).unwrap();
    c.execute_batch(
        "PRAGMA foreign_keys = ON;
         INSERT INTO organisers (id, name) VALUES (1, 'Org');
         INSERT INTO venues (id, organiser_id, name, city, latitude, longitude) VALUES (1, 1, 'Hall', 'Town', 0, 0);
         INSERT INTO events (id, organiser_id, venue_id, name, kind, description, currency, key_id, signing_secret,
                             public_key, inspection_key)
             VALUES (1, 1, 1, 'Show', 'concert', '', 'EUR', 1, x'00', x'00', x'00');
         INSERT INTO grades (id, event_id, code, name, seating, price_minor, max_entries)
             VALUES (1, 1, 'GA', 'Standing', 'general_admission', 2500, 1);
         INSERT INTO sessions (id, event_id, label, starts_at, ends_at, doors_at) VALUES (1, 1, 'Night', 2000, 3000, 1000);
         INSERT INTO holds (id, session_id, state, created_at, expires_at, total_minor, currency)
             VALUES ('h1', 1, 'converted', 10, 20, 5000, 'EUR');
         INSERT INTO payments (id, hold_id, gateway, amount_minor, currency, method, state, created_at, updated_at)
             VALUES ('p1', 'h1', 'simulator', 5000, 'EUR', 'card', 'approved', 11, 12);
         INSERT INTO orders (id, hold_id, payment_id, session_id, state, total_minor, currency, created_at)
             VALUES ('o1', 'h1', 'p1', 1, 'paid', 5000, 'EUR', 12);
         INSERT INTO tickets (id, order_id, session_id, grade_id, reference, version, status, max_entries, price_minor,
                              credential, inspection_code, created_at)
             VALUES (9000000000000000001, 'o1', 1, 1, 'T-LATER', 1, 'valid', 1, 2500, 'cred-a', 'code-a', 12),
                    (77, 'o1', 1, 1, 'T-SMALL', 2, 'valid', 1, 2500, 'cred-b', 'code-b', 12);
         INSERT INTO device_bindings (ticket_id, new_algorithm, new_key, from_version, to_version, at)
             VALUES (77, 'Ed25519', x'01', 1, 2, 13);
         INSERT INTO inspections (ticket_id, ticket_version, session_hash, at, verdict) VALUES (77, 2, x'02', 14, 'admit');",
    )
    .unwrap();
    db
}

#[tokio::test]
async fn tickets_sold_before_the_rebuild_keep_their_ids_and_what_refers_to_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = database_before_the_rebuild(dir.path()).await;

    let store = SqliteStore::open(&db).await.expect("the upgrade applies");

    let small = store.ticket(TicketId(77)).await.unwrap();
    assert_eq!((small.reference.as_str(), small.version, small.credential.as_str()), ("T-SMALL", 2, "cred-b"));
    let large = store.ticket(TicketId(9000000000000000001)).await.unwrap();
    assert_eq!(large.reference, "T-LATER");
    store.close().await;

    let c = Connection::open(&db).unwrap();
    let refs: (i64, i64) = c
        .query_row("SELECT (SELECT ticket_id FROM device_bindings), (SELECT ticket_id FROM inspections)", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(refs, (77, 77), "the binding and the inspection still name their ticket");
    let dangling: Option<String> = c.query_row("PRAGMA foreign_key_check", [], |r| r.get(0)).optional().unwrap();
    assert_eq!(dangling, None, "every reference holds");
    let schema: String =
        c.query_row("SELECT sql FROM sqlite_master WHERE name = 'device_bindings'", [], |r| r.get(0)).unwrap();
    assert!(schema.contains("REFERENCES tickets(id)"), "{schema}");
    // Rows in the order they were sold (same time: by id), keyed by a growing sequence; a
    // ticket sold afterwards comes after them, whatever its id.
    c.execute(
        "INSERT INTO tickets (id, order_id, session_id, grade_id, reference, version, status, max_entries, price_minor,
                              credential, inspection_code, created_at)
         VALUES (5, 'o1', 1, 1, 'T-AFTER', 1, 'valid', 1, 2500, 'cred-c', 'code-c', 15)",
        [],
    )
    .unwrap();
    let order: Vec<i64> = c
        .prepare("SELECT id FROM tickets ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(order, [77, 9000000000000000001, 5]);
}

#[tokio::test]
async fn a_ticket_whose_order_is_missing_stops_the_store_from_opening() {
    let dir = tempfile::tempdir().unwrap();
    let db = database_before_the_rebuild(dir.path()).await;
    let c = Connection::open(&db).unwrap();
    c.execute_batch("PRAGMA foreign_keys = OFF; DELETE FROM orders;").unwrap();
    drop(c);

    let refused = SqliteStore::open(&db).await.err().expect("a dangling reference is refused");
    assert!(refused.to_string().contains("a row of tickets whose orders row is missing"), "{refused}");
}
