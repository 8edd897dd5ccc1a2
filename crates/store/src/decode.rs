//! Model values from rows, written once for both backends: each backend selects the same
//! column names (see the `SELECT`s in `sqlite/` and `postgres/`) and decodes them here.

use crate::StoreResult;
use crate::model::*;
use crate::rows::{Columns, corrupt, i64_at, money_at, parsed, str_at, u32_at};
use admit_domain::{
    Currency, EntryPolicy, EventId, EventKind, GateId, GradeId, HoldState, Money, OrderState, OrganiserId,
    PaymentState, SeatId, SeatingMode, SessionId, TicketId, TicketStatus, VenueId,
};

/// `organiser_id, role, label` of a staff token.
pub fn staff(r: &impl Columns) -> StoreResult<Staff> {
    Ok(Staff {
        organiser_id: OrganiserId(i64_at(r, "organiser_id")?),
        role: parsed(r, "role", StaffRole::parse)?,
        label: str_at(r, "label")?,
    })
}

/// A gate joined with its venue's organiser.
pub fn gate(r: &impl Columns) -> StoreResult<Gate> {
    Ok(Gate {
        id: GateId(i64_at(r, "id")?),
        venue_id: VenueId(i64_at(r, "venue_id")?),
        organiser_id: OrganiserId(i64_at(r, "organiser_id")?),
        name: str_at(r, "name")?,
        latitude: r.f64_col("latitude")?,
        longitude: r.f64_col("longitude")?,
    })
}

/// What both backends select for an event: the event joined with its venue's name.
pub const EVENT_COLUMNS: &str = "e.id, e.organiser_id, e.venue_id, v.name AS venue_name, e.name, e.kind, e.description,
     e.currency, e.route_from, e.route_to FROM events e JOIN venues v ON v.id = e.venue_id";

pub fn event(r: &impl Columns) -> StoreResult<Event> {
    let (from, to) = (r.opt_str_col("route_from")?, r.opt_str_col("route_to")?);
    Ok(Event {
        id: EventId(i64_at(r, "id")?),
        organiser_id: OrganiserId(i64_at(r, "organiser_id")?),
        venue_id: VenueId(i64_at(r, "venue_id")?),
        venue_name: str_at(r, "venue_name")?,
        name: str_at(r, "name")?,
        kind: parsed(r, "kind", EventKind::parse)?,
        description: str_at(r, "description")?,
        currency: Currency::parse(&str_at(r, "currency")?).map_err(|e| corrupt(e.to_string()))?,
        route: from.zip(to),
    })
}

pub fn session(r: &impl Columns) -> StoreResult<Session> {
    Ok(Session {
        id: SessionId(i64_at(r, "id")?),
        event_id: EventId(i64_at(r, "event_id")?),
        label: str_at(r, "label")?,
        starts_at_ms: i64_at(r, "starts_at")?,
        ends_at_ms: i64_at(r, "ends_at")?,
        doors_at_ms: i64_at(r, "doors_at")?,
    })
}

/// A grade row joined with its event's currency.
pub fn grade(r: &impl Columns, event: EventId) -> StoreResult<Grade> {
    Ok(Grade {
        id: GradeId(i64_at(r, "id")?),
        event_id: event,
        code: str_at(r, "code")?,
        name: str_at(r, "name")?,
        seating: parsed(r, "seating", SeatingMode::parse)?,
        price: money_at(r, "price_minor", "currency")?,
        policy: EntryPolicy {
            max_entries: u32_at(r, "max_entries")?,
            reentry: r.bool_col("reentry")?,
            multi_day: r.bool_col("multi_day")?,
        },
    })
}

pub fn availability(r: &impl Columns) -> StoreResult<GradeAvailability> {
    Ok(GradeAvailability {
        grade_id: GradeId(i64_at(r, "grade_id")?),
        total: u32_at(r, "total")?,
        held: u32_at(r, "held")?,
        sold: u32_at(r, "sold")?,
    })
}

pub fn seat(r: &impl Columns, session: SessionId) -> StoreResult<Seat> {
    Ok(Seat {
        id: SeatId(i64_at(r, "id")?),
        session_id: session,
        grade_id: GradeId(i64_at(r, "grade_id")?),
        section: str_at(r, "section")?,
        row: str_at(r, "row_label")?,
        row_rank: i64_at(r, "row_rank")? as i32,
        number: i64_at(r, "number")? as i32,
        label: str_at(r, "label")?,
        state: parsed(r, "state", SeatState::parse)?,
    })
}

/// `id, row_rank, row_label, number, state` of a seat, as `best_available` sees it.
pub fn seat_pos(r: &impl Columns) -> StoreResult<admit_domain::SeatPos> {
    Ok(admit_domain::SeatPos {
        id: SeatId(i64_at(r, "id")?),
        row_rank: i64_at(r, "row_rank")? as i32,
        row: str_at(r, "row_label")?,
        number: i64_at(r, "number")? as i32,
        free: str_at(r, "state")? == "free",
    })
}

/// What both backends select for a hold's lines; bind the hold id once.
pub const HOLD_LINES: &str =
    "SELECT l.grade_id, g.code, g.max_entries, g.reentry, g.multi_day, l.seat_id, st.label AS seat_label, l.quantity, l.unit_price_minor
     FROM hold_lines l JOIN grades g ON g.id = l.grade_id LEFT JOIN seats st ON st.id = l.seat_id";

pub fn hold_line(l: &impl Columns, currency: Currency) -> StoreResult<HoldLine> {
    Ok(HoldLine {
        grade_id: GradeId(i64_at(l, "grade_id")?),
        grade_code: str_at(l, "code")?,
        seat: l.opt_i64_col("seat_id")?.map(SeatId).zip(l.opt_str_col("seat_label")?),
        quantity: u32_at(l, "quantity")?,
        unit_price: Money::new(i64_at(l, "unit_price_minor")?, currency).map_err(|e| corrupt(e.to_string()))?,
        policy: crate::rules::entry_policy(l)?,
    })
}

/// A hold row joined with its session's event and its order's id, plus its decoded lines.
pub fn hold(id: &str, r: &impl Columns, lines: &[impl Columns]) -> StoreResult<Hold> {
    let total = money_at(r, "total_minor", "currency")?;
    Ok(Hold {
        id: id.to_owned(),
        session_id: SessionId(i64_at(r, "session_id")?),
        event_id: EventId(i64_at(r, "event_id")?),
        state: parsed(r, "state", HoldState::parse)?,
        created_at_ms: i64_at(r, "created_at")?,
        expires_at_ms: i64_at(r, "expires_at")?,
        lines: lines.iter().map(|l| hold_line(l, total.currency())).collect::<StoreResult<_>>()?,
        total,
        order_id: r.opt_str_col("order_id")?,
    })
}

pub fn payment(r: &impl Columns) -> StoreResult<Payment> {
    Ok(Payment {
        id: str_at(r, "id")?,
        hold_id: str_at(r, "hold_id")?,
        gateway: str_at(r, "gateway")?,
        amount: money_at(r, "amount_minor", "currency")?,
        method: str_at(r, "method")?,
        state: parsed(r, "state", PaymentState::parse)?,
        detail: r.opt_str_col("detail")?,
        authorization: r.opt_str_col("authorization")?,
        created_at_ms: i64_at(r, "created_at")?,
        updated_at_ms: i64_at(r, "updated_at")?,
    })
}

/// What both backends select for a ticket; add a `WHERE` (and an `ORDER BY`).
pub const TICKET_SELECT: &str =
    "SELECT t.*, g.code AS grade_code, g.reentry, g.multi_day, st.label AS seat_label, s.event_id, o.currency
     FROM tickets t JOIN grades g ON g.id = t.grade_id LEFT JOIN seats st ON st.id = t.seat_id
     JOIN sessions s ON s.id = t.session_id JOIN orders o ON o.id = t.order_id";

pub fn ticket(r: &impl Columns) -> StoreResult<Ticket> {
    Ok(Ticket {
        id: TicketId(i64_at(r, "id")?),
        order_id: str_at(r, "order_id")?,
        session_id: SessionId(i64_at(r, "session_id")?),
        event_id: EventId(i64_at(r, "event_id")?),
        grade_id: GradeId(i64_at(r, "grade_id")?),
        grade_code: str_at(r, "grade_code")?,
        seat_label: r.opt_str_col("seat_label")?,
        reference: str_at(r, "reference")?,
        version: u32_at(r, "version")?,
        status: parsed(r, "status", TicketStatus::parse)?,
        entries_used: u32_at(r, "entries_used")?,
        max_entries: u32_at(r, "max_entries")?,
        policy: crate::rules::entry_policy(r)?,
        inside: r.bool_col("inside")?,
        session_entries: parsed(r, "session_entries", admit_domain::SessionEntries::parse)?,
        credential: str_at(r, "credential")?,
        inspection_code: str_at(r, "inspection_code")?,
        price: money_at(r, "price_minor", "currency")?,
    })
}

/// An order row joined with its session's event, and its tickets.
pub fn order(id: &str, r: &impl Columns, tickets: Vec<Ticket>) -> StoreResult<Order> {
    Ok(Order {
        id: id.to_owned(),
        hold_id: str_at(r, "hold_id")?,
        payment_id: str_at(r, "payment_id")?,
        session_id: SessionId(i64_at(r, "session_id")?),
        event_id: EventId(i64_at(r, "event_id")?),
        state: parsed(r, "state", OrderState::parse)?,
        total: money_at(r, "total_minor", "currency")?,
        created_at_ms: i64_at(r, "created_at")?,
        tickets,
    })
}

/// What both backends select for a gate manifest; add `WHERE t.session_id = …` and an order.
pub const MANIFEST_SELECT: &str =
    "SELECT t.reference, t.inspection_code, st.label AS seat, g.code AS grade, t.version, t.status,
            t.entries_used, t.max_entries
     FROM tickets t JOIN grades g ON g.id = t.grade_id LEFT JOIN seats st ON st.id = t.seat_id";

pub fn manifest_row(r: &impl Columns) -> StoreResult<ManifestRow> {
    Ok(ManifestRow {
        reference: str_at(r, "reference")?,
        inspection_code: str_at(r, "inspection_code")?,
        seat: r.opt_str_col("seat")?,
        grade: str_at(r, "grade")?,
        version: u32_at(r, "version")?,
        status: parsed(r, "status", TicketStatus::parse)?,
        entries_used: u32_at(r, "entries_used")?,
        max_entries: u32_at(r, "max_entries")?,
    })
}

/// The finished answer of an idempotency key, if it has one (`status` is set on finish).
pub fn stored_response(r: &impl Columns) -> StoreResult<Option<StoredResponse>> {
    let Some(status) = r.opt_i64_col("status")? else { return Ok(None) };
    Ok(Some(StoredResponse {
        status: u16::try_from(status).map_err(|_| corrupt("status out of range"))?,
        content_type: str_at(r, "content_type")?,
        location: r.opt_str_col("location")?,
        headers: r.opt_str_col("headers")?.as_deref().map(decode_headers).unwrap_or_default(),
        body: r.bytes_col("body")?,
    }))
}

/// A stored answer's further headers as text, one `name: value` a line (a header value
/// cannot hold a line break, nor a header name a colon).
pub fn encode_headers(headers: &[(String, String)]) -> Option<String> {
    (!headers.is_empty()).then(|| headers.iter().map(|(n, v)| format!("{n}: {v}\n")).collect())
}

fn decode_headers(text: &str) -> Vec<(String, String)> {
    text.lines().filter_map(|l| l.split_once(": ")).map(|(n, v)| (n.to_owned(), v.to_owned())).collect()
}

/// `static_accepted, rotation_seconds, proof_window_seconds` of an event.
pub fn credential_policy(r: &impl Columns) -> StoreResult<admit_domain::CredentialPolicy> {
    Ok(admit_domain::CredentialPolicy {
        static_accepted: r.bool_col("static_accepted")?,
        rotation_seconds: u32_at(r, "rotation_seconds")?,
        proof_window_seconds: u32_at(r, "proof_window_seconds")?,
    })
}
