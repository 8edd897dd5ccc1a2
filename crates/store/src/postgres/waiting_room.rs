//! The on-sale waiting room on PostgreSQL: the same operations as the SQLite module, with the
//! room's row locked (`FOR UPDATE`) in every write so nodes take places one at a time.
//!
//! The admission arithmetic lives in `admit_domain::waiting_room`; this module only stores its
//! state. Reading a place is a plain read unless something must be recorded (the draw at
//! opening, or the first moment a buyer is seen admitted).

use crate::model::*;
use crate::queue::{self, EntryRow};
use crate::rows::i64_at;
use crate::{StoreError, StoreResult};
use admit_domain::EventId;
use admit_domain::waiting_room::Admission;
use sqlx::{PgConnection, Row};

pub async fn set(
    conn: &mut PgConnection,
    event: EventId,
    config: Option<WaitingRoomConfig>,
    now_ms: i64,
) -> StoreResult<()> {
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT id FROM events WHERE id = $1").bind(event.0).fetch_optional(&mut *conn).await?;
    exists.ok_or(StoreError::NotFound("event"))?;
    let Some(config) = config else {
        sqlx::query("DELETE FROM queue_entries WHERE event_id = $1").bind(event.0).execute(&mut *conn).await?;
        sqlx::query("DELETE FROM waiting_rooms WHERE event_id = $1").bind(event.0).execute(&mut *conn).await?;
        return Ok(());
    };
    if config.admit_per_minute == 0 || config.pass_ttl_ms < 1_000 {
        return Err(StoreError::Invalid("admit at least one buyer a minute, for at least a second".into()));
    }
    let room = match load_for_update(conn, event).await? {
        Some(mut room) => {
            room.admission.set_rate(config.admit_per_minute, now_ms);
            if !room.admission.drawn {
                room.admission.opens_at_ms = config.opens_at_ms;
                room.admission.frontier_at_ms = config.opens_at_ms;
            }
            room.pass_ttl_ms = config.pass_ttl_ms;
            room
        }
        None => {
            sqlx::query("INSERT INTO waiting_rooms (event_id, opens_at, admit_per_minute, pass_ttl_ms, frontier_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(event.0)
                .bind(config.opens_at_ms)
                .bind(i64::from(config.admit_per_minute))
                .bind(config.pass_ttl_ms)
                .bind(config.opens_at_ms)
                .execute(&mut *conn)
                .await?;
            return Ok(());
        }
    };
    save(conn, &room).await
}

pub async fn load(conn: &mut PgConnection, event: EventId) -> StoreResult<Option<WaitingRoom>> {
    load_with(conn, event, "").await
}

/// Loads the room and locks its row until the transaction ends.
async fn load_for_update(conn: &mut PgConnection, event: EventId) -> StoreResult<Option<WaitingRoom>> {
    load_with(conn, event, " FOR UPDATE").await
}

async fn load_with(conn: &mut PgConnection, event: EventId, lock: &str) -> StoreResult<Option<WaitingRoom>> {
    let sql = format!(
        "SELECT opens_at, admit_per_minute, pass_ttl_ms, drawn, next_seq, frontier, frontier_at
         FROM waiting_rooms WHERE event_id = $1{lock}"
    );
    let row = sqlx::query(&sql).bind(event.0).fetch_optional(&mut *conn).await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(WaitingRoom {
        event_id: event,
        pass_ttl_ms: i64_at(&r, "pass_ttl_ms")?,
        admission: Admission {
            opens_at_ms: i64_at(&r, "opens_at")?,
            per_minute: i64_at(&r, "admit_per_minute")? as u32,
            drawn: r.try_get::<bool, _>("drawn")?,
            next_seq: i64_at(&r, "next_seq")?,
            frontier: i64_at(&r, "frontier")?,
            frontier_at_ms: i64_at(&r, "frontier_at")?,
        },
    }))
}

async fn save(conn: &mut PgConnection, room: &WaitingRoom) -> StoreResult<()> {
    let a = &room.admission;
    sqlx::query(
        "UPDATE waiting_rooms SET opens_at = $1, admit_per_minute = $2, pass_ttl_ms = $3, drawn = $4, next_seq = $5,
         frontier = $6, frontier_at = $7 WHERE event_id = $8",
    )
    .bind(a.opens_at_ms)
    .bind(i64::from(a.per_minute))
    .bind(room.pass_ttl_ms)
    .bind(a.drawn)
    .bind(a.next_seq)
    .bind(a.frontier)
    .bind(a.frontier_at_ms)
    .bind(room.event_id.0)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// At the first touch after opening, early arrivals take places 0..n in lottery order.
async fn draw_if_due(conn: &mut PgConnection, room: &mut WaitingRoom, now_ms: i64) -> StoreResult<bool> {
    if !queue::draw_due(&room.admission, now_ms) {
        return Ok(false);
    }
    let early = sqlx::query(
        "UPDATE queue_entries SET seq = r.rn
         FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY lottery, id COLLATE \"C\") - 1 AS rn FROM queue_entries WHERE event_id = $1) AS r
         WHERE queue_entries.event_id = $2 AND queue_entries.id = r.id",
    )
    .bind(room.event_id.0)
    .bind(room.event_id.0)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    room.admission.draw(early as i64);
    Ok(true)
}

pub async fn join(conn: &mut PgConnection, j: &QueueJoin) -> StoreResult<QueueEntry> {
    let mut room = load_for_update(conn, j.event_id).await?.ok_or(StoreError::NotFound("waiting room"))?;
    if entry_row(conn, j.event_id, &j.entry_id).await?.is_none() {
        draw_if_due(conn, &mut room, j.now_ms).await?;
        room.admission.advance(j.now_ms);
        let seq = room.admission.drawn.then(|| {
            room.admission.next_seq += 1;
            room.admission.next_seq - 1
        });
        sqlx::query("INSERT INTO queue_entries (event_id, id, joined_at, lottery, seq) VALUES ($1, $2, $3, $4, $5)")
            .bind(j.event_id.0)
            .bind(&j.entry_id)
            .bind(j.now_ms)
            .bind(j.lottery)
            .bind(seq)
            .execute(&mut *conn)
            .await?;
        save(conn, &room).await?;
    }
    standing(conn, room, &j.entry_id, j.now_ms, true).await?.ok_or(StoreError::NotFound("queue entry"))
}

/// Reads a place; `Ok(None)` means "a write is needed", which `entry_for_update` then does.
pub async fn entry_read(
    conn: &mut PgConnection,
    event: EventId,
    id: &str,
    now_ms: i64,
) -> StoreResult<Option<QueueEntry>> {
    let room = load(conn, event).await?.ok_or(StoreError::NotFound("waiting room"))?;
    standing(conn, room, id, now_ms, false).await
}

pub async fn entry_for_update(
    conn: &mut PgConnection,
    event: EventId,
    id: &str,
    now_ms: i64,
) -> StoreResult<QueueEntry> {
    let mut room = load_for_update(conn, event).await?.ok_or(StoreError::NotFound("waiting room"))?;
    if draw_if_due(conn, &mut room, now_ms).await? {
        save(conn, &room).await?;
    }
    standing(conn, room, id, now_ms, true).await?.ok_or(StoreError::NotFound("queue entry"))
}

async fn entry_row(conn: &mut PgConnection, event: EventId, id: &str) -> StoreResult<Option<EntryRow>> {
    let sql = format!("SELECT {} FROM queue_entries WHERE event_id = $1 AND id = $2", queue::ENTRY_COLUMNS);
    let row = sqlx::query(&sql).bind(event.0).bind(id).fetch_optional(&mut *conn).await?;
    row.as_ref().map(EntryRow::decode).transpose()
}

/// Builds the entry's view. With `may_write` false, returns `None` when the draw or the
/// admission moment still has to be recorded.
async fn standing(
    conn: &mut PgConnection,
    room: WaitingRoom,
    id: &str,
    now_ms: i64,
    may_write: bool,
) -> StoreResult<Option<QueueEntry>> {
    let mut row = entry_row(conn, room.event_id, id).await?.ok_or(StoreError::NotFound("queue entry"))?;
    let a = &room.admission;
    let record = queue::newly_admitted(a, &row, now_ms);
    if !may_write && (queue::draw_due(a, now_ms) || record) {
        return Ok(None);
    }
    if record {
        sqlx::query("UPDATE queue_entries SET admitted_at = $1 WHERE event_id = $2 AND id = $3")
            .bind(now_ms)
            .bind(room.event_id.0)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        row.admitted_at_ms = Some(now_ms);
    }
    let early_arrivals = if a.drawn {
        0
    } else {
        sqlx::query_scalar("SELECT COUNT(*) FROM queue_entries WHERE event_id = $1")
            .bind(room.event_id.0)
            .fetch_one(&mut *conn)
            .await?
    };
    Ok(Some(queue::view(&room, id, row, early_arrivals, now_ms)))
}
