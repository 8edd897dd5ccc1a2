//! The on-sale waiting room: configuration, joining the queue and reading one's place.
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
use sqlx::SqliteConnection;

pub async fn set(
    conn: &mut SqliteConnection,
    event: EventId,
    config: Option<WaitingRoomConfig>,
    now_ms: i64,
) -> StoreResult<()> {
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT id FROM events WHERE id = ?").bind(event.0).fetch_optional(&mut *conn).await?;
    exists.ok_or(StoreError::NotFound("event"))?;
    let Some(config) = config else {
        sqlx::query("DELETE FROM queue_entries WHERE event_id = ?").bind(event.0).execute(&mut *conn).await?;
        sqlx::query("DELETE FROM waiting_rooms WHERE event_id = ?").bind(event.0).execute(&mut *conn).await?;
        return Ok(());
    };
    if config.admit_per_minute == 0 || config.pass_ttl_ms < 1_000 {
        return Err(StoreError::Invalid("admit at least one buyer a minute, for at least a second".into()));
    }
    let room = match load(conn, event).await? {
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
            sqlx::query("INSERT INTO waiting_rooms (event_id, opens_at, admit_per_minute, pass_ttl_ms, frontier_at) VALUES (?, ?, ?, ?, ?)")
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

pub async fn load(conn: &mut SqliteConnection, event: EventId) -> StoreResult<Option<WaitingRoom>> {
    let row = sqlx::query(
        "SELECT opens_at, admit_per_minute, pass_ttl_ms, drawn, next_seq, frontier, frontier_at
         FROM waiting_rooms WHERE event_id = ?",
    )
    .bind(event.0)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(WaitingRoom {
        event_id: event,
        pass_ttl_ms: i64_at(&r, "pass_ttl_ms")?,
        admission: Admission {
            opens_at_ms: i64_at(&r, "opens_at")?,
            per_minute: i64_at(&r, "admit_per_minute")? as u32,
            drawn: i64_at(&r, "drawn")? != 0,
            next_seq: i64_at(&r, "next_seq")?,
            frontier: i64_at(&r, "frontier")?,
            frontier_at_ms: i64_at(&r, "frontier_at")?,
        },
    }))
}

async fn save(conn: &mut SqliteConnection, room: &WaitingRoom) -> StoreResult<()> {
    let a = &room.admission;
    sqlx::query(
        "UPDATE waiting_rooms SET opens_at = ?, admit_per_minute = ?, pass_ttl_ms = ?, drawn = ?, next_seq = ?,
         frontier = ?, frontier_at = ? WHERE event_id = ?",
    )
    .bind(a.opens_at_ms)
    .bind(i64::from(a.per_minute))
    .bind(room.pass_ttl_ms)
    .bind(i64::from(a.drawn))
    .bind(a.next_seq)
    .bind(a.frontier)
    .bind(a.frontier_at_ms)
    .bind(room.event_id.0)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// At the first touch after opening, early arrivals take places 0..n in lottery order.
async fn draw_if_due(conn: &mut SqliteConnection, room: &mut WaitingRoom, now_ms: i64) -> StoreResult<bool> {
    if !queue::draw_due(&room.admission, now_ms) {
        return Ok(false);
    }
    let early = sqlx::query(
        "UPDATE queue_entries SET seq = r.rn
         FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY lottery, id) - 1 AS rn FROM queue_entries WHERE event_id = ?) AS r
         WHERE queue_entries.event_id = ? AND queue_entries.id = r.id",
    )
    .bind(room.event_id.0)
    .bind(room.event_id.0)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    room.admission.draw(early as i64);
    Ok(true)
}

pub async fn join(conn: &mut SqliteConnection, j: &QueueJoin) -> StoreResult<QueueEntry> {
    let mut room = load(conn, j.event_id).await?.ok_or(StoreError::NotFound("waiting room"))?;
    if entry_row(conn, j.event_id, &j.entry_id).await?.is_none() {
        draw_if_due(conn, &mut room, j.now_ms).await?;
        room.admission.advance(j.now_ms);
        let seq = room.admission.drawn.then(|| {
            room.admission.next_seq += 1;
            room.admission.next_seq - 1
        });
        sqlx::query("INSERT INTO queue_entries (event_id, id, joined_at, lottery, seq) VALUES (?, ?, ?, ?, ?)")
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
    conn: &mut SqliteConnection,
    event: EventId,
    id: &str,
    now_ms: i64,
) -> StoreResult<Option<QueueEntry>> {
    let room = load(conn, event).await?.ok_or(StoreError::NotFound("waiting room"))?;
    standing(conn, room, id, now_ms, false).await
}

pub async fn entry_for_update(
    conn: &mut SqliteConnection,
    event: EventId,
    id: &str,
    now_ms: i64,
) -> StoreResult<QueueEntry> {
    let mut room = load(conn, event).await?.ok_or(StoreError::NotFound("waiting room"))?;
    if draw_if_due(conn, &mut room, now_ms).await? {
        save(conn, &room).await?;
    }
    standing(conn, room, id, now_ms, true).await?.ok_or(StoreError::NotFound("queue entry"))
}

async fn entry_row(conn: &mut SqliteConnection, event: EventId, id: &str) -> StoreResult<Option<EntryRow>> {
    let sql = format!("SELECT {} FROM queue_entries WHERE event_id = ? AND id = ?", queue::ENTRY_COLUMNS);
    let row = sqlx::query(&sql).bind(event.0).bind(id).fetch_optional(&mut *conn).await?;
    row.as_ref().map(EntryRow::decode).transpose()
}

/// Builds the entry's view. With `may_write` false, returns `None` when the draw or the
/// admission moment still has to be recorded.
async fn standing(
    conn: &mut SqliteConnection,
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
        sqlx::query("UPDATE queue_entries SET admitted_at = ? WHERE event_id = ? AND id = ?")
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
        sqlx::query_scalar("SELECT COUNT(*) FROM queue_entries WHERE event_id = ?")
            .bind(room.event_id.0)
            .fetch_one(&mut *conn)
            .await?
    };
    Ok(Some(queue::view(&room, id, row, early_arrivals, now_ms)))
}
