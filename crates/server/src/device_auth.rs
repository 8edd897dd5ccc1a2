//! Gate terminal authentication: `Authorization: Bearer admit_device_…`, a token shown once at
//! enrolment and stored only as SHA-256. It authorises one terminal at one gate: syncing its
//! venue, uploading its own scans, and online checks at its gate. A revoked token authorises
//! nothing from the next request on (it is looked up every time; terminals sync every few
//! seconds, not per scan, so this is cheap).

use crate::auth::{StaffUser, bearer_token, token_hash};
use crate::error::ApiError;
use crate::state::{AppState, Place};
use admit_domain::GateId;
use admit_store::{GateDevice, NewGateDevice, Store, StoreResult};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rand::RngCore;

/// Prefix of every terminal token, so the online check can tell them from staff tokens.
pub const DEVICE_TOKEN_PREFIX: &str = "admit_device_";

/// An enrolled, unrevoked gate terminal.
#[derive(Debug, Clone)]
pub struct DeviceUser(pub GateDevice);

/// Enrols a terminal with a fresh random token; returns it with the token (shown once).
pub async fn enrol_device(
    store: &dyn Store,
    gate: GateId,
    name: &str,
    now_ms: i64,
) -> StoreResult<(GateDevice, String)> {
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!("{DEVICE_TOKEN_PREFIX}{}", hex::encode(bytes));
    let new = NewGateDevice { gate_id: gate, name: name.to_owned(), token_hash: token_hash(&token), now_ms };
    Ok((store.enrol_gate_device(new).await?, token))
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    bearer_token(parts, "Send a token as `Authorization: Bearer <token>`.")
}

async fn device_for(state: &AppState, token: &str) -> Result<DeviceUser, ApiError> {
    let device = state
        .store
        .gate_device_by_token(token_hash(token))
        .await?
        .ok_or_else(|| ApiError::unauthorized("Unknown gate device token."))?;
    if device.revoked_at_ms.is_some() {
        return Err(ApiError::unauthorized("This gate device was revoked; enrol it again."));
    }
    Ok(DeviceUser(device))
}

impl FromRequestParts<AppState> for DeviceUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        device_for(state, bearer(parts)?).await
    }
}

/// Who may ask for an online verdict: staff of the gate's organiser, or the terminal enrolled
/// at that very gate.
#[derive(Debug, Clone)]
pub enum ScanCaller {
    Staff(StaffUser),
    Device(DeviceUser),
}

impl ScanCaller {
    /// Whether this caller may scan at `gate` (which is at `place`).
    pub fn require_gate(&self, gate: GateId, place: Place) -> Result<(), ApiError> {
        match self {
            ScanCaller::Staff(staff) => staff.require_organiser(place.organiser_id),
            ScanCaller::Device(DeviceUser(device)) if device.gate.id == gate => Ok(()),
            ScanCaller::Device(_) => Err(ApiError::forbidden("This gate device is enrolled at another gate.")),
        }
    }
}

impl FromRequestParts<AppState> for ScanCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if bearer(parts)?.starts_with(DEVICE_TOKEN_PREFIX) {
            return Ok(ScanCaller::Device(device_for(state, bearer(parts)?).await?));
        }
        Ok(ScanCaller::Staff(StaffUser::from_request_parts(parts, state).await?))
    }
}
