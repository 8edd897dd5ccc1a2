//! The world every test starts from, seeded through the `Store` trait only: two organisers
//! with their venues, gates and staff tokens, a reserved-seating concert (VIP/R/S, two
//! sessions), a general-admission festival (one grade allows two entries) and the rival
//! organiser's own event for isolation tests. Every session's doors are open now, so tickets
//! scan straight away.

use admit_credential::Issuer;
use admit_domain::{Currency, EntryPolicy, EventId, EventKind, GateId, GradeId, OrganiserId, SeatingMode, SessionId};
use admit_server::auth::issue_staff_token;
use admit_store::{EventKeys, NewEvent, NewGate, NewGrade, NewSeat, NewSession, NewVenue, StaffRole, Store, Venue};
use rand::Rng;

pub const HOUR: i64 = 3_600_000;
pub const VIP_PRICE: i64 = 165_000;
pub const R_PRICE: i64 = 132_000;
pub const S_PRICE: i64 = 99_000;
pub const GA_PRICE: i64 = 60_000;
pub const PASS_PRICE: i64 = 150_000;

/// How big the seeded events are: `(rows, seats per row)` per reserved grade, quotas per
/// general-admission grade.
#[derive(Debug, Clone)]
pub struct Layout {
    pub vip: (u32, u32),
    pub r: (u32, u32),
    pub s: (u32, u32),
    pub ga_quota: u32,
    pub pass_quota: u32,
}

impl Default for Layout {
    fn default() -> Self {
        Layout { vip: (2, 6), r: (2, 8), s: (2, 10), ga_quota: 20, pass_quota: 5 }
    }
}

/// An organiser with one admin and one gate-staff token.
#[derive(Debug, Clone)]
pub struct Organiser {
    pub id: OrganiserId,
    pub admin_token: String,
    pub gate_token: String,
}

/// The reserved-seating concert at the hall.
#[derive(Debug, Clone)]
pub struct Concert {
    pub event: EventId,
    pub sessions: [SessionId; 2],
    pub vip: GradeId,
    pub r: GradeId,
    pub s: GradeId,
    pub keys: EventKeys,
}

/// The general-admission festival at the park: GA single entry, PASS two entries.
#[derive(Debug, Clone)]
pub struct Festival {
    pub event: EventId,
    pub session: SessionId,
    pub ga: GradeId,
    pub pass: GradeId,
}

/// The other organiser's event at its own arena.
#[derive(Debug, Clone)]
pub struct RivalEvent {
    pub event: EventId,
    pub session: SessionId,
    pub grade: GradeId,
}

#[derive(Debug, Clone)]
pub struct World {
    pub organiser: Organiser,
    pub rival: Organiser,
    /// The concert hall's two gates.
    pub hall_gates: [GateId; 2],
    /// The festival park's gate: same organiser, another venue.
    pub park_gate: GateId,
    pub rival_gate: GateId,
    pub concert: Concert,
    pub festival: Festival,
    pub rival_event: RivalEvent,
}

pub async fn seed(store: &dyn Store, layout: &Layout) -> World {
    let (organiser, hall) = host(store, "Aurora Productions", "Olympic Hall", 2).await;
    let park = venue(store, organiser.id, "River Park", 1).await;
    let (rival, arena) = host(store, "Rival Promotions", "Rival Arena", 1).await;

    let mut seats = rows("VIP", "Floor", &["A", "B"], layout.vip, 0);
    seats.extend(rows("R", "Floor", &["C", "D", "E", "F"], layout.r, 10));
    seats.extend(rows("S", "Balcony", &["G", "H", "J", "K", "L", "M"], layout.s, 20));
    let concert_keys = event_keys();
    let concert = NewEvent {
        organiser_id: organiser.id,
        venue_id: hall.id,
        name: "Aurora Live".into(),
        kind: EventKind::Concert,
        description: "Reserved seating: VIP and R on the floor, S in the balcony.".into(),
        currency: Currency::KRW,
        route: None,
        grades: vec![
            grade("VIP", SeatingMode::Reserved, VIP_PRICE, 0, 1),
            grade("R", SeatingMode::Reserved, R_PRICE, 0, 1),
            grade("S", SeatingMode::Reserved, S_PRICE, 0, 1),
        ],
        sessions: vec![session("Tonight", 1), session("Tomorrow", 25)],
        seats,
        keys: concert_keys.clone(),
    };
    let festival = NewEvent {
        venue_id: park.id,
        name: "River Festival".into(),
        description: "General admission; the PASS allows re-entry.".into(),
        grades: vec![
            grade("GA", SeatingMode::GeneralAdmission, GA_PRICE, layout.ga_quota, 1),
            grade("PASS", SeatingMode::GeneralAdmission, PASS_PRICE, layout.pass_quota, 2),
        ],
        sessions: vec![session("Saturday", 1)],
        seats: Vec::new(),
        keys: event_keys(),
        ..concert.clone()
    };
    let rival_event = NewEvent {
        organiser_id: rival.id,
        venue_id: arena.id,
        name: "Rival Night".into(),
        description: "Another organiser's show.".into(),
        grades: vec![grade("GA", SeatingMode::GeneralAdmission, GA_PRICE, 10, 1)],
        sessions: vec![session("Friday", 2)],
        seats: Vec::new(),
        keys: event_keys(),
        ..concert.clone()
    };

    let concert = store.create_event(concert).await.expect("create the concert");
    let festival = store.create_event(festival).await.expect("create the festival");
    let rival_event = store.create_event(rival_event).await.expect("create the rival event");
    let detail = |id| async move { store.event(id).await.expect("read back the event") };
    let (c, f, r) = (detail(concert).await, detail(festival).await, detail(rival_event).await);
    let grade_id = |grades: &[admit_store::Grade], code: &str| {
        grades.iter().find(|g| g.code == code).map(|g| g.id).expect("seeded grade")
    };
    World {
        hall_gates: [hall.gates[0].id, hall.gates[1].id],
        park_gate: park.gates[0].id,
        rival_gate: arena.gates[0].id,
        concert: Concert {
            event: concert,
            sessions: [c.sessions[0].id, c.sessions[1].id],
            vip: grade_id(&c.grades, "VIP"),
            r: grade_id(&c.grades, "R"),
            s: grade_id(&c.grades, "S"),
            keys: concert_keys,
        },
        festival: Festival {
            event: festival,
            session: f.sessions[0].id,
            ga: grade_id(&f.grades, "GA"),
            pass: grade_id(&f.grades, "PASS"),
        },
        rival_event: RivalEvent { event: rival_event, session: r.sessions[0].id, grade: grade_id(&r.grades, "GA") },
        organiser,
        rival,
    }
}

/// An organiser with staff tokens and a venue of `gates` gates.
async fn host(store: &dyn Store, name: &str, venue_name: &str, gates: usize) -> (Organiser, Venue) {
    let id = store.create_organiser(name).await.expect("create organiser");
    let admin_token = issue_staff_token(store, id, StaffRole::Admin, "test admin").await.expect("admin token");
    let gate_token = issue_staff_token(store, id, StaffRole::Gate, "test gate").await.expect("gate token");
    (Organiser { id, admin_token, gate_token }, venue(store, id, venue_name, gates).await)
}

async fn venue(store: &dyn Store, organiser: OrganiserId, name: &str, gates: usize) -> Venue {
    let gate =
        |i: usize| NewGate { name: format!("Gate {}", i + 1), latitude: 37.5 + i as f64 / 1000.0, longitude: 127.0 };
    store
        .create_venue(NewVenue {
            organiser_id: organiser,
            name: name.into(),
            city: "Seoul".into(),
            latitude: 37.5,
            longitude: 127.0,
            gates: (0..gates).map(gate).collect(),
        })
        .await
        .expect("create venue")
}

fn grade(code: &str, seating: SeatingMode, price_minor: i64, quota: u32, max_entries: u32) -> NewGrade {
    NewGrade {
        code: code.into(),
        name: format!("{code} ticket"),
        seating,
        price_minor,
        policy: EntryPolicy::entries(max_entries),
        quota,
    }
}

/// A session starting `starts_in_h` hours from now whose doors opened an hour ago.
fn session(label: &str, starts_in_h: i64) -> NewSession {
    let now = now_ms();
    let starts = now + starts_in_h * HOUR;
    NewSession { label: label.into(), starts_at_ms: starts, ends_at_ms: starts + 3 * HOUR, doors_at_ms: now - HOUR }
}

/// `rows` rows (taken from `labels`) of `per_row` seats, ranked from `first_rank`.
fn rows(grade: &str, section: &str, labels: &[&str], (rows, per_row): (u32, u32), first_rank: i32) -> Vec<NewSeat> {
    assert!(rows as usize <= labels.len(), "not enough row labels for grade {grade}");
    let mut seats = Vec::new();
    for (rank, row) in labels.iter().take(rows as usize).enumerate() {
        for number in 1..=per_row as i32 {
            seats.push(NewSeat {
                grade_code: grade.into(),
                section: section.into(),
                row: (*row).into(),
                row_rank: first_rank + rank as i32,
                number,
                label: format!("{row}-{number}"),
            });
        }
    }
    seats
}

/// A real signing key under a random key ID below 2^30 (tests mint unknown IDs above it).
fn event_keys() -> EventKeys {
    let mut rng = rand::thread_rng();
    let issuer = Issuer::generate(rng.gen_range(1..1 << 30));
    EventKeys {
        key_id: issuer.key_id(),
        signing_secret: issuer.secret_bytes(),
        public_key: issuer.public_key(),
        inspection_key: rng.r#gen(),
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// A one-seat event at the hall whose only seat is labelled `label`: with a label longer than
/// a credential carries, its ticket can never be signed. Returns its session and grade.
pub async fn one_seat_event(store: &dyn Store, world: &World, label: &str) -> (SessionId, GradeId) {
    let venue = store.gate(world.hall_gates[0]).await.expect("the hall's gate").venue_id;
    let mut seat = rows("VIP", "Floor", &["A"], (1, 1), 0);
    seat[0].label = label.into();
    let event = NewEvent {
        organiser_id: world.organiser.id,
        venue_id: venue,
        name: "One Seat".into(),
        kind: EventKind::Concert,
        description: "A single reserved seat.".into(),
        currency: Currency::KRW,
        route: None,
        grades: vec![grade("VIP", SeatingMode::Reserved, VIP_PRICE, 0, 1)],
        sessions: vec![session("Tonight", 30)],
        seats: seat,
        keys: event_keys(),
    };
    let id = store.create_event(event).await.expect("create the one-seat event");
    let detail = store.event(id).await.expect("read back the one-seat event");
    (detail.sessions[0].id, detail.grades[0].id)
}
