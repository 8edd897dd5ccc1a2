//! Gate terminals, backend-neutral: the column lists both backends select, row decoding,
//! upload checks and the reconciliation decision, so SQLite and PostgreSQL reconcile uploaded
//! scans identically. The SQL and the locking stay in each backend's `gate_terminals.rs`.

use crate::model::{Gate, ScanRequest, Session};
use crate::rows::{Columns, corrupt, i64_at, parsed, str_at, u32_at};
use crate::rules::decide;
use crate::{
    AdmittingScan, Conflict, EntryCount, GateDevice, GateDeviceId, GateVerdict, StoreError, StoreResult, TicketState,
    UploadOutcome, UploadResult, UploadedScan,
};
use admit_domain::{DenyReason, GateId, OrganiserId, SessionId, TicketId, TicketStatus, VenueId};

/// Most scans one upload may carry.
pub const MAX_UPLOAD: usize = 1_000;
/// Most tickets one feed page may carry.
pub const MAX_PAGE: u32 = 10_000;

/// A device with its gate, venue and organiser; add `WHERE …`.
pub const DEVICE_SELECT: &str = "SELECT d.id, d.name, d.created_at, d.revoked_at, d.gate_id, g.venue_id,
            v.organiser_id, g.name AS gate_name, g.latitude, g.longitude
     FROM gate_devices d JOIN gates g ON g.id = d.gate_id JOIN venues v ON v.id = g.venue_id";

pub fn device(r: &impl Columns) -> StoreResult<GateDevice> {
    Ok(GateDevice {
        id: GateDeviceId(i64_at(r, "id")?),
        gate: Gate {
            id: GateId(i64_at(r, "gate_id")?),
            venue_id: VenueId(i64_at(r, "venue_id")?),
            organiser_id: OrganiserId(i64_at(r, "organiser_id")?),
            name: str_at(r, "gate_name")?,
            latitude: r.f64_col("latitude")?,
            longitude: r.f64_col("longitude")?,
        },
        name: str_at(r, "name")?,
        created_at_ms: i64_at(r, "created_at")?,
        revoked_at_ms: r.opt_i64_col("revoked_at")?,
    })
}

/// `id, event_id, label, starts_at, ends_at, doors_at` of sessions at a venue; bind the venue
/// and the end cut-off.
pub const VENUE_SESSIONS_SELECT: &str = "SELECT s.id, s.event_id, s.label, s.starts_at, s.ends_at, s.doors_at
     FROM sessions s JOIN events e ON e.id = s.event_id";

pub fn sessions(rows: &[impl Columns]) -> StoreResult<Vec<Session>> {
    rows.iter().map(crate::decode::session).collect()
}

/// The feed's columns; add the filter.
pub const TICKET_STATE_SELECT: &str = "SELECT t.id, t.session_id, t.version, t.status, t.entries_used, t.max_entries,
            t.inside, t.session_entries, t.device_version, t.device_counter, g.reentry, g.multi_day
     FROM tickets t JOIN grades g ON g.id = t.grade_id";

pub fn ticket_state(r: &impl Columns) -> StoreResult<TicketState> {
    Ok(TicketState {
        id: TicketId(i64_at(r, "id")?),
        session_id: SessionId(i64_at(r, "session_id")?),
        version: u32_at(r, "version")?,
        status: parsed(r, "status", TicketStatus::parse)?,
        entries_used: u32_at(r, "entries_used")?,
        max_entries: u32_at(r, "max_entries")?,
        policy: crate::rules::entry_policy(r)?,
        inside: r.bool_col("inside")?,
        session_entries: parsed(r, "session_entries", admit_domain::SessionEntries::parse)?,
        last_counter: crate::rules::last_counter(r)?,
    })
}

/// Bad uploads are refused whole, before anything is written: at most [`MAX_UPLOAD`] scans,
/// sequence numbers non-negative and distinct, an admit names its ticket and version.
pub fn check_upload(scans: &[UploadedScan]) -> StoreResult<()> {
    if scans.len() > MAX_UPLOAD {
        return Err(StoreError::Invalid(format!("upload at most {MAX_UPLOAD} scans at once")));
    }
    let mut seqs = std::collections::BTreeSet::new();
    for s in scans {
        if s.seq < 0 {
            return Err(StoreError::Invalid(format!("scan sequence numbers start at 0, not {}", s.seq)));
        }
        if !seqs.insert(s.seq) {
            return Err(StoreError::Invalid(format!("scan {} is listed twice", s.seq)));
        }
        if s.verdict == GateVerdict::Admit
            && (s.ticket_id.is_none() || s.ticket_version.is_none() || s.session_id.is_none())
        {
            return Err(StoreError::Invalid(format!(
                "scan {} admits without naming its ticket, version and session",
                s.seq
            )));
        }
    }
    Ok(())
}

/// Reconciles an uploaded admit against the ticket's row (`rules::CHECK_IN_SELECT`, locked by
/// the caller) with the online check's rules at the time of the scan, in the scan's direction:
/// `Ok(admission)` if the entry (or exit) may be taken (the caller replaces `before` by
/// `after`, guarded by `before`), else the reason it is a conflict. The validity window was checked on the terminal against the signed
/// credential, which is not uploaded, so it is not checked again here.
pub fn reconcile_admit(
    row: Option<&impl Columns>,
    scan: &UploadedScan,
) -> StoreResult<Result<crate::Admission, DenyReason>> {
    let (Some(row), Some(ticket_id), Some(version), Some(session)) =
        (row, scan.ticket_id, scan.ticket_version, scan.session_id)
    else {
        return Ok(Err(DenyReason::UnknownTicket));
    };
    let request = ScanRequest {
        ticket_id,
        presented_version: version,
        // The signed credential (checked on the terminal, not uploaded) names the ticket's own
        // session; the gate's session is what the upload says, and must fit the policy.
        presented_session: SessionId(i64_at(row, "session_id")?),
        gate_id: scan.gate_id,
        gate_session: session,
        gate_event: scan.event_id,
        direction: scan.direction,
        valid_from_ms: i64::MIN,
        valid_until_ms: i64::MAX,
        now_ms: scan.scanned_at_ms,
        device_counter: scan.device_counter,
    };
    decide(row, &request)
}

pub fn verdict_code(v: GateVerdict) -> (&'static str, Option<&'static str>) {
    match v {
        GateVerdict::Admit => ("admit", None),
        GateVerdict::Deny(reason) => ("deny", Some(reason.code())),
    }
}

pub fn outcome_codes(o: UploadOutcome) -> (&'static str, Option<&'static str>) {
    match o {
        UploadOutcome::Conflict(reason) => (o.as_str(), Some(reason.code())),
        other => (other.as_str(), None),
    }
}

fn reason(code: &str) -> StoreResult<DenyReason> {
    DenyReason::parse(code).ok_or_else(|| corrupt(format!("unknown reason '{code}'")))
}

/// What an earlier upload of `(device, seq)` answered: `seq, outcome, conflict_reason` of
/// `device_scans` with `entries_used, max_entries` of its ticket (NULL when unknown).
pub const UPLOAD_RESULT_SELECT: &str = "SELECT ds.seq, ds.outcome, ds.conflict_reason, t.entries_used, t.max_entries
     FROM device_scans ds LEFT JOIN tickets t ON t.id = ds.ticket_id";

pub fn upload_result(r: &impl Columns) -> StoreResult<UploadResult> {
    let outcome = match str_at(r, "outcome")?.as_str() {
        "counted" => UploadOutcome::Counted,
        "recorded" => UploadOutcome::Recorded,
        "conflict" => {
            let code = r.opt_str_col("conflict_reason")?.ok_or_else(|| corrupt("conflict without a reason"))?;
            UploadOutcome::Conflict(reason(&code)?)
        }
        other => return Err(corrupt(format!("unknown outcome '{other}'"))),
    };
    let count = |col: &str| -> StoreResult<Option<u32>> {
        r.opt_i64_col(col)?.map(|n| u32::try_from(n).map_err(|_| corrupt(format!("{col} out of range")))).transpose()
    };
    Ok(UploadResult {
        seq: i64_at(r, "seq")?,
        outcome,
        entries_used: count("entries_used")?,
        max_entries: count("max_entries")?,
    })
}

/// Conflicts of a session, oldest scan first; bind the session.
pub const CONFLICTS_SELECT: &str = "SELECT ds.device_id, ds.seq, ds.ticket_id, ds.gate_id, ds.scanned_at,
            ds.received_at, ds.conflict_reason, d.name AS device_name, t.reference
     FROM device_scans ds JOIN gate_devices d ON d.id = ds.device_id LEFT JOIN tickets t ON t.id = ds.ticket_id";

/// Counted admits of the tickets in conflict; bind the session.
pub const COUNTED_ADMITS_SELECT: &str = "SELECT sc.ticket_id, sc.gate_id, sc.device_id, d.name AS device_name, sc.at
     FROM scans sc LEFT JOIN gate_devices d ON d.id = sc.device_id";

/// Builds the conflicts from their rows and the counted admits of their tickets.
pub fn conflicts(rows: &[impl Columns], admits: &[impl Columns]) -> StoreResult<Vec<Conflict>> {
    let mut by_ticket: std::collections::HashMap<i64, Vec<AdmittingScan>> = std::collections::HashMap::new();
    for a in admits {
        by_ticket.entry(i64_at(a, "ticket_id")?).or_default().push(AdmittingScan {
            gate_id: GateId(i64_at(a, "gate_id")?),
            device_id: a.opt_i64_col("device_id")?.map(GateDeviceId),
            device_name: a.opt_str_col("device_name")?,
            at_ms: i64_at(a, "at")?,
        });
    }
    rows.iter()
        .map(|r| {
            let ticket = r.opt_i64_col("ticket_id")?;
            let code = r.opt_str_col("conflict_reason")?.ok_or_else(|| corrupt("conflict without a reason"))?;
            Ok(Conflict {
                ticket_id: ticket.map(TicketId),
                reference: r.opt_str_col("reference")?,
                reason: reason(&code)?,
                device_seq: i64_at(r, "seq")?,
                uploaded: AdmittingScan {
                    gate_id: GateId(i64_at(r, "gate_id")?),
                    device_id: Some(GateDeviceId(i64_at(r, "device_id")?)),
                    device_name: Some(str_at(r, "device_name")?),
                    at_ms: i64_at(r, "scanned_at")?,
                },
                received_at_ms: i64_at(r, "received_at")?,
                counted: ticket.and_then(|t| by_ticket.get(&t).cloned()).unwrap_or_default(),
            })
        })
        .collect()
}

/// Admits per bucket and gate: counted admits from `scans` (online when no device) and
/// conflicts from `device_scans`. Bind: bucket, session, bucket, session (SQLite `?`; the
/// PostgreSQL text numbers them).
pub const ENTRIES_SQL: &str =
    "SELECT b, gate_id, SUM(online) AS online, SUM(uploaded) AS uploaded, SUM(conflicts) AS conflicts
     FROM (SELECT (at / ?) AS b, gate_id,
                  CASE WHEN device_id IS NULL THEN 1 ELSE 0 END AS online,
                  CASE WHEN device_id IS NULL THEN 0 ELSE 1 END AS uploaded, 0 AS conflicts
           FROM scans WHERE session_id = ? AND verdict = 'admit' AND direction = 'entry'
           UNION ALL
           SELECT (scanned_at / ?) AS b, gate_id, 0, 0, 1
           FROM device_scans WHERE session_id = ? AND outcome = 'conflict') x
     GROUP BY b, gate_id ORDER BY b, gate_id";

pub fn entry_count(r: &impl Columns, bucket_ms: i64) -> StoreResult<EntryCount> {
    let n = |col: &str| -> StoreResult<u64> {
        u64::try_from(i64_at(r, col)?).map_err(|_| corrupt(format!("{col} out of range")))
    };
    Ok(EntryCount {
        bucket_start_ms: i64_at(r, "b")? * bucket_ms,
        gate_id: GateId(i64_at(r, "gate_id")?),
        online: n("online")?,
        uploaded: n("uploaded")?,
        conflicts: n("conflicts")?,
    })
}

/// Bucket sizes must be positive.
pub fn check_bucket(bucket_ms: i64) -> StoreResult<()> {
    if bucket_ms <= 0 {
        return Err(StoreError::Invalid("the bucket must be longer than zero".into()));
    }
    Ok(())
}
