//! The demo: one organiser with a concert hall and a station, a reserved-seating concert with
//! VIP/R/S grades and two sessions, a general-admission festival with per-tier quotas, and a
//! train departure with a coach seat layout. Seeded once per data folder. Every start also
//! buys one seat of a separate phone demo event (with the approving test card) and prints its
//! one-time login link, so a newcomer can open the phone page at once.

use admit_credential::Issuer;
use admit_domain::{Currency, EntryPolicy, EventId, EventKind, OrganiserId, SeatingMode};
use admit_payments::{CardDetails, PaymentMethod};
use admit_server::AppState;
use admit_server::auth::issue_staff_token;
use admit_server::service::login_link;
use admit_server::service::purchase::{self, Paid};
use admit_store::{
    EventKeys, HoldRequest, NewEvent, NewGate, NewGrade, NewHold, NewSeat, NewSession, NewVenue, StaffRole, Store,
};
use chrono::{DateTime, FixedOffset};
use rand::{Rng, RngCore};
use std::net::SocketAddr;
use std::path::Path;

pub struct Seeded {
    pub fresh: bool,
    pub admin_token: String,
    pub gate_token: String,
}

const HOUR: i64 = 3600 * 1000;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn keys() -> EventKeys {
    let mut rng = rand::thread_rng();
    let issuer = Issuer::generate(rng.gen_range(1..u32::MAX));
    let mut inspection_key = [0u8; 32];
    rng.fill_bytes(&mut inspection_key);
    EventKeys {
        key_id: issuer.key_id(),
        signing_secret: issuer.secret_bytes(),
        public_key: issuer.public_key(),
        inspection_key,
    }
}

fn grade(code: &str, name: &str, seating: SeatingMode, price_minor: i64, quota: u32, max_entries: u32) -> NewGrade {
    NewGrade {
        code: code.into(),
        name: name.into(),
        seating,
        price_minor,
        policy: EntryPolicy::entries(max_entries),
        quota,
    }
}

/// `count` seats in each named row, ranked from `first_rank` in the order given.
fn rows(grade: &str, section: &str, labels: &[&str], count: i32, first_rank: i32) -> Vec<NewSeat> {
    let mut seats = Vec::new();
    for (i, row) in labels.iter().enumerate() {
        for n in 1..=count {
            seats.push(NewSeat {
                grade_code: grade.into(),
                section: section.into(),
                row: (*row).into(),
                row_rank: first_rank + i as i32,
                number: n,
                label: format!("{section} {row}-{n}"),
            });
        }
    }
    seats
}

/// Seoul's time (UTC+9, no daylight saving), the demo venues' local time.
fn seoul() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"))
}

/// A session starting on the first half hour at least `starts_in_h` hours from now, labelled
/// with its own local date and time (`prefix` first, e.g. "Departs"), so the label always says
/// when it is.
fn session(prefix: &str, starts_in_h: i64, length_h: i64) -> NewSession {
    let half_hour = HOUR / 2;
    let start = (now_ms() + starts_in_h * HOUR).div_euclid(half_hour) * half_hour + half_hour;
    let local = DateTime::from_timestamp_millis(start).map(|t| t.with_timezone(&seoul()));
    let when = local.map(|t| t.format("%a %-d %b %H:%M").to_string()).unwrap_or_default();
    NewSession {
        label: format!("{prefix}{}{when}", if prefix.is_empty() { "" } else { " " }),
        starts_at_ms: start,
        ends_at_ms: start + length_h * HOUR,
        // Doors open early enough that tonight's tickets scan right away in the demo.
        doors_at_ms: start - (starts_in_h.max(0) + 2) * HOUR,
    }
}

pub async fn seed(store: &dyn Store) -> anyhow::Result<Seeded> {
    let existing = store.list_events().await?;
    let organiser = match existing.first() {
        Some(e) => e.organiser_id,
        None => seed_events(store).await?,
    };
    Ok(Seeded {
        fresh: existing.is_empty(),
        admin_token: issue_staff_token(store, organiser, StaffRole::Admin, "demo admin").await?,
        gate_token: issue_staff_token(store, organiser, StaffRole::Gate, "demo gate").await?,
    })
}

async fn seed_events(store: &dyn Store) -> anyhow::Result<OrganiserId> {
    let org = store.create_organiser("Admit Demo Productions").await?;
    let hall = store
        .create_venue(NewVenue {
            organiser_id: org,
            name: "Olympic Hall".into(),
            city: "Seoul".into(),
            latitude: 37.5202,
            longitude: 127.1214,
            gates: vec![
                NewGate { name: "Gate A (north)".into(), latitude: 37.5207, longitude: 127.1213 },
                NewGate { name: "Gate B (south)".into(), latitude: 37.5197, longitude: 127.1216 },
            ],
        })
        .await?;
    let park = store
        .create_venue(NewVenue {
            organiser_id: org,
            name: "Yeouido Hangang Park".into(),
            city: "Seoul".into(),
            latitude: 37.5284,
            longitude: 126.9343,
            gates: vec![NewGate { name: "Main entrance".into(), latitude: 37.5271, longitude: 126.9330 }],
        })
        .await?;
    let station = store
        .create_venue(NewVenue {
            organiser_id: org,
            name: "Seoul Station".into(),
            city: "Seoul".into(),
            latitude: 37.5547,
            longitude: 126.9707,
            gates: vec![NewGate { name: "Platform 3 barrier".into(), latitude: 37.5551, longitude: 126.9712 }],
        })
        .await?;

    let mut seats = rows("VIP", "Floor", &["A", "B"], 20, 0);
    seats.extend(rows("R", "Floor", &["C", "D", "E", "F"], 24, 10));
    seats.extend(rows("S", "Balcony", &["G", "H", "J", "K"], 24, 20));
    store
        .create_event(NewEvent {
            organiser_id: org,
            venue_id: hall.id,
            name: "Aurora Live in Seoul".into(),
            kind: EventKind::Concert,
            description: "Reserved seating. VIP and R on the floor, S in the balcony.".into(),
            currency: Currency::KRW,
            route: None,
            grades: vec![
                grade("VIP", "VIP seat", SeatingMode::Reserved, 165_000, 0, 1),
                grade("R", "R seat", SeatingMode::Reserved, 132_000, 0, 1),
                grade("S", "S seat", SeatingMode::Reserved, 99_000, 0, 1),
            ],
            sessions: vec![session("", 2, 3), session("", 24, 3)],
            seats,
            keys: keys(),
        })
        .await?;
    store
        .create_event(NewEvent {
            organiser_id: org,
            venue_id: park.id,
            name: "Han River Summer Festival".into(),
            kind: EventKind::Concert,
            description: "General admission. The weekend pass allows re-entry: pass out at an exit lane and come \
                          back in, up to four entries."
                .into(),
            currency: Currency::KRW,
            route: None,
            grades: vec![
                grade("EARLY", "Early bird standing", SeatingMode::GeneralAdmission, 45_000, 200, 1),
                grade("GA", "Standing", SeatingMode::GeneralAdmission, 60_000, 1_000, 1),
                NewGrade {
                    policy: EntryPolicy { max_entries: 4, reentry: true, multi_day: false },
                    ..grade("PASS", "Weekend pass", SeatingMode::GeneralAdmission, 150_000, 50, 1)
                },
            ],
            sessions: vec![session("", 1, 10)],
            seats: Vec::new(),
            keys: keys(),
        })
        .await?;
    let mut coach = rows("FIRST", "Car 1", &["1", "2", "3", "4", "5", "6"], 3, 0);
    coach.extend(rows("STANDARD", "Car 2", &["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"], 4, 10));
    let train: EventId = store
        .create_event(NewEvent {
            organiser_id: org,
            venue_id: station.id,
            name: "KTX 101 Seoul → Busan".into(),
            kind: EventKind::Train,
            description: "High-speed train. First class in car 1, standard in car 2.".into(),
            currency: Currency::KRW,
            route: Some(("Seoul".into(), "Busan".into())),
            grades: vec![
                grade("FIRST", "First class", SeatingMode::Reserved, 83_700, 0, 1),
                grade("STANDARD", "Standard", SeatingMode::Reserved, 59_800, 0, 1),
            ],
            sessions: vec![session("Departs", 3, 3)],
            seats: coach,
            keys: keys(),
        })
        .await?;
    tracing::info!(train.event = %train, "demo events seeded");
    Ok(org)
}

/// The event the demo's phone tickets come from: its own, so the demo never sells what the
/// other demo events (and the tests that count them) have on sale.
const PHONE_EVENT: &str = "Seoul Jazz Night (phone ticket demo)";

/// The phone demo event, created at the first demo event's venue when it is missing.
async fn phone_event(store: &dyn Store) -> anyhow::Result<EventId> {
    let events = store.list_events().await?;
    if let Some(e) = events.iter().find(|e| e.name == PHONE_EVENT) {
        return Ok(e.id);
    }
    let host = events.first().ok_or_else(|| anyhow::anyhow!("no demo events to host the phone demo"))?;
    let id = store
        .create_event(NewEvent {
            organiser_id: host.organiser_id,
            venue_id: host.venue_id,
            name: PHONE_EVENT.into(),
            kind: EventKind::Concert,
            description: "A ticket for trying the phone page: two entries, so the gate and Check both work.".into(),
            currency: Currency::KRW,
            route: None,
            grades: vec![grade("A", "A seat", SeatingMode::Reserved, 50_000, 0, 2)],
            sessions: vec![session("", 3, 2)],
            seats: rows("A", "Hall", &["A", "B", "C", "D", "E"], 40, 0),
            keys: keys(),
        })
        .await?;
    Ok(id)
}

/// Buys one seat of the phone demo event with the approving test card and returns a fresh
/// one-time login link for it.
pub async fn phone_order(state: &AppState) -> anyhow::Result<String> {
    let store = state.store.as_ref();
    let detail = store.event(phone_event(store).await?).await?;
    let (session, grade) = match (detail.sessions.first(), detail.grades.first()) {
        (Some(s), Some(g)) => (s.id, g.id),
        _ => anyhow::bail!("the phone demo event has no session or grade"),
    };
    let now = now_ms();
    let hold = store
        .create_hold(NewHold {
            id: format!("demo-{:032x}", rand::random::<u128>()),
            session_id: session,
            request: HoldRequest::BestAvailable { grade, quantity: 1, require_adjacent: false },
            now_ms: now,
            expires_at_ms: now + 600_000,
        })
        .await?;
    let card = CardDetails::parse("4242424242424242", 12, 2034, "123")?;
    let order = match purchase::pay(state, &hold.id, PaymentMethod::Card(card)).await {
        Ok(Paid::New(order, _) | Paid::Existing(order)) => order,
        Err(e) => anyhow::bail!("paying for the demo ticket failed: {e}"),
    };
    login_link::mint(state, &order.id).await.map_err(|e| anyhow::anyhow!("{e}"))
}

pub fn print_welcome(seeded: &Seeded, addr: SocketAddr, data_dir: &Path, phone_link: Option<&str>) {
    let base = format!("http://{addr}");
    let state = if seeded.fresh { "seeded" } else { "reused" };
    println!(
        "
Admit demo is running ({state} data in {data}).

  Events         {base}/events
  OpenAPI        {base}/openapi.json
  Problem types  {base}/problems
  Gate page      {base}/gate   (staff phones and tablets: sign in with the gate token below)

  Staff tokens (shown once; only their hashes are stored):
    admin  {admin}
    gate   {gate}

  Phone page     {phone}
                 (a one-time login link for a demo ticket: open it in a phone browser
                  or a desktop browser's device mode; it works once, for 24 hours)

  Test cards: 4242 4242 4242 4242 approves; 4000 0000 0000 9995 insufficient funds;
              4000 0000 0000 9979 stolen; 4000 0000 0000 0069 expired; 4000 0000 0000 0119 times out.

  Try:  curl -s {base}/events
        curl -s -X POST {base}/holds -H 'content-type: application/json' \\
             -d '{{\"session_id\": 1, \"grade_id\": 1, \"quantity\": 2}}'

Press Ctrl-C to stop.
",
        data = data_dir.display(),
        admin = seeded.admin_token,
        gate = seeded.gate_token,
        phone = phone_link.map(|l| format!("{base}{l}")).unwrap_or_else(|| "(no phone demo ticket this time)".into()),
    );
}
