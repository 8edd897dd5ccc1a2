//! Paying for a hold: record the attempt, ask the gateway, then either issue the tickets or
//! put the money back. Every path ends with tickets or a recorded refund (invariant 2), and
//! `reconcile` repairs what a crash interrupted.

use crate::error::ApiError;
use crate::service::issue::build_tickets;
use crate::service::login_link;
use crate::state::{AppState, now_ms};
use admit_domain::{HoldState, PaymentState};
use admit_payments::{ChargeOutcome, GatewayError, PaymentMethod};
use admit_store::{CompleteOrder, Hold, NewPayment, Order, OrderLoginLink, StoreError};
use axum::http::StatusCode;

/// What paying produced: a new order with its confirmation's login link (stored with the
/// order), or the order an earlier payment already made.
pub enum Paid {
    New(Order, String),
    Existing(Order),
}

pub async fn pay(state: &AppState, hold_id: &str, method: PaymentMethod) -> Result<Paid, ApiError> {
    let hold = state.store.hold(hold_id).await?;
    if let Some(order_id) = &hold.order_id {
        return Ok(Paid::Existing(state.store.order(order_id).await?));
    }
    let effective = hold.state.effective(hold.expires_at_ms, now_ms());
    if effective != HoldState::Active {
        return Err(ApiError::hold_not_active(effective));
    }
    let PaymentMethod::Card(card) = &method;
    let payment_id = crate::ids::time_ordered();
    state
        .store
        .begin_payment(NewPayment {
            id: payment_id.clone(),
            hold_id: hold.id.clone(),
            gateway: state.gateway.name().to_owned(),
            amount: hold.total,
            method: format!("card **** {}", card.last4()),
            now_ms: now_ms(),
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ApiError::new(
                StatusCode::CONFLICT,
                "payment-in-progress",
                "Payment in progress",
                "Another payment for this hold is being processed; wait for its answer.",
            ),
            other => other.into(),
        })?;

    let answer =
        tokio::time::timeout(state.settings.payment_timeout, state.gateway.charge(&payment_id, hold.total, &method))
            .await
            .unwrap_or(Err(GatewayError::Timeout));
    match answer {
        Ok(ChargeOutcome::Approved { authorization }) => {
            let (login_url, link) = login_link::fresh();
            let order = finish_approved(state, &hold, &payment_id, &authorization, Some(link)).await?;
            Ok(Paid::New(order, login_url))
        }
        Ok(ChargeOutcome::Declined(reason)) => {
            state.store.settle_payment(&payment_id, PaymentState::Declined, Some(reason.code()), now_ms()).await?;
            Err(ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                "payment-declined",
                "Payment declined",
                format!("The card was declined ({}). Your hold is kept: try another card, or cancel.", reason.code()),
            )
            .with("decline_code", reason.code())
            .with("hold_id", &hold.id)
            .with("hold_expires_at", crate::dto::time(hold.expires_at_ms)))
        }
        Err(e) => {
            // Unknown outcome: the reconciler asks the gateway later and refunds any charge.
            state.store.settle_payment(&payment_id, PaymentState::TimedOut, Some(&e.to_string()), now_ms()).await?;
            let (status, slug, title) = match e {
                GatewayError::Timeout => (StatusCode::GATEWAY_TIMEOUT, "payment-timeout", "Payment timed out"),
                GatewayError::Unavailable(_) => {
                    (StatusCode::SERVICE_UNAVAILABLE, "payment-unavailable", "Payment provider unavailable")
                }
            };
            Err(ApiError::new(
                status,
                slug,
                title,
                "The payment provider did not confirm the payment. Any charge will be reversed automatically. Your hold is kept: try again.",
            )
            .with("hold_id", &hold.id))
        }
    }
}

/// Approval arrived: issue the tickets (with the confirmation's login link, if any), or refund
/// when the hold is gone.
pub async fn finish_approved(
    state: &AppState,
    hold: &Hold,
    payment_id: &str,
    authorization: &str,
    login_link: Option<OrderLoginLink>,
) -> Result<Order, ApiError> {
    let tickets = build_tickets(state, hold).await?;
    let completed = state
        .store
        .complete_order(CompleteOrder {
            order_id: crate::ids::time_ordered(),
            hold_id: hold.id.clone(),
            payment_id: payment_id.to_owned(),
            authorization: authorization.to_owned(),
            tickets,
            now_ms: now_ms(),
            login_link,
        })
        .await;
    match completed {
        Ok(order) => {
            tracing::info!(order.id = %order.id, hold.id = %hold.id, tickets = order.tickets.len(), "order paid");
            Ok(order)
        }
        Err(StoreError::HoldNotActive(s)) => {
            refund(state, payment_id, &format!("hold {} before the payment was approved", s.as_str())).await?;
            Err(ApiError::hold_not_active(s)
                .with("refunded", true)
                .with("refund_detail", "The payment was approved after the hold ended, so it was refunded in full."))
        }
        Err(StoreError::Conflict(_)) if state.store.payment(payment_id).await?.state != PaymentState::Approved => {
            // The attempt was settled (declined or timed out by the reconciler) before this
            // approval arrived: the money must go back, never stay without tickets.
            refund(state, payment_id, "approved after the attempt was given up").await?;
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "payment-unavailable",
                "Payment provider unavailable",
                "The payment was confirmed too late and has been refunded in full. Your hold is kept: try again.",
            )
            .with("refunded", true)
            .with("hold_id", &hold.id))
        }
        Err(e) => Err(e.into()),
    }
}

async fn refund(state: &AppState, payment_id: &str, why: &str) -> Result<(), ApiError> {
    state.gateway.refund(payment_id).await.map_err(|e| ApiError::Internal(format!("refund failed: {e}")))?;
    state.store.settle_payment(payment_id, PaymentState::Refunded, Some(why), now_ms()).await?;
    tracing::info!(payment.id = %payment_id, reason = why, "payment refunded");
    Ok(())
}

/// Settles attempts a crash or a time-out left open, by asking the gateway what happened.
/// Only attempts older than the payment timeout are touched, so a live request on another
/// node is never raced. Returns how many attempts were settled.
pub async fn reconcile(state: &AppState) -> Result<usize, ApiError> {
    let before = now_ms() - state.settings.payment_timeout.as_millis() as i64;
    let mut settled = 0;
    for p in state.store.payments_in_state(PaymentState::Pending, before).await? {
        // Void, not look up: on another node (or in the gateway's queue) the charge may still be
        // on its way; after the void it can no longer land unseen.
        let outcome = state.gateway.void(&p.id).await.map_err(|e| ApiError::Internal(e.to_string()))?;
        match outcome {
            Some(ChargeOutcome::Approved { authorization }) => {
                let hold = state.store.hold(&p.hold_id).await?;
                match finish_approved(state, &hold, &p.id, &authorization, None).await {
                    Ok(_) | Err(ApiError::Problem { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            Some(ChargeOutcome::Declined(reason)) => {
                state.store.settle_payment(&p.id, PaymentState::Declined, Some(reason.code()), now_ms()).await?;
            }
            None => {
                state.store.settle_payment(&p.id, PaymentState::Declined, Some("not_charged"), now_ms()).await?;
            }
        }
        tracing::info!(payment.id = %p.id, "reconciled a pending payment");
        settled += 1;
    }
    for p in state.store.payments_in_state(PaymentState::TimedOut, before).await? {
        let outcome = state.gateway.void(&p.id).await.map_err(|e| ApiError::Internal(e.to_string()))?;
        match outcome {
            Some(ChargeOutcome::Approved { .. }) => {
                refund(state, &p.id, "charged after the buyer was told it timed out").await?
            }
            _ => {
                state
                    .store
                    .settle_payment(&p.id, PaymentState::Declined, Some("timed_out_not_charged"), now_ms())
                    .await?
            }
        }
        settled += 1;
    }
    Ok(settled)
}
