//! Binding a phone's key to a ticket: check the key and its proof of possession (the device's
//! signature over `device_proof_message(ticket, version, counter)`, verified by the credential
//! crate), re-sign the credential for the next version naming the key, and let the store swap
//! it in atomically (revoking every earlier credential, DESIGN §4.4) and log the binding.

use crate::buyer::BuyerSession;
use crate::error::ApiError;
use crate::routes::my::dto::BindDeviceInput;
use crate::routes::my::policy;
use crate::state::{AppState, now_ms};
use admit_credential::{Credential, DeviceAlgorithm, DeviceKey, device_proof_message, inspection_password};
use admit_domain::TicketId;
use admit_store::{BindDevice, BindOutcome, DeviceKeyRecord, TicketView};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};

fn base64url(field: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .map_err(|_| ApiError::validation(format!("{field} must be base64url.")))
}

fn conflict(slug: &'static str, title: &'static str, detail: &str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, slug, title, detail)
}

fn version_changed(current: u32) -> ApiError {
    conflict(
        "ticket-version-changed",
        "The ticket changed",
        "The ticket was re-issued since this page loaded it; reload and try again.",
    )
    .with("version", current)
}

fn already_bound() -> ApiError {
    conflict(
        "device-already-bound",
        "Bound to another phone",
        "This ticket is bound to another phone. Send `rebind: true` to move it to this one (the other phone's code stops working).",
    )
}

/// The key and proof are genuine and fresh for the ticket's current version.
async fn checked_key(state: &AppState, view: &TicketView, input: &BindDeviceInput) -> Result<DeviceKey, ApiError> {
    let algorithm: DeviceAlgorithm = input.algorithm.parse().map_err(|e| ApiError::validation(format!("{e}.")))?;
    let key = DeviceKey::from_raw(algorithm, &base64url("public_key", &input.public_key)?)
        .map_err(|e| ApiError::validation(format!("public_key: {e}.")))?;
    let proof: [u8; 64] = base64url("proof", &input.proof)?
        .try_into()
        .map_err(|_| ApiError::validation("proof must be a 64-byte signature."))?;
    if input.version != view.ticket.version {
        return Err(version_changed(view.ticket.version));
    }
    let window = i64::from(policy(state, view.ticket.event_id).await?.proof_window_seconds);
    let now_s = now_ms().div_euclid(1000);
    if (i64::from(input.counter) - now_s).abs() > window {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "device-proof-stale",
            "The proof is not fresh",
            format!("The proof's counter is more than {window} s away from the server's clock; sign again with the current time."),
        )
        .with("server_time_ms", now_ms()));
    }
    let message = device_proof_message(view.ticket.id.0 as u64, input.version, input.counter);
    key.verify(&message, &proof).map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "device-proof-invalid",
            "The proof does not match the key",
            "The proof is not this key's signature over the ticket, its version and the counter.",
        )
    })?;
    Ok(key)
}

/// Binds (or with `rebind`, moves) the ticket to the key in `input`; returns the ticket after.
pub async fn bind(
    state: &AppState,
    session: BuyerSession,
    ticket: TicketId,
    input: BindDeviceInput,
) -> Result<TicketView, ApiError> {
    let view = state.store.buyer_ticket(session.hash, ticket).await?;
    let key = checked_key(state, &view, &input).await?;
    let device = DeviceKeyRecord { algorithm: key.algorithm().name().to_owned(), public_key: key.to_raw() };
    if view.device.as_ref() == Some(&device) {
        return Ok(view);
    }
    if view.device.is_some() && !input.rebind {
        return Err(already_bound());
    }
    let next = view.ticket.version + 1;
    let mut payload = Credential::from_text(&view.ticket.credential)
        .and_then(|c| c.payload_unverified())
        .map_err(|r| ApiError::Internal(format!("ticket {ticket} holds an unreadable credential: {r}")))?;
    payload.ticket_version = next;
    payload.holder = key.binding();
    let signer = state.signer(view.ticket.event_id).await?;
    let credential =
        signer.issuer.issue(payload).map_err(|e| ApiError::Internal(format!("cannot sign ticket {ticket}: {e}")))?;
    let outcome = state
        .store
        .bind_device(BindDevice {
            ticket_id: ticket,
            from_version: view.ticket.version,
            device: device.clone(),
            credential: credential.to_text(),
            inspection_code: inspection_password(&signer.inspection_key, ticket.0 as u64, next),
            rebind: input.rebind,
            now_ms: now_ms(),
        })
        .await?;
    match outcome {
        BindOutcome::Bound { version } => {
            let moved = view.device.is_some();
            tracing::info!(ticket.id = %ticket, version, algorithm = %device.algorithm, moved, "ticket bound to a device");
        }
        BindOutcome::Unchanged { .. } => {}
        BindOutcome::AlreadyBound => return Err(already_bound()),
        BindOutcome::VersionMoved { current } => return Err(version_changed(current)),
        BindOutcome::Canceled => {
            return Err(conflict("ticket-canceled", "The ticket was cancelled", "A cancelled ticket cannot be bound."));
        }
    }
    Ok(state.store.buyer_ticket(session.hash, ticket).await?)
}
