//! The on-sale waiting room: configuration, joining the queue and reading one's place.
//!
//! The admission arithmetic lives in `admit_domain::waiting_room`; this module only stores its
//! state. Reading a place is a plain read unless something must be recorded (the draw at
//! opening, or the first moment a buyer is seen admitted).

use super::sql::{exec, row, scalar};
use crate::model::*;
use crate::queue::{self, EntryRow};
use crate::rows::i64_at;
use crate::{StoreError, StoreResult};
use admit_domain::EventId;
use admit_domain::waiting_room::Admission;
use rusqlite::{Connection, params};

pub fn set(c: &Connection, event: EventId, config: Option<WaitingRoomConfig>, now_ms: i64) -> StoreResult<()> {
    let exists: Option<i64> = scalar(c, "SELECT id FROM events WHERE id = ?", [event.0])?;
    exists.ok_or(StoreError::NotFound("event"))?;
    let Some(config) = config else {
        exec(c, "DELETE FROM queue_entries WHERE event_id = ?", [event.0])?;
        exec(c, "DELETE FROM waiting_rooms WHERE event_id = ?", [event.0])?;
        return Ok(());
    };
    if config.admit_per_minute == 0 || config.pass_ttl_ms < 1_000 {
        return Err(StoreError::Invalid("admit at least one buyer a minute, for at least a second".into()));
    }
    let room = match load(c, event)? {
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
            exec(
                c,
                "INSERT INTO waiting_rooms (event_id, opens_at, admit_per_minute, pass_ttl_ms, frontier_at) VALUES (?1, ?2, ?3, ?4, ?2)",
                params![event.0, config.opens_at_ms, i64::from(config.admit_per_minute), config.pass_ttl_ms],
            )?;
            return Ok(());
        }
    };
    save(c, &room)
}

pub fn load(c: &Connection, event: EventId) -> StoreResult<Option<WaitingRoom>> {
    let found = row(
        c,
        "SELECT opens_at, admit_per_minute, pass_ttl_ms, drawn, next_seq, frontier, frontier_at
         FROM waiting_rooms WHERE event_id = ?",
        [event.0],
    )?;
    let Some(r) = found else { return Ok(None) };
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

fn save(c: &Connection, room: &WaitingRoom) -> StoreResult<()> {
    let a = &room.admission;
    exec(
        c,
        "UPDATE waiting_rooms SET opens_at = ?, admit_per_minute = ?, pass_ttl_ms = ?, drawn = ?, next_seq = ?,
         frontier = ?, frontier_at = ? WHERE event_id = ?",
        params![
            a.opens_at_ms,
            i64::from(a.per_minute),
            room.pass_ttl_ms,
            i64::from(a.drawn),
            a.next_seq,
            a.frontier,
            a.frontier_at_ms,
            room.event_id.0
        ],
    )?;
    Ok(())
}

/// At the first touch after opening, early arrivals take places 0..n in lottery order.
fn draw_if_due(c: &Connection, room: &mut WaitingRoom, now_ms: i64) -> StoreResult<bool> {
    if !queue::draw_due(&room.admission, now_ms) {
        return Ok(false);
    }
    let early = exec(
        c,
        "UPDATE queue_entries SET seq = r.rn
         FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY lottery, id) - 1 AS rn FROM queue_entries WHERE event_id = ?1) AS r
         WHERE queue_entries.event_id = ?1 AND queue_entries.id = r.id",
        [room.event_id.0],
    )?;
    room.admission.draw(early as i64);
    Ok(true)
}

pub fn join(c: &Connection, j: &QueueJoin) -> StoreResult<QueueEntry> {
    let mut room = load(c, j.event_id)?.ok_or(StoreError::NotFound("waiting room"))?;
    if entry_row(c, j.event_id, &j.entry_id)?.is_none() {
        draw_if_due(c, &mut room, j.now_ms)?;
        room.admission.advance(j.now_ms);
        let seq = room.admission.drawn.then(|| {
            room.admission.next_seq += 1;
            room.admission.next_seq - 1
        });
        exec(
            c,
            "INSERT INTO queue_entries (event_id, id, joined_at, lottery, seq) VALUES (?, ?, ?, ?, ?)",
            params![j.event_id.0, j.entry_id, j.now_ms, j.lottery, seq],
        )?;
        save(c, &room)?;
    }
    standing(c, room, &j.entry_id, j.now_ms, true)?.ok_or(StoreError::NotFound("queue entry"))
}

/// Reads a place; `Ok(None)` means "a write is needed", which `entry_for_update` then does.
pub fn entry_read(c: &Connection, event: EventId, id: &str, now_ms: i64) -> StoreResult<Option<QueueEntry>> {
    let room = load(c, event)?.ok_or(StoreError::NotFound("waiting room"))?;
    standing(c, room, id, now_ms, false)
}

pub fn entry_for_update(c: &Connection, event: EventId, id: &str, now_ms: i64) -> StoreResult<QueueEntry> {
    let mut room = load(c, event)?.ok_or(StoreError::NotFound("waiting room"))?;
    if draw_if_due(c, &mut room, now_ms)? {
        save(c, &room)?;
    }
    standing(c, room, id, now_ms, true)?.ok_or(StoreError::NotFound("queue entry"))
}

fn entry_row(c: &Connection, event: EventId, id: &str) -> StoreResult<Option<EntryRow>> {
    let sql = format!("SELECT {} FROM queue_entries WHERE event_id = ? AND id = ?", queue::ENTRY_COLUMNS);
    row(c, &sql, params![event.0, id])?.as_ref().map(EntryRow::decode).transpose()
}

/// Builds the entry's view. With `may_write` false, returns `None` when the draw or the
/// admission moment still has to be recorded.
fn standing(
    c: &Connection,
    room: WaitingRoom,
    id: &str,
    now_ms: i64,
    may_write: bool,
) -> StoreResult<Option<QueueEntry>> {
    let mut entry = entry_row(c, room.event_id, id)?.ok_or(StoreError::NotFound("queue entry"))?;
    let a = &room.admission;
    let record = queue::newly_admitted(a, &entry, now_ms);
    if !may_write && (queue::draw_due(a, now_ms) || record) {
        return Ok(None);
    }
    if record {
        exec(
            c,
            "UPDATE queue_entries SET admitted_at = ? WHERE event_id = ? AND id = ?",
            params![now_ms, room.event_id.0, id],
        )?;
        entry.admitted_at_ms = Some(now_ms);
    }
    let early_arrivals = if a.drawn {
        0
    } else {
        scalar::<i64>(c, "SELECT COUNT(*) FROM queue_entries WHERE event_id = ?", [room.event_id.0])?.unwrap_or(0)
    };
    Ok(Some(queue::view(&room, id, entry, early_arrivals, now_ms)))
}
