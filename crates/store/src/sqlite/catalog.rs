//! Organisers, staff tokens, venues, events, sessions, grades, seats and availability.

use super::sql::{exec, exec_unique, insert, row, rows, scalar};
use crate::decode::{self, EVENT_COLUMNS};
use crate::model::*;
use crate::rows::{key32, u32_at};
use crate::{StoreError, StoreResult};
use admit_domain::{EventId, GateId, OrganiserId, SeatingMode, SessionId, VenueId};
use rusqlite::{Connection, params};
use std::collections::HashMap;

pub fn create_organiser(c: &Connection, name: &str) -> StoreResult<OrganiserId> {
    Ok(OrganiserId(insert(c, "INSERT INTO organisers (name) VALUES (?)", [name])?))
}

pub fn add_staff_token(
    c: &Connection,
    organiser: OrganiserId,
    role: StaffRole,
    hash: [u8; 32],
    label: &str,
) -> StoreResult<()> {
    let added = exec(
        c,
        "INSERT INTO staff_tokens (token_hash, organiser_id, role, label)
         SELECT ?, id, ?, ? FROM organisers WHERE id = ?",
        params![&hash[..], role.as_str(), label, organiser.0],
    )?;
    if added == 0 {
        return Err(StoreError::NotFound("organiser"));
    }
    Ok(())
}

pub fn staff_by_token(c: &Connection, hash: [u8; 32]) -> StoreResult<Option<Staff>> {
    let r = row(c, "SELECT organiser_id, role, label FROM staff_tokens WHERE token_hash = ?", [&hash[..]])?;
    r.as_ref().map(decode::staff).transpose()
}

/// Runs inside the caller's transaction (the write batch), so it is all or nothing.
pub fn create_venue(c: &Connection, v: NewVenue) -> StoreResult<Venue> {
    let id = insert(
        c,
        "INSERT INTO venues (organiser_id, name, city, latitude, longitude) VALUES (?, ?, ?, ?, ?)",
        params![v.organiser_id.0, v.name, v.city, v.latitude, v.longitude],
    )?;
    let mut gates = Vec::new();
    for g in v.gates {
        let gid = insert(
            c,
            "INSERT INTO gates (venue_id, name, latitude, longitude) VALUES (?, ?, ?, ?)",
            params![id, g.name, g.latitude, g.longitude],
        )?;
        gates.push(Gate {
            id: GateId(gid),
            venue_id: VenueId(id),
            organiser_id: v.organiser_id,
            name: g.name,
            latitude: g.latitude,
            longitude: g.longitude,
        });
    }
    Ok(Venue {
        id: VenueId(id),
        organiser_id: v.organiser_id,
        name: v.name,
        city: v.city,
        latitude: v.latitude,
        longitude: v.longitude,
        gates,
    })
}

pub fn gate(c: &Connection, id: GateId) -> StoreResult<Gate> {
    let r = row(
        c,
        "SELECT g.id, g.venue_id, v.organiser_id, g.name, g.latitude, g.longitude
         FROM gates g JOIN venues v ON v.id = g.venue_id WHERE g.id = ?",
        [id.0],
    )?
    .ok_or(StoreError::NotFound("gate"))?;
    decode::gate(&r)
}

/// Runs inside the caller's transaction (the write batch), so it is all or nothing.
pub fn create_event(c: &Connection, e: NewEvent) -> StoreResult<EventId> {
    crate::rules::check_grade_policies(&e.grades)?;
    let owner: Option<i64> = scalar(c, "SELECT organiser_id FROM venues WHERE id = ?", [e.venue_id.0])?;
    if owner != Some(e.organiser_id.0) {
        return Err(StoreError::Invalid("the venue does not belong to this organiser".into()));
    }
    let (from, to) = e.route.clone().unzip();
    exec_unique(
        c,
        "INSERT INTO events (organiser_id, venue_id, name, kind, description, currency, route_from, route_to,
                             key_id, signing_secret, public_key, inspection_key)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            e.organiser_id.0,
            e.venue_id.0,
            e.name,
            e.kind.as_str(),
            e.description,
            e.currency.code(),
            from,
            to,
            i64::from(e.keys.key_id),
            &e.keys.signing_secret[..],
            &e.keys.public_key[..],
            &e.keys.inspection_key[..],
        ],
        || StoreError::Conflict("the key ID is already in use".into()),
    )?;
    let event_id = c.last_insert_rowid();

    let mut grades: HashMap<&str, (i64, &NewGrade)> = HashMap::new();
    for g in &e.grades {
        exec_unique(
            c,
            "INSERT INTO grades (event_id, code, name, seating, price_minor, max_entries, reentry, multi_day)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                event_id,
                g.code,
                g.name,
                g.seating.as_str(),
                g.price_minor,
                i64::from(g.policy.max_entries),
                g.policy.reentry,
                g.policy.multi_day
            ],
            || StoreError::Invalid(format!("grade code {} appears twice", g.code)),
        )?;
        grades.insert(&g.code, (c.last_insert_rowid(), g));
    }
    let mut seat_counts: HashMap<&str, u32> = HashMap::new();
    for s in &e.seats {
        match grades.get(s.grade_code.as_str()) {
            Some((_, g)) if g.seating == SeatingMode::Reserved => *seat_counts.entry(&s.grade_code).or_default() += 1,
            _ => return Err(StoreError::Invalid(format!("seat {} names no reserved grade", s.label))),
        }
    }
    for session in &e.sessions {
        let sid = insert(
            c,
            "INSERT INTO sessions (event_id, label, starts_at, ends_at, doors_at) VALUES (?, ?, ?, ?, ?)",
            params![event_id, session.label, session.starts_at_ms, session.ends_at_ms, session.doors_at_ms],
        )?;
        for (code, (gid, g)) in &grades {
            let total = match g.seating {
                SeatingMode::Reserved => seat_counts.get(code).copied().unwrap_or(0),
                SeatingMode::GeneralAdmission => g.quota,
            };
            exec(
                c,
                "INSERT INTO inventory (session_id, grade_id, total) VALUES (?, ?, ?)",
                params![sid, gid, i64::from(total)],
            )?;
        }
        for s in &e.seats {
            exec_unique(
                c,
                "INSERT INTO seats (session_id, grade_id, section, row_label, row_rank, number, label)
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
                params![sid, grades[s.grade_code.as_str()].0, s.section, s.row, s.row_rank, s.number, s.label],
                || StoreError::Invalid(format!("seat label {} appears twice", s.label)),
            )?;
        }
    }
    Ok(EventId(event_id))
}

pub fn list_events(c: &Connection) -> StoreResult<Vec<Event>> {
    rows(c, &format!("SELECT {EVENT_COLUMNS} ORDER BY e.id"), [])?.iter().map(decode::event).collect()
}

pub fn event(c: &Connection, id: EventId) -> StoreResult<EventDetail> {
    let r = row(c, &format!("SELECT {EVENT_COLUMNS} WHERE e.id = ?"), [id.0])?.ok_or(StoreError::NotFound("event"))?;
    let event = decode::event(&r)?;
    let sessions = rows(c, "SELECT * FROM sessions WHERE event_id = ? ORDER BY starts_at, id", [id.0])?
        .iter()
        .map(decode::session)
        .collect::<StoreResult<_>>()?;
    let grades = rows(
        c,
        "SELECT g.*, e.currency FROM grades g JOIN events e ON e.id = g.event_id WHERE g.event_id = ? ORDER BY g.price_minor DESC, g.id",
        [id.0],
    )?
    .iter()
    .map(|r| decode::grade(r, id))
    .collect::<StoreResult<_>>()?;
    Ok(EventDetail { event, sessions, grades })
}

pub fn session(c: &Connection, id: SessionId) -> StoreResult<Session> {
    let r = row(c, "SELECT * FROM sessions WHERE id = ?", [id.0])?.ok_or(StoreError::NotFound("session"))?;
    decode::session(&r)
}

pub fn availability(c: &Connection, session: SessionId) -> StoreResult<Vec<GradeAvailability>> {
    let rows = rows(
        c,
        "SELECT grade_id, total, held, sold FROM inventory WHERE session_id = ? ORDER BY grade_id",
        [session.0],
    )?;
    if rows.is_empty() {
        return Err(StoreError::NotFound("session"));
    }
    rows.iter().map(decode::availability).collect()
}

pub fn seats(c: &Connection, session: SessionId) -> StoreResult<Vec<Seat>> {
    rows(c, "SELECT * FROM seats WHERE session_id = ? ORDER BY row_rank, row_label, number", [session.0])?
        .iter()
        .map(|r| decode::seat(r, session))
        .collect()
}

pub fn event_keys(c: &Connection, event: EventId) -> StoreResult<EventKeys> {
    let r = row(c, "SELECT key_id, signing_secret, public_key, inspection_key FROM events WHERE id = ?", [event.0])?
        .ok_or(StoreError::NotFound("event"))?;
    Ok(EventKeys {
        key_id: u32_at(&r, "key_id")?,
        signing_secret: key32(&r, "signing_secret")?,
        public_key: key32(&r, "public_key")?,
        inspection_key: key32(&r, "inspection_key")?,
    })
}

pub fn public_keys(c: &Connection) -> StoreResult<Vec<(u32, [u8; 32])>> {
    rows(c, "SELECT key_id, public_key FROM events ORDER BY key_id", [])?
        .iter()
        .map(|r| Ok((u32_at(r, "key_id")?, key32(r, "public_key")?)))
        .collect()
}
