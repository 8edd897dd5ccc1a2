//! Fixture builder: an organiser with a two-gate venue and an event on sale, created through
//! the `Store` trait only (so it works on every backend).
//!
//! The event has two sessions, reserved grades VIP and R laid out in rows of numbered seats,
//! and a general-admission grade GA with a quota and two entries per ticket.

use admit_credential::Issuer;
use admit_domain::{Currency, EntryPolicy, EventId, EventKind, GateId, GradeId, OrganiserId, SeatingMode, SessionId};
use admit_store::{EventKeys, Grade, NewEvent, NewGate, NewGrade, NewSeat, NewSession, NewVenue, Seat, Store, Venue};

/// 2026-01-01T00:00Z: the suite's "now" unless a test moves the clock.
pub const T0: i64 = 1_767_225_600_000;
pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;
/// How long the suite's holds last.
pub const TTL: i64 = 10 * MINUTE;

pub const VIP_PRICE: i64 = 150_000;
pub const R_PRICE: i64 = 99_000;
pub const GA_PRICE: i64 = 55_000;

/// What an event is made of; build it with [`World::builder`].
#[derive(Debug, Clone)]
pub struct WorldBuilder {
    vip: (u32, u32),
    r: (u32, u32),
    ga_quota: u32,
    ga_policy: EntryPolicy,
    host: Option<(OrganiserId, Venue)>,
}

/// An event on sale and everything around it.
#[derive(Debug, Clone)]
pub struct World {
    pub organiser: OrganiserId,
    pub venue: Venue,
    pub event: EventId,
    pub keys: EventKeys,
    pub sessions: [SessionId; 2],
    pub vip: Grade,
    pub r: Grade,
    pub ga: Grade,
}

impl World {
    /// Defaults: VIP 2 rows of 6, R 2 rows of 8, GA quota 20.
    pub fn builder() -> WorldBuilder {
        WorldBuilder { vip: (2, 6), r: (2, 8), ga_quota: 20, ga_policy: EntryPolicy::entries(2), host: None }
    }

    /// The first session: where most tests sell.
    pub fn session(&self) -> SessionId {
        self.sessions[0]
    }

    pub fn gate(&self, i: usize) -> GateId {
        self.venue.gates[i].id
    }

    /// The session's seats of one grade, best rows first.
    pub async fn seats_of(&self, store: &dyn Store, session: SessionId, grade: GradeId) -> Vec<Seat> {
        let seats = store.seats(session).await.expect("seats");
        seats.into_iter().filter(|s| s.grade_id == grade).collect()
    }
}

impl WorldBuilder {
    /// VIP seats: `rows` rows (A, B, …) of `per_row` seats.
    pub fn vip(mut self, rows: u32, per_row: u32) -> Self {
        self.vip = (rows, per_row);
        self
    }

    /// R seats: rows after VIP's, `per_row` seats each.
    pub fn r(mut self, rows: u32, per_row: u32) -> Self {
        self.r = (rows, per_row);
        self
    }

    pub fn ga_quota(mut self, quota: u32) -> Self {
        self.ga_quota = quota;
        self
    }

    /// GA's entry policy (default: two entries).
    pub fn ga_policy(mut self, policy: EntryPolicy) -> Self {
        self.ga_policy = policy;
        self
    }

    /// A second event of the same organiser at the same venue.
    pub fn hosted_like(mut self, other: &World) -> Self {
        self.host = Some((other.organiser, other.venue.clone()));
        self
    }

    pub async fn build(self, store: &dyn Store) -> World {
        let (organiser, venue) = match self.host.clone() {
            Some(host) => host,
            None => host(store, "Seoul Arts Presents").await,
        };
        let keys = event_keys();
        let event = self.new_event(organiser, &venue, keys.clone());
        let event = store.create_event(event).await.expect("create_event");
        let detail = store.event(event).await.expect("event");
        let grade = |code: &str| detail.grades.iter().find(|g| g.code == code).cloned().expect("grade");
        World {
            organiser,
            venue,
            event,
            keys,
            sessions: [detail.sessions[0].id, detail.sessions[1].id],
            vip: grade("VIP"),
            r: grade("R"),
            ga: grade("GA"),
        }
    }

    /// The `NewEvent` this builder describes, for tests that create it themselves.
    pub fn new_event(&self, organiser: OrganiserId, venue: &Venue, keys: EventKeys) -> NewEvent {
        let grade = |code: &str, seating, price_minor, policy, quota| NewGrade {
            code: code.into(),
            name: format!("{code} seat"),
            seating,
            price_minor,
            policy,
            quota,
        };
        let mut seats = rows("VIP", "Floor", 0, self.vip);
        seats.extend(rows("R", "Balcony", self.vip.0, self.r));
        NewEvent {
            organiser_id: organiser,
            venue_id: venue.id,
            name: "Conformance Live".into(),
            kind: EventKind::Concert,
            description: "An event created by the store conformance suite.".into(),
            currency: Currency::KRW,
            route: None,
            grades: vec![
                grade("VIP", SeatingMode::Reserved, VIP_PRICE, EntryPolicy::SINGLE, 0),
                grade("R", SeatingMode::Reserved, R_PRICE, EntryPolicy::SINGLE, 0),
                grade("GA", SeatingMode::GeneralAdmission, GA_PRICE, self.ga_policy, self.ga_quota),
            ],
            sessions: (0..2)
                .map(|day| NewSession {
                    label: format!("Day {}", day + 1),
                    starts_at_ms: T0 + (24 * day + 19) * HOUR,
                    ends_at_ms: T0 + (24 * day + 22) * HOUR,
                    doors_at_ms: T0 + (24 * day + 18) * HOUR,
                })
                .collect(),
            seats,
            keys,
        }
    }
}

/// A new organiser owning a venue with two gates.
pub async fn host(store: &dyn Store, name: &str) -> (OrganiserId, Venue) {
    let organiser = store.create_organiser(name).await.expect("create_organiser");
    let gate = |name: &str, latitude| NewGate { name: name.into(), latitude, longitude: 127.0 };
    let venue = store
        .create_venue(NewVenue {
            organiser_id: organiser,
            name: format!("{name} Hall"),
            city: "Seoul".into(),
            latitude: 37.5,
            longitude: 127.0,
            gates: vec![gate("North", 37.51), gate("South", 37.49)],
        })
        .await
        .expect("create_venue");
    (organiser, venue)
}

/// A real Ed25519 signing key and a random inspection key under a random key ID.
pub fn event_keys() -> EventKeys {
    let issuer = Issuer::generate(rand::random::<u32>() >> 1);
    EventKeys {
        key_id: issuer.key_id(),
        signing_secret: issuer.secret_bytes(),
        public_key: issuer.public_key(),
        inspection_key: rand::random(),
    }
}

/// `rows` rows of `per_row` seats, lettered after the `first_row` rows before them.
fn rows(grade: &str, section: &str, first_row: u32, (rows, per_row): (u32, u32)) -> Vec<NewSeat> {
    let mut seats = Vec::new();
    for r in first_row..first_row + rows {
        let row = char::from(b'A' + r as u8).to_string();
        for number in 1..=per_row as i32 {
            seats.push(NewSeat {
                grade_code: grade.into(),
                section: section.into(),
                row: row.clone(),
                row_rank: r as i32 + 1,
                number,
                label: format!("{row}-{number}"),
            });
        }
    }
    seats
}
