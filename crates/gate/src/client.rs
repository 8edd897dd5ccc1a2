//! Talking to the Admit server: enrolment and the gates to enrol at (with a staff token), sync pages, scan uploads and
//! online checks (with the terminal's device token). Every request has a timeout; nothing here
//! can hang the terminal.

use crate::model::{Enrolment, PendingScan, SyncPage, SyncSession, SyncTicket, Verdict};
use crate::places::GateChoice;
use crate::{GateError, now_ms};
use admit_domain::{DenyReason, Direction, EntryPolicy};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// How long a sync page or an upload may take before it is given up (and tried again later).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

fn http(timeout: Duration) -> Result<reqwest::Client, GateError> {
    Ok(reqwest::Client::builder().timeout(timeout).connect_timeout(timeout.min(Duration::from_secs(5))).build()?)
}

/// The problem document's `detail`, or the body as text.
async fn refused(response: reqwest::Response) -> GateError {
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    let detail =
        serde_json::from_str::<Value>(&body).ok().and_then(|v| v["detail"].as_str().map(str::to_owned)).unwrap_or(body);
    GateError::Refused { status, detail }
}

async fn json_of<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> Result<T, GateError> {
    if !response.status().is_success() {
        return Err(refused(response).await);
    }
    response.json().await.map_err(|e| GateError::Protocol(e.to_string()))
}

/// Enrols this terminal at `gate` with an organiser's staff token; the answer is what the
/// local file keeps.
pub async fn enrol(server: &str, staff_token: &str, gate: i64, name: Option<&str>) -> Result<Enrolment, GateError> {
    #[derive(Deserialize)]
    struct Enrolled {
        device_id: i64,
        device_token: String,
        gate_id: i64,
        venue_id: i64,
        name: String,
    }
    let server = server.trim_end_matches('/').to_owned();
    let response = http(REQUEST_TIMEOUT)?
        .post(format!("{server}/gate/devices"))
        .bearer_auth(staff_token)
        .json(&json!({ "gate_id": gate, "name": name }))
        .send()
        .await?;
    let e: Enrolled = json_of(response).await?;
    Ok(Enrolment {
        server,
        device_id: e.device_id,
        device_token: e.device_token,
        gate_id: e.gate_id,
        venue_id: e.venue_id,
        name: e.name,
        enrolled_at_ms: now_ms(),
    })
}

/// The gates a staff token's organiser has, venue by venue (`GET /gate/places`), to enrol at.
pub async fn gate_choices(server: &str, staff_token: &str) -> Result<Vec<GateChoice>, GateError> {
    #[derive(Deserialize)]
    struct Places {
        venues: Vec<PlaceVenue>,
    }
    #[derive(Deserialize)]
    struct PlaceVenue {
        id: i64,
        name: String,
        gates: Vec<PlaceGate>,
    }
    #[derive(Deserialize)]
    struct PlaceGate {
        id: i64,
        name: String,
    }
    let server = server.trim_end_matches('/');
    let response = http(REQUEST_TIMEOUT)?.get(format!("{server}/gate/places")).bearer_auth(staff_token).send().await?;
    let places: Places = json_of(response).await?;
    Ok(places
        .venues
        .into_iter()
        .flat_map(|v| {
            v.gates.into_iter().map(move |g| GateChoice {
                id: g.id,
                name: g.name,
                venue_id: v.id,
                venue: v.name.clone(),
            })
        })
        .collect())
}

/// The server as one enrolled terminal sees it.
#[derive(Clone)]
pub struct ServerClient {
    base: String,
    token: String,
    device_id: i64,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct SyncDto {
    keys: Vec<KeyDto>,
    #[serde(default)]
    other_event_keys: Vec<KeyDto>,
    sessions: Vec<SessionDto>,
    tickets: Vec<TicketDto>,
    total_tickets: Option<u64>,
    next_page: Option<String>,
    cursor: String,
}

#[derive(Deserialize)]
struct KeyDto {
    key_id: u32,
    public_key: String,
}

#[derive(Deserialize)]
struct SessionDto {
    id: i64,
    event_id: i64,
    event_name: String,
    name: String,
    starts_at: DateTime<Utc>,
    doors_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    key_id: u32,
    grades: Vec<GradeDto>,
    credential_policy: PolicyDto,
}

#[derive(Deserialize)]
struct GradeDto {
    code: String,
    max_entries: u32,
    #[serde(default)]
    reentry: bool,
    #[serde(default)]
    multi_day: bool,
}

#[derive(Deserialize)]
struct PolicyDto {
    static_accepted: bool,
    rotation_seconds: u32,
    proof_window_seconds: u32,
}

#[derive(Deserialize)]
struct TicketDto {
    id: String,
    session_id: i64,
    version: u32,
    status: String,
    entries_used: u32,
    max_entries: u32,
    #[serde(default)]
    inside: bool,
    #[serde(default)]
    session_entries: String,
    #[serde(default)]
    last_presentation: Option<PresentationCounterDto>,
}

#[derive(Deserialize)]
struct PresentationCounterDto {
    version: u32,
    counter: u32,
}

/// The server's answer to one uploaded scan.
#[derive(Debug, Clone, Deserialize)]
pub struct UploadResult {
    pub seq: i64,
    pub outcome: String,
    pub reason: Option<String>,
    pub entries_used: Option<u32>,
}

#[derive(Deserialize)]
struct UploadAnswer {
    results: Vec<UploadResult>,
}

#[derive(Deserialize)]
struct OnlineVerdict {
    verdict: String,
    reason: Option<String>,
    ticket: Option<OnlineTicket>,
    admits: u32,
    entries_used: Option<u32>,
    max_entries: Option<u32>,
    #[serde(default)]
    inside: Option<bool>,
    #[serde(default)]
    entry_policy: Option<String>,
}

#[derive(Deserialize)]
struct OnlineTicket {
    reference: String,
    seat: Option<String>,
    grade: String,
}

impl ServerClient {
    pub fn new(enrolment: &Enrolment) -> Result<ServerClient, GateError> {
        Ok(ServerClient {
            base: enrolment.server.clone(),
            token: enrolment.device_token.clone(),
            device_id: enrolment.device_id,
            http: http(REQUEST_TIMEOUT)?,
        })
    }

    /// One page of the sync feed.
    pub async fn sync_page(&self, since: Option<&str>, page: Option<&str>) -> Result<SyncPage, GateError> {
        let mut query: Vec<(&str, &str)> = Vec::new();
        if let Some(since) = since {
            query.push(("since", since));
        }
        if let Some(page) = page {
            query.push(("page", page));
        }
        let response =
            self.http.get(format!("{}/gate/sync", self.base)).bearer_auth(&self.token).query(&query).send().await?;
        let dto: SyncDto = json_of(response).await?;
        let decode_keys = |keys: &[KeyDto]| {
            keys.iter()
                .map(|k| {
                    let bytes = hex::decode(&k.public_key)
                        .map_err(|e| GateError::Protocol(format!("key {}: {e}", k.key_id)))?;
                    let key: [u8; 32] = bytes
                        .try_into()
                        .map_err(|_| GateError::Protocol(format!("key {} is not 32 bytes", k.key_id)))?;
                    Ok((k.key_id, key))
                })
                .collect::<Result<Vec<_>, GateError>>()
        };
        let keys = decode_keys(&dto.keys)?;
        let other_event_keys = decode_keys(&dto.other_event_keys)?;
        let sessions = dto
            .sessions
            .into_iter()
            .map(|s| SyncSession {
                id: s.id,
                event_id: s.event_id,
                event_name: s.event_name,
                name: s.name,
                starts_at_ms: s.starts_at.timestamp_millis(),
                doors_at_ms: s.doors_at.timestamp_millis(),
                ends_at_ms: s.ends_at.timestamp_millis(),
                key_id: s.key_id,
                static_accepted: s.credential_policy.static_accepted,
                rotation_seconds: s.credential_policy.rotation_seconds,
                proof_window_seconds: s.credential_policy.proof_window_seconds,
                grades: s
                    .grades
                    .into_iter()
                    .map(|g| {
                        let policy =
                            EntryPolicy { max_entries: g.max_entries, reentry: g.reentry, multi_day: g.multi_day };
                        (g.code, policy)
                    })
                    .collect(),
            })
            .collect();
        let tickets = dto
            .tickets
            .into_iter()
            .map(|t| {
                Ok(SyncTicket {
                    id: t.id.parse().map_err(|_| GateError::Protocol(format!("ticket id '{}'", t.id)))?,
                    session_id: t.session_id,
                    version: t.version,
                    status: t.status,
                    entries_used: t.entries_used,
                    max_entries: t.max_entries,
                    inside: t.inside,
                    session_entries: t.session_entries,
                    last_counter: t
                        .last_presentation
                        .map(|c| admit_domain::DeviceCounter { version: c.version, counter: c.counter }),
                })
            })
            .collect::<Result<Vec<_>, GateError>>()?;
        Ok(SyncPage {
            keys,
            other_event_keys,
            sessions,
            tickets,
            total_tickets: dto.total_tickets,
            next_page: dto.next_page,
            cursor: dto.cursor,
        })
    }

    /// Uploads logged scans; the server answers each (the same on a repeat).
    pub async fn upload(&self, scans: &[PendingScan]) -> Result<Vec<UploadResult>, GateError> {
        let encoded: Vec<Vec<u8>> = scans.iter().map(encode_scan).collect();
        self.upload_encoded(&encoded).await
    }

    /// Uploads scans already encoded with [`encode_scan`], as one request whose body is
    /// [`batch_body`] of them.
    pub async fn upload_encoded(&self, scans: &[Vec<u8>]) -> Result<Vec<UploadResult>, GateError> {
        let response = self
            .http
            .post(format!("{}/gate/devices/{}/scans", self.base, self.device_id))
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(batch_body(scans))
            .send()
            .await?;
        Ok(json_of::<UploadAnswer>(response).await?.results)
    }

    /// The server's atomic verdict, or an error if it does not come within `deadline`.
    pub async fn online_scan(
        &self,
        code: &str,
        gate: i64,
        session: i64,
        direction: Direction,
        deadline: Duration,
    ) -> Result<Verdict, GateError> {
        let request = self
            .http
            .post(format!("{}/gate/scans", self.base))
            .bearer_auth(&self.token)
            .timeout(deadline)
            .json(
                &json!({ "credential": code, "gate_id": gate, "session_id": session, "direction": direction.as_str() }),
            )
            .send();
        let response = tokio::time::timeout(deadline, request)
            .await
            .map_err(|_| GateError::Network(format!("no answer within {deadline:?}")))??;
        let v: OnlineVerdict = json_of(response).await?;
        let deny = match (v.verdict.as_str(), v.reason.as_deref()) {
            ("admit", _) => None,
            (_, Some(code)) => {
                Some(DenyReason::parse(code).ok_or_else(|| GateError::Protocol(format!("unknown reason '{code}'")))?)
            }
            (other, None) => return Err(GateError::Protocol(format!("verdict '{other}' without a reason"))),
        };
        Ok(Verdict {
            deny,
            reference: v.ticket.as_ref().map(|t| t.reference.clone()),
            seat: v.ticket.as_ref().and_then(|t| t.seat.clone()),
            grade: v.ticket.as_ref().map(|t| t.grade.clone()),
            admits: v.admits,
            direction,
            inside: v.inside,
            entry_policy: v.entry_policy.as_deref().and_then(policy_kind),
            entries_used: v.entries_used,
            max_entries: v.max_entries,
            session_id: Some(session),
            ticket_id: None,
            ticket_version: None,
            online: true,
            device_counter: None,
        })
    }
}

/// One logged scan as the upload route takes it, encoded as JSON.
pub fn encode_scan(s: &PendingScan) -> Vec<u8> {
    let scan = json!({
        "seq": s.seq,
        "ticket_id": s.ticket_id.map(|t| t.to_string()),
        "ticket_version": s.ticket_version,
        "session_id": s.session_id,
        "gate_id": s.gate_id,
        "verdict": if s.reason.is_none() { "admit" } else { "deny" },
        "reason": s.reason,
        "scanned_at": DateTime::from_timestamp_millis(s.scanned_at_ms).unwrap_or_default(),
        "latitude": s.latitude,
        "longitude": s.longitude,
        "direction": s.direction.as_str(),
        "device_counter": s.device_counter,
    });
    serde_json::to_vec(&scan).unwrap_or_default()
}

/// The bytes an upload body adds around its scans: `{"scans":[` … `]}` (and a comma between
/// two scans, counted with each scan after the first).
pub const BATCH_FRAME_BYTES: usize = br#"{"scans":[]}"#.len();

/// The upload request's body: `{"scans":[scan,scan,…]}`, exactly
/// `BATCH_FRAME_BYTES + Σ len + (n − 1)` bytes.
pub fn batch_body(scans: &[Vec<u8>]) -> Vec<u8> {
    let size = BATCH_FRAME_BYTES + scans.iter().map(|s| s.len() + 1).sum::<usize>();
    let mut body = Vec::with_capacity(size);
    body.extend_from_slice(br#"{"scans":["#);
    for (i, scan) in scans.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(scan);
    }
    body.extend_from_slice(b"]}");
    body
}

/// The policy name from the server's answer, as one of the names `EntryPolicy::kind` gives.
fn policy_kind(kind: &str) -> Option<&'static str> {
    ["single", "entries", "reentry", "multi_day"].into_iter().find(|k| *k == kind)
}
