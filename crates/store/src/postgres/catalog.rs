//! Organisers, staff tokens, venues, events, sessions, grades, seats and availability.
//!
//! Seats are inserted in one `UNNEST` statement per session: an event of thousands of seats
//! is a handful of round trips, not thousands.

use super::shards;
use crate::decode::{self, EVENT_COLUMNS};
use crate::model::*;
use crate::rows::{is_unique_violation, key32, u32_at};
use crate::{StoreError, StoreResult};
use admit_domain::{EventId, GateId, OrganiserId, SeatingMode, SessionId, VenueId};
use sqlx::{PgConnection, PgPool};
use std::collections::{BTreeSet, HashMap};

pub async fn create_organiser(pool: &PgPool, name: &str) -> StoreResult<OrganiserId> {
    let id =
        sqlx::query_scalar("INSERT INTO organisers (name) VALUES ($1) RETURNING id").bind(name).fetch_one(pool).await?;
    Ok(OrganiserId(id))
}

pub async fn add_staff_token(
    pool: &PgPool,
    organiser: OrganiserId,
    role: StaffRole,
    hash: [u8; 32],
    label: &str,
) -> StoreResult<()> {
    let added = sqlx::query(
        "INSERT INTO staff_tokens (token_hash, organiser_id, role, label)
         SELECT $1, id, $3, $4 FROM organisers WHERE id = $2",
    )
    .bind(&hash[..])
    .bind(organiser.0)
    .bind(role.as_str())
    .bind(label)
    .execute(pool)
    .await?;
    if added.rows_affected() == 0 {
        return Err(StoreError::NotFound("organiser"));
    }
    Ok(())
}

pub async fn staff_by_token(pool: &PgPool, hash: [u8; 32]) -> StoreResult<Option<Staff>> {
    let row = sqlx::query("SELECT organiser_id, role, label FROM staff_tokens WHERE token_hash = $1")
        .bind(&hash[..])
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(decode::staff).transpose()
}

pub async fn create_venue(conn: &mut PgConnection, v: &NewVenue) -> StoreResult<Venue> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO venues (organiser_id, name, city, latitude, longitude) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(v.organiser_id.0)
    .bind(&v.name)
    .bind(&v.city)
    .bind(v.latitude)
    .bind(v.longitude)
    .fetch_one(&mut *conn)
    .await?;
    let mut gates = Vec::new();
    for g in &v.gates {
        let gid: i64 = sqlx::query_scalar(
            "INSERT INTO gates (venue_id, name, latitude, longitude) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(id)
        .bind(&g.name)
        .bind(g.latitude)
        .bind(g.longitude)
        .fetch_one(&mut *conn)
        .await?;
        gates.push(Gate {
            id: GateId(gid),
            venue_id: VenueId(id),
            organiser_id: v.organiser_id,
            name: g.name.clone(),
            latitude: g.latitude,
            longitude: g.longitude,
        });
    }
    Ok(Venue {
        id: VenueId(id),
        organiser_id: v.organiser_id,
        name: v.name.clone(),
        city: v.city.clone(),
        latitude: v.latitude,
        longitude: v.longitude,
        gates,
    })
}

pub async fn gate(pool: &PgPool, id: GateId) -> StoreResult<Gate> {
    let r = sqlx::query(
        "SELECT g.id, g.venue_id, v.organiser_id, g.name, g.latitude, g.longitude
         FROM gates g JOIN venues v ON v.id = g.venue_id WHERE g.id = $1",
    )
    .bind(id.0)
    .fetch_optional(pool)
    .await?
    .ok_or(StoreError::NotFound("gate"))?;
    decode::gate(&r)
}

pub async fn create_event(conn: &mut PgConnection, e: &NewEvent) -> StoreResult<EventId> {
    crate::rules::check_grade_policies(&e.grades)?;
    let owner: Option<i64> = sqlx::query_scalar("SELECT organiser_id FROM venues WHERE id = $1")
        .bind(e.venue_id.0)
        .fetch_optional(&mut *conn)
        .await?;
    if owner != Some(e.organiser_id.0) {
        return Err(StoreError::Invalid("the venue does not belong to this organiser".into()));
    }
    let mut labels = BTreeSet::new();
    if let Some(twice) = e.seats.iter().find(|s| !labels.insert(s.label.as_str())) {
        return Err(StoreError::Invalid(format!("seat label {} appears twice", twice.label)));
    }
    let (from, to) = e.route.clone().unzip();
    let event_id: i64 = sqlx::query_scalar(
        "INSERT INTO events (organiser_id, venue_id, name, kind, description, currency, route_from, route_to,
                             key_id, signing_secret, public_key, inspection_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
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
    .fetch_one(&mut *conn)
    .await
    .map_err(|err| match is_unique_violation(&err) {
        true => StoreError::Conflict("the key ID is already in use".into()),
        false => err.into(),
    })?;

    let mut grades: HashMap<&str, (i64, &NewGrade)> = HashMap::new();
    for g in &e.grades {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO grades (event_id, code, name, seating, price_minor, max_entries, reentry, multi_day)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(event_id)
        .bind(&g.code)
        .bind(&g.name)
        .bind(g.seating.as_str())
        .bind(g.price_minor)
        .bind(i64::from(g.policy.max_entries))
        .bind(g.policy.reentry)
        .bind(g.policy.multi_day)
        .fetch_one(&mut *conn)
        .await
        .map_err(|err| match is_unique_violation(&err) {
            true => StoreError::Invalid(format!("grade code {} appears twice", g.code)),
            false => err.into(),
        })?;
        grades.insert(&g.code, (id, g));
    }
    let mut seat_counts: HashMap<&str, u32> = HashMap::new();
    let mut seat_grades = Vec::with_capacity(e.seats.len());
    for s in &e.seats {
        match grades.get(s.grade_code.as_str()) {
            Some((id, g)) if g.seating == SeatingMode::Reserved => {
                *seat_counts.entry(&s.grade_code).or_default() += 1;
                seat_grades.push(*id);
            }
            _ => return Err(StoreError::Invalid(format!("seat {} names no reserved grade", s.label))),
        }
    }
    for session in &e.sessions {
        let sid: i64 = sqlx::query_scalar(
            "INSERT INTO sessions (event_id, label, starts_at, ends_at, doors_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(event_id)
        .bind(&session.label)
        .bind(session.starts_at_ms)
        .bind(session.ends_at_ms)
        .bind(session.doors_at_ms)
        .fetch_one(&mut *conn)
        .await?;
        let (mut grade_ids, mut totals) = (Vec::new(), Vec::new());
        for (code, (gid, g)) in &grades {
            grade_ids.push(*gid);
            totals.push(i64::from(match g.seating {
                SeatingMode::Reserved => seat_counts.get(code).copied().unwrap_or(0),
                SeatingMode::GeneralAdmission => g.quota,
            }));
        }
        shards::insert(conn, sid, &grade_ids, &totals).await?;
        insert_seats(conn, sid, &e.seats, &seat_grades).await?;
    }
    Ok(EventId(event_id))
}

/// One session's copy of the layout, in one statement.
async fn insert_seats(conn: &mut PgConnection, session: i64, seats: &[NewSeat], grades: &[i64]) -> StoreResult<()> {
    let column = |f: fn(&NewSeat) -> String| seats.iter().map(f).collect::<Vec<_>>();
    let ranks: Vec<i64> = seats.iter().map(|s| i64::from(s.row_rank)).collect();
    let numbers: Vec<i64> = seats.iter().map(|s| i64::from(s.number)).collect();
    sqlx::query(
        "INSERT INTO seats (session_id, grade_id, section, row_label, row_rank, number, label)
         SELECT $1, * FROM UNNEST($2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[], $6::BIGINT[], $7::TEXT[])",
    )
    .bind(session)
    .bind(grades)
    .bind(column(|s| s.section.clone()))
    .bind(column(|s| s.row.clone()))
    .bind(&ranks)
    .bind(&numbers)
    .bind(column(|s| s.label.clone()))
    .execute(&mut *conn)
    .await
    .map_err(|err| match is_unique_violation(&err) {
        true => StoreError::Invalid("a seat label appears twice".into()),
        false => err.into(),
    })?;
    Ok(())
}

pub async fn list_events(pool: &PgPool) -> StoreResult<Vec<Event>> {
    let rows = sqlx::query(&format!("SELECT {EVENT_COLUMNS} ORDER BY e.id")).fetch_all(pool).await?;
    rows.iter().map(decode::event).collect()
}

pub async fn event(pool: &PgPool, id: EventId) -> StoreResult<EventDetail> {
    let r = sqlx::query(&format!("SELECT {EVENT_COLUMNS} WHERE e.id = $1"))
        .bind(id.0)
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::NotFound("event"))?;
    let event = decode::event(&r)?;
    let sessions = sqlx::query("SELECT * FROM sessions WHERE event_id = $1 ORDER BY starts_at, id")
        .bind(id.0)
        .fetch_all(pool)
        .await?
        .iter()
        .map(decode::session)
        .collect::<StoreResult<_>>()?;
    let grades = sqlx::query(
        "SELECT g.*, e.currency FROM grades g JOIN events e ON e.id = g.event_id WHERE g.event_id = $1
         ORDER BY g.price_minor DESC, g.id",
    )
    .bind(id.0)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| decode::grade(r, id))
    .collect::<StoreResult<_>>()?;
    Ok(EventDetail { event, sessions, grades })
}

pub async fn session(pool: &PgPool, id: SessionId) -> StoreResult<Session> {
    let r = sqlx::query("SELECT * FROM sessions WHERE id = $1")
        .bind(id.0)
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::NotFound("session"))?;
    decode::session(&r)
}

pub async fn availability(pool: &PgPool, session: SessionId) -> StoreResult<Vec<GradeAvailability>> {
    let rows = sqlx::query("SELECT grade_id, total, held, sold FROM inventory WHERE session_id = $1 ORDER BY grade_id")
        .bind(session.0)
        .fetch_all(pool)
        .await?;
    if rows.is_empty() {
        return Err(StoreError::NotFound("session"));
    }
    rows.iter().map(decode::availability).collect()
}

pub async fn seats(pool: &PgPool, session: SessionId) -> StoreResult<Vec<Seat>> {
    // COLLATE "C": byte order, as SQLite sorts, whatever the database's locale.
    let rows =
        sqlx::query("SELECT * FROM seats WHERE session_id = $1 ORDER BY row_rank, row_label COLLATE \"C\", number")
            .bind(session.0)
            .fetch_all(pool)
            .await?;
    rows.iter().map(|r| decode::seat(r, session)).collect()
}

pub async fn event_keys(pool: &PgPool, event: EventId) -> StoreResult<EventKeys> {
    let r = sqlx::query("SELECT key_id, signing_secret, public_key, inspection_key FROM events WHERE id = $1")
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

pub async fn public_keys(pool: &PgPool) -> StoreResult<Vec<(u32, [u8; 32])>> {
    let rows = sqlx::query("SELECT key_id, public_key FROM events ORDER BY key_id").fetch_all(pool).await?;
    rows.iter().map(|r| Ok((u32_at(r, "key_id")?, key32(r, "public_key")?))).collect()
}
