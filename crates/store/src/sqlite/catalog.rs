//! Organisers, staff tokens, venues, events, sessions, grades, seats and availability.

use crate::decode::{self, EVENT_COLUMNS};
use crate::model::*;
use crate::rows::{is_unique_violation, key32, u32_at};
use crate::{StoreError, StoreResult};
use admit_domain::{EventId, GateId, OrganiserId, SeatingMode, SessionId, VenueId};
use sqlx::{SqliteConnection, SqlitePool};
use std::collections::HashMap;

pub async fn create_organiser(conn: &mut SqliteConnection, name: &str) -> StoreResult<OrganiserId> {
    let id =
        sqlx::query("INSERT INTO organisers (name) VALUES (?)").bind(name).execute(conn).await?.last_insert_rowid();
    Ok(OrganiserId(id))
}

pub async fn add_staff_token(
    conn: &mut SqliteConnection,
    organiser: OrganiserId,
    role: StaffRole,
    hash: [u8; 32],
    label: &str,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO staff_tokens (token_hash, organiser_id, role, label) VALUES (?, ?, ?, ?)")
        .bind(&hash[..])
        .bind(organiser.0)
        .bind(role.as_str())
        .bind(label)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn staff_by_token(pool: &SqlitePool, hash: [u8; 32]) -> StoreResult<Option<Staff>> {
    let row = sqlx::query("SELECT organiser_id, role, label FROM staff_tokens WHERE token_hash = ?")
        .bind(&hash[..])
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(decode::staff).transpose()
}

/// Runs inside the caller's transaction (the write batch), so it is all or nothing.
pub async fn create_venue(tx: &mut SqliteConnection, v: NewVenue) -> StoreResult<Venue> {
    let id = sqlx::query("INSERT INTO venues (organiser_id, name, city, latitude, longitude) VALUES (?, ?, ?, ?, ?)")
        .bind(v.organiser_id.0)
        .bind(&v.name)
        .bind(&v.city)
        .bind(v.latitude)
        .bind(v.longitude)
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
    let mut gates = Vec::new();
    for g in v.gates {
        let gid = sqlx::query("INSERT INTO gates (venue_id, name, latitude, longitude) VALUES (?, ?, ?, ?)")
            .bind(id)
            .bind(&g.name)
            .bind(g.latitude)
            .bind(g.longitude)
            .execute(&mut *tx)
            .await?
            .last_insert_rowid();
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

pub async fn gate(pool: &SqlitePool, id: GateId) -> StoreResult<Gate> {
    let r = sqlx::query(
        "SELECT g.id, g.venue_id, v.organiser_id, g.name, g.latitude, g.longitude
         FROM gates g JOIN venues v ON v.id = g.venue_id WHERE g.id = ?",
    )
    .bind(id.0)
    .fetch_optional(pool)
    .await?
    .ok_or(StoreError::NotFound("gate"))?;
    decode::gate(&r)
}

/// Runs inside the caller's transaction (the write batch), so it is all or nothing.
pub async fn create_event(tx: &mut SqliteConnection, e: NewEvent) -> StoreResult<EventId> {
    crate::rules::check_grade_policies(&e.grades)?;
    let owner: Option<i64> = sqlx::query_scalar("SELECT organiser_id FROM venues WHERE id = ?")
        .bind(e.venue_id.0)
        .fetch_optional(&mut *tx)
        .await?;
    if owner != Some(e.organiser_id.0) {
        return Err(StoreError::Invalid("the venue does not belong to this organiser".into()));
    }
    let (from, to) = e.route.clone().unzip();
    let event_id = sqlx::query(
        "INSERT INTO events (organiser_id, venue_id, name, kind, description, currency, route_from, route_to,
                             key_id, signing_secret, public_key, inspection_key)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(e.organiser_id.0)
    .bind(e.venue_id.0)
    .bind(&e.name)
    .bind(e.kind.as_str())
    .bind(&e.description)
    .bind(e.currency.code())
    .bind(from)
    .bind(to)
    .bind(i64::from(e.keys.key_id))
    .bind(&e.keys.signing_secret[..])
    .bind(&e.keys.public_key[..])
    .bind(&e.keys.inspection_key[..])
    .execute(&mut *tx)
    .await
    .map_err(|err| match is_unique_violation(&err) {
        true => StoreError::Conflict("the key ID is already in use".into()),
        false => err.into(),
    })?
    .last_insert_rowid();

    let mut grades: HashMap<&str, (i64, &NewGrade)> = HashMap::new();
    for g in &e.grades {
        let id = sqlx::query(
            "INSERT INTO grades (event_id, code, name, seating, price_minor, max_entries, reentry, multi_day)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(event_id)
        .bind(&g.code)
        .bind(&g.name)
        .bind(g.seating.as_str())
        .bind(g.price_minor)
        .bind(i64::from(g.policy.max_entries))
        .bind(g.policy.reentry)
        .bind(g.policy.multi_day)
        .execute(&mut *tx)
        .await
        .map_err(|err| match is_unique_violation(&err) {
            true => StoreError::Invalid(format!("grade code {} appears twice", g.code)),
            false => err.into(),
        })?
        .last_insert_rowid();
        grades.insert(&g.code, (id, g));
    }
    let mut seat_counts: HashMap<&str, u32> = HashMap::new();
    for s in &e.seats {
        match grades.get(s.grade_code.as_str()) {
            Some((_, g)) if g.seating == SeatingMode::Reserved => *seat_counts.entry(&s.grade_code).or_default() += 1,
            _ => return Err(StoreError::Invalid(format!("seat {} names no reserved grade", s.label))),
        }
    }
    for session in &e.sessions {
        let sid =
            sqlx::query("INSERT INTO sessions (event_id, label, starts_at, ends_at, doors_at) VALUES (?, ?, ?, ?, ?)")
                .bind(event_id)
                .bind(&session.label)
                .bind(session.starts_at_ms)
                .bind(session.ends_at_ms)
                .bind(session.doors_at_ms)
                .execute(&mut *tx)
                .await?
                .last_insert_rowid();
        for (code, (gid, g)) in &grades {
            let total = match g.seating {
                SeatingMode::Reserved => seat_counts.get(code).copied().unwrap_or(0),
                SeatingMode::GeneralAdmission => g.quota,
            };
            sqlx::query("INSERT INTO inventory (session_id, grade_id, total) VALUES (?, ?, ?)")
                .bind(sid)
                .bind(gid)
                .bind(i64::from(total))
                .execute(&mut *tx)
                .await?;
        }
        for s in &e.seats {
            sqlx::query(
                "INSERT INTO seats (session_id, grade_id, section, row_label, row_rank, number, label)
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(sid)
            .bind(grades[s.grade_code.as_str()].0)
            .bind(&s.section)
            .bind(&s.row)
            .bind(s.row_rank)
            .bind(s.number)
            .bind(&s.label)
            .execute(&mut *tx)
            .await
            .map_err(|err| match is_unique_violation(&err) {
                true => StoreError::Invalid(format!("seat label {} appears twice", s.label)),
                false => err.into(),
            })?;
        }
    }
    Ok(EventId(event_id))
}

pub async fn list_events(pool: &SqlitePool) -> StoreResult<Vec<Event>> {
    let rows = sqlx::query(&format!("SELECT {EVENT_COLUMNS} ORDER BY e.id")).fetch_all(pool).await?;
    rows.iter().map(decode::event).collect()
}

pub async fn event(pool: &SqlitePool, id: EventId) -> StoreResult<EventDetail> {
    let r = sqlx::query(&format!("SELECT {EVENT_COLUMNS} WHERE e.id = ?"))
        .bind(id.0)
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::NotFound("event"))?;
    let event = decode::event(&r)?;
    let sessions = sqlx::query("SELECT * FROM sessions WHERE event_id = ? ORDER BY starts_at, id")
        .bind(id.0)
        .fetch_all(pool)
        .await?
        .iter()
        .map(decode::session)
        .collect::<StoreResult<_>>()?;
    let grades = sqlx::query(
        "SELECT g.*, e.currency FROM grades g JOIN events e ON e.id = g.event_id WHERE g.event_id = ? ORDER BY g.price_minor DESC, g.id",
    )
    .bind(id.0)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| decode::grade(r, id))
    .collect::<StoreResult<_>>()?;
    Ok(EventDetail { event, sessions, grades })
}

pub async fn session(pool: &SqlitePool, id: SessionId) -> StoreResult<Session> {
    let r = sqlx::query("SELECT * FROM sessions WHERE id = ?")
        .bind(id.0)
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::NotFound("session"))?;
    decode::session(&r)
}

pub async fn availability(pool: &SqlitePool, session: SessionId) -> StoreResult<Vec<GradeAvailability>> {
    let rows = sqlx::query("SELECT grade_id, total, held, sold FROM inventory WHERE session_id = ? ORDER BY grade_id")
        .bind(session.0)
        .fetch_all(pool)
        .await?;
    if rows.is_empty() {
        return Err(StoreError::NotFound("session"));
    }
    rows.iter().map(decode::availability).collect()
}

pub async fn seats(pool: &SqlitePool, session: SessionId) -> StoreResult<Vec<Seat>> {
    let rows = sqlx::query("SELECT * FROM seats WHERE session_id = ? ORDER BY row_rank, row_label, number")
        .bind(session.0)
        .fetch_all(pool)
        .await?;
    rows.iter().map(|r| decode::seat(r, session)).collect()
}

pub async fn event_keys(pool: &SqlitePool, event: EventId) -> StoreResult<EventKeys> {
    let r = sqlx::query("SELECT key_id, signing_secret, public_key, inspection_key FROM events WHERE id = ?")
        .bind(event.0)
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::NotFound("event"))?;
    Ok(EventKeys {
        key_id: u32_at(&r, "key_id")?,
        signing_secret: key32(&r, "signing_secret")?,
        public_key: key32(&r, "public_key")?,
        inspection_key: key32(&r, "inspection_key")?,
    })
}

pub async fn public_keys(pool: &SqlitePool) -> StoreResult<Vec<(u32, [u8; 32])>> {
    let rows = sqlx::query("SELECT key_id, public_key FROM events ORDER BY key_id").fetch_all(pool).await?;
    rows.iter().map(|r| Ok((u32_at(r, "key_id")?, key32(r, "public_key")?))).collect()
}
