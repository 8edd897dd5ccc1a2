//! Paying for a hold: record the attempt, ask the gateway, then either issue the tickets or
//! put the money back. Every path ends with tickets or a recorded refund (invariant 2), and
//! `reconcile` repairs what a crash interrupted.

use crate::error::ApiError;
use crate::service::issue::{IssueError, build_tickets};
use crate::service::login_link;
use crate::state::{AppState, now_ms};
use admit_domain::{HoldState, PaymentState};
use admit_payments::{ChargeOutcome, GatewayError, PaymentMethod};
use admit_store::{CompleteOrder, Hold, NewPayment, Order, OrderLoginLink, Payment, StoreError};
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
    let tickets = match build_tickets(state, hold).await {
        Ok(tickets) => tickets,
        Err(IssueError::Unsignable(why)) => return Err(refund_unissuable(state, hold, payment_id, &why).await?),
        Err(IssueError::Store(e)) => return Err(e.into()),
    };
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

/// The charge went through but its tickets can never be signed: the money goes back and the
/// hold is released (paying it again could only end the same way). Answers the problem to show.
async fn refund_unissuable(state: &AppState, hold: &Hold, payment_id: &str, why: &str) -> Result<ApiError, ApiError> {
    tracing::error!(hold.id = %hold.id, payment.id = %payment_id, error = why, "a paid hold's tickets cannot be signed");
    refund(state, payment_id, &format!("tickets could not be issued: {why}")).await?;
    if let Err(e) = state.store.cancel_hold(&hold.id, now_ms()).await {
        tracing::warn!(hold.id = %hold.id, error = %e, "could not release a hold whose tickets cannot be issued");
    }
    Ok(ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "tickets-not-issued",
        "Tickets could not be issued",
        "The payment was approved but these tickets cannot be issued, so it was refunded in full and the hold released. Please contact the organiser.",
    )
    .with("refunded", true)
    .with("hold_id", &hold.id))
}

async fn refund(state: &AppState, payment_id: &str, why: &str) -> Result<(), ApiError> {
    state.gateway.refund(payment_id).await.map_err(|e| ApiError::Internal(format!("refund failed: {e}")))?;
    state.store.settle_payment(payment_id, PaymentState::Refunded, Some(why), now_ms()).await?;
    tracing::info!(payment.id = %payment_id, reason = why, "payment refunded");
    Ok(())
}

/// Settles attempts a crash or a time-out left open, by asking the gateway what happened.
/// Only attempts older than the payment timeout are touched, so a live request on another
/// node is never raced. An attempt that cannot be settled now (the gateway or the store did not
/// answer) is logged and tried again next time; it never stops the others. Returns how many
/// attempts were settled.
pub async fn reconcile(state: &AppState) -> Result<usize, ApiError> {
    let before = now_ms() - state.settings.payment_timeout.as_millis() as i64;
    let mut settled = 0;
    for from in [PaymentState::Pending, PaymentState::TimedOut] {
        for p in state.store.payments_in_state(from, before).await? {
            let outcome = match from {
                PaymentState::Pending => settle_pending(state, &p).await,
                _ => settle_timed_out(state, &p).await,
            };
            // Settled means the attempt left its state, whatever path got it there.
            match (outcome, state.store.payment(&p.id).await) {
                (_, Ok(now)) if now.state != from => {
                    tracing::info!(payment.id = %p.id, state = ?now.state, "reconciled a payment");
                    settled += 1;
                }
                (Err(e), _) => tracing::warn!(payment.id = %p.id, error = %e, "could not reconcile a payment yet"),
                (Ok(()), Err(e)) => {
                    tracing::warn!(payment.id = %p.id, error = %e, "could not read a reconciled payment")
                }
                (Ok(()), Ok(_)) => tracing::warn!(payment.id = %p.id, "a payment is still unsettled after reconciling"),
            }
        }
    }
    Ok(settled)
}

/// A `pending` attempt: void it at the gateway (on another node, or in the gateway's queue, the
/// charge may still be on its way; after the void it can no longer land unseen), then issue the
/// tickets of what was charged (or refund it), or record that nothing was.
async fn settle_pending(state: &AppState, p: &Payment) -> Result<(), ApiError> {
    let outcome = state.gateway.void(&p.id).await.map_err(|e| ApiError::Internal(e.to_string()))?;
    match outcome {
        Some(ChargeOutcome::Approved { authorization }) => {
            let hold = state.store.hold(&p.hold_id).await?;
            match finish_approved(state, &hold, &p.id, &authorization, None).await {
                // A refusal (hold ended, tickets unissuable) was refunded and recorded on the way.
                Ok(_) | Err(ApiError::Problem { .. }) => Ok(()),
                Err(e) => Err(e),
            }
        }
        Some(ChargeOutcome::Declined(reason)) => {
            Ok(state.store.settle_payment(&p.id, PaymentState::Declined, Some(reason.code()), now_ms()).await?)
        }
        None => Ok(state.store.settle_payment(&p.id, PaymentState::Declined, Some("not_charged"), now_ms()).await?),
    }
}

/// A `timed_out` attempt: the buyer was told it failed, so any charge that landed goes back.
async fn settle_timed_out(state: &AppState, p: &Payment) -> Result<(), ApiError> {
    let outcome = state.gateway.void(&p.id).await.map_err(|e| ApiError::Internal(e.to_string()))?;
    match outcome {
        Some(ChargeOutcome::Approved { .. }) => {
            refund(state, &p.id, "charged after the buyer was told it timed out").await
        }
        _ => Ok(state
            .store
            .settle_payment(&p.id, PaymentState::Declined, Some("timed_out_not_charged"), now_ms())
            .await?),
    }
}
