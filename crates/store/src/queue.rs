//! The waiting room's decisions, taken the same way by both backends (each keeps its own SQL):
//! when the draw is due, when a buyer's admission must be recorded, and what a place looks like.

use crate::StoreResult;
use crate::model::{QueueEntry, WaitingRoom};
use crate::rows::{Columns, i64_at};
use admit_domain::waiting_room::{Admission, Standing};

/// The columns every backend selects for a queued buyer.
pub const ENTRY_COLUMNS: &str = "joined_at, seq, admitted_at";

/// A queued buyer as stored.
#[derive(Debug, Clone, Copy)]
pub struct EntryRow {
    pub joined_at_ms: i64,
    pub seq: Option<i64>,
    pub admitted_at_ms: Option<i64>,
}

impl EntryRow {
    pub fn decode(r: &impl Columns) -> StoreResult<EntryRow> {
        Ok(EntryRow {
            joined_at_ms: i64_at(r, "joined_at")?,
            seq: r.opt_i64_col("seq")?,
            admitted_at_ms: r.opt_i64_col("admitted_at")?,
        })
    }
}

/// Early arrivals are drawn into order at the first touch after opening.
pub fn draw_due(a: &Admission, now_ms: i64) -> bool {
    !a.drawn && now_ms >= a.opens_at_ms
}

/// The buyer's turn has come but the moment is not recorded yet (the pass lasts from it).
pub fn newly_admitted(a: &Admission, row: &EntryRow, now_ms: i64) -> bool {
    row.admitted_at_ms.is_none() && a.standing(row.seq, now_ms) == Standing::Admitted
}

/// The buyer's place at `now_ms`; `early_arrivals` counts the draw (0 once drawn).
pub fn view(room: &WaitingRoom, id: &str, row: EntryRow, early_arrivals: i64, now_ms: i64) -> QueueEntry {
    let a = &room.admission;
    let standing = if row.admitted_at_ms.is_some() { Standing::Admitted } else { a.standing(row.seq, now_ms) };
    QueueEntry {
        event_id: room.event_id,
        id: id.to_owned(),
        joined_at_ms: row.joined_at_ms,
        seq: row.seq,
        admitted_at_ms: row.admitted_at_ms,
        standing,
        early_arrivals,
        opens_at_ms: a.opens_at_ms,
        admit_per_minute: a.per_minute,
        pass_ttl_ms: room.pass_ttl_ms,
    }
}
