//! Backend-neutral checks and decisions that both backends apply inside their transactions,
//! so SQLite and PostgreSQL refuse the same requests with the same errors.

use crate::model::*;
use crate::rows::{Columns, corrupt, i64_at, parsed, str_at, u32_at};
use crate::{StoreError, StoreResult};
use admit_domain::{
    Currency, DenyReason, DeviceCounter, EntryPolicy, EntryState, EventId, GradeId, MAX_TICKETS_PER_HOLD, Money,
    MoneyError, PaymentState, ScanContext, SeatId, SeatingMode, SessionEntries, SessionId, TicketAtGate, TicketStatus,
};
use std::collections::BTreeSet;

pub fn check_quantity(q: u32) -> StoreResult<()> {
    if q == 0 || q > MAX_TICKETS_PER_HOLD {
        return Err(StoreError::Invalid(format!("quantity must be between 1 and {MAX_TICKETS_PER_HOLD}")));
    }
    Ok(())
}

/// An explicit seat list: between one and the maximum seats, none twice.
pub fn check_seat_list(ids: &[SeatId]) -> StoreResult<()> {
    if ids.is_empty() || ids.len() > MAX_TICKETS_PER_HOLD as usize {
        return Err(StoreError::Invalid(format!("hold between 1 and {MAX_TICKETS_PER_HOLD} seats")));
    }
    if ids.iter().collect::<BTreeSet<_>>().len() != ids.len() {
        return Err(StoreError::Invalid("a seat is listed twice".into()));
    }
    Ok(())
}

/// The grade's price, if the `seating, price_minor` row (of a grade offered in the session)
/// has the seating mode the request needs.
pub fn grade_price(
    row: Option<&impl Columns>,
    session: SessionId,
    grade: GradeId,
    mode: SeatingMode,
) -> StoreResult<i64> {
    let row = row.ok_or_else(|| StoreError::Invalid(format!("grade {grade} is not offered in session {session}")))?;
    if parsed(row, "seating", SeatingMode::parse)? != mode {
        let wanted = match mode {
            SeatingMode::Reserved => "seats (it is sold as general-admission units)",
            SeatingMode::GeneralAdmission => "units (it is sold as reserved seats)",
        };
        return Err(StoreError::Invalid(format!("grade {grade} cannot be held as {wanted}")));
    }
    i64_at(row, "price_minor")
}

/// The payment states a settlement to `to` may start from.
pub fn settle_from(to: PaymentState) -> StoreResult<&'static [&'static str]> {
    Ok(match to {
        PaymentState::Declined => &["pending", "timed_out"],
        PaymentState::TimedOut => &["pending"],
        // "declined" too: an approval that arrives after the attempt was given up on is refunded.
        PaymentState::Refunded => &["pending", "approved", "timed_out", "declined"],
        PaymentState::Pending | PaymentState::Approved => {
            return Err(StoreError::Invalid("use begin_payment / complete_order for that state".into()));
        }
    })
}

/// Tickets are the hold's lines (`grade_id, seat_id, quantity` rows) made permanent: one
/// ticket per unit, each of a line's grade and seat. Returns how many lines name a seat.
pub fn check_tickets_match(lines: &[impl Columns], tickets: &[NewTicket]) -> StoreResult<u64> {
    let mut wanted: Vec<(i64, Option<i64>)> = Vec::new();
    for l in lines {
        let line = (i64_at(l, "grade_id")?, l.opt_i64_col("seat_id")?);
        wanted.extend(std::iter::repeat_n(line, u32_at(l, "quantity")? as usize));
    }
    if wanted.len() != tickets.len() {
        return Err(StoreError::Invalid(format!("{} tickets for a hold of {}", tickets.len(), wanted.len())));
    }
    let mut given: Vec<(i64, Option<i64>)> = tickets.iter().map(|t| (t.grade_id.0, t.seat_id.map(|s| s.0))).collect();
    wanted.sort_unstable();
    given.sort_unstable();
    if wanted != given {
        return Err(StoreError::Invalid("the tickets do not match the hold's seats and grades".into()));
    }
    Ok(wanted.iter().filter(|(_, seat)| seat.is_some()).count() as u64)
}

/// What both backends select to decide a scan; add `WHERE t.id = …`.
pub const CHECK_IN_SELECT: &str = "SELECT t.reference, t.version, t.status, t.session_id, ts.event_id, t.entries_used,
            t.max_entries, t.inside, t.session_entries, t.device_version, t.device_counter, g.reentry, g.multi_day, st.label AS seat, g.code AS grade
     FROM tickets t JOIN grades g ON g.id = t.grade_id JOIN sessions ts ON ts.id = t.session_id
     LEFT JOIN seats st ON st.id = t.seat_id";

/// The entry policy of a ticket row: the ticket's `max_entries`, the grade's `reentry` and
/// `multi_day` (grades do not change once sold).
pub fn entry_policy(r: &impl Columns) -> StoreResult<EntryPolicy> {
    Ok(EntryPolicy {
        max_entries: u32_at(r, "max_entries")?,
        reentry: r.bool_col("reentry")?,
        multi_day: r.bool_col("multi_day")?,
    })
}

/// The entry state of a ticket row (`entries_used, inside, session_entries, device_version,
/// device_counter`).
pub fn entry_state(r: &impl Columns) -> StoreResult<EntryState> {
    Ok(EntryState {
        entries_used: u32_at(r, "entries_used")?,
        inside: r.bool_col("inside")?,
        per_session: parsed(r, "session_entries", SessionEntries::parse)?,
        last_counter: last_counter(r)?,
    })
}

/// The last device presentation accepted for the ticket (`device_version, device_counter`,
/// both NULL until one is).
pub fn last_counter(r: &impl Columns) -> StoreResult<Option<DeviceCounter>> {
    let column = |name: &str| -> StoreResult<Option<u32>> {
        r.opt_i64_col(name)?.map(|n| u32::try_from(n).map_err(|_| corrupt(format!("{name} out of range")))).transpose()
    };
    Ok(match (column("device_version")?, column("device_counter")?) {
        (Some(version), Some(counter)) => Some(DeviceCounter { version, counter }),
        _ => None,
    })
}

/// Applies `decide_entry` to the ticket row: the admission it would be, or the reason not.
/// The caller replaces `admission.before` by `admission.after` with one update guarded by
/// `before` (binds from [`entry_binds`]) and denies `already_used` if it misses; it logs the scan
/// either way.
pub fn decide(r: &impl Columns, scan: &ScanRequest) -> StoreResult<Result<Admission, DenyReason>> {
    let ticket = TicketAtGate {
        status: parsed(r, "status", TicketStatus::parse)?,
        current_version: u32_at(r, "version")?,
        session_id: SessionId(i64_at(r, "session_id")?),
        event_id: EventId(i64_at(r, "event_id")?),
        state: entry_state(r)?,
        policy: entry_policy(r)?,
    };
    let ctx = ScanContext {
        presented_version: scan.presented_version,
        presented_session: scan.presented_session,
        gate_session: scan.gate_session,
        gate_event: scan.gate_event,
        direction: scan.direction,
        valid_from_ms: scan.valid_from_ms,
        valid_until_ms: scan.valid_until_ms,
        now_ms: scan.now_ms,
        device_counter: scan.device_counter,
    };
    let after = match admit_domain::decide_entry(&ticket, &ctx) {
        Ok(after) => after,
        Err(reason) => return Ok(Err(reason)),
    };
    let admission = Admission {
        ticket_id: scan.ticket_id,
        reference: str_at(r, "reference")?,
        seat_label: r.opt_str_col("seat")?,
        grade_code: str_at(r, "grade")?,
        entries_used: after.entries_used,
        max_entries: ticket.policy.max_entries,
        direction: scan.direction,
        policy: ticket.policy,
        before: ticket.state,
        after,
    };
    Ok(Ok(admission))
}

/// The columns of an entry state, ready to bind. Both backends take an entry or an exit with
/// one `UPDATE tickets SET entries_used, inside, session_entries, device_version,
/// device_counter = (after) WHERE id = ? AND (the same columns) = (before)` (NULL-safe for the
/// device columns): so a device presentation's counter is recorded by the very update that
/// counts its entry, and two scans of the same presentation cannot both pass the guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryBinds {
    pub entries_used: i64,
    pub inside: bool,
    pub session_entries: String,
    pub device_version: Option<i64>,
    pub device_counter: Option<i64>,
}

pub fn entry_binds(s: &EntryState) -> EntryBinds {
    EntryBinds {
        entries_used: i64::from(s.entries_used),
        inside: s.inside,
        session_entries: s.per_session.to_text(),
        device_version: s.last_counter.map(|c| i64::from(c.version)),
        device_counter: s.last_counter.map(|c| i64::from(c.counter)),
    }
}

/// The denial of a scan whose guarded update missed: another scan of the ticket changed its
/// entry state in between (on PostgreSQL the row lock makes this a second line of defence).
/// A device presentation that lost is `replayed`: most likely the same presentation was shown
/// at two gates at once (the holder's live page shows a newer one a moment later).
pub fn lost_race(admission: &Admission) -> DenyReason {
    if admission.after.last_counter != admission.before.last_counter {
        return DenyReason::Replayed;
    }
    match (admission.direction, admission.policy.reentry) {
        (admit_domain::Direction::Exit, _) => DenyReason::NotInside,
        (admit_domain::Direction::Entry, true) => DenyReason::AlreadyInside,
        (admit_domain::Direction::Entry, false) => DenyReason::AlreadyUsed,
    }
}

/// Every grade's entry policy must be usable (`EntryPolicy::check`): refused whole otherwise.
pub fn check_grade_policies(grades: &[NewGrade]) -> StoreResult<()> {
    for g in grades {
        g.policy.check().map_err(|why| StoreError::Invalid(format!("grade {}: {why}", g.code)))?;
    }
    Ok(())
}

/// A hold's total: each line's unit price times its quantity, summed, every step checked
/// (`Invalid` past the largest amount Admit takes, never a wrapped number).
pub(crate) fn hold_total(lines: &[HoldLine], currency: Currency) -> StoreResult<Money> {
    let too_large = |e: MoneyError| StoreError::Invalid(format!("the hold's total: {e}"));
    let priced = lines.iter().map(|l| l.unit_price.checked_mul(l.quantity)).collect::<Result<Vec<_>, _>>();
    Money::sum(currency, priced.map_err(too_large)?).map_err(too_large)
}
