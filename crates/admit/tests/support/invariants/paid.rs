//! Invariant 2 (DESIGN.md §4): every charge the gateway approved ends with issued tickets or a
//! recorded refund, no order exists without money, and Admit's payment states agree with the
//! gateway's ledger; nothing is left open once reconciliation has run.

use super::Summary;
use crate::support::db::Db;

pub(super) async fn check(db: &mut Db, ledger: &mut Db, bad: &mut Vec<String>, summary: &mut Summary) {
    approved_charges_end_in_tickets_or_refund(db, ledger, bad, summary).await;
    orders_rest_on_approved_charges(db, ledger, bad, summary).await;
    let open: Vec<(String, String)> =
        db.all("SELECT id, state FROM payments WHERE state IN ('pending', 'timed_out')", &[]).await;
    for (id, state) in open {
        bad.push(format!("payment {id} is still '{state}' after reconciliation"));
    }
    summary.payments_by_state = db.all("SELECT state, COUNT(*) FROM payments GROUP BY state ORDER BY state", &[]).await;
}

async fn approved_charges_end_in_tickets_or_refund(
    db: &mut Db,
    ledger: &mut Db,
    bad: &mut Vec<String>,
    summary: &mut Summary,
) {
    let charges: Vec<(String, i64, i64, String)> = ledger
        .all(
            "SELECT reference, refunded, amount_minor, currency FROM sim_charges WHERE outcome = 'approved'
             ORDER BY reference",
            &[],
        )
        .await;
    summary.approved_charges = charges.len();
    for (reference, refunded, amount, currency) in &charges {
        summary.refunded_charges += usize::from(*refunded == 1);
        let payment: Option<(String, String, i64, String)> = db
            .optional("SELECT state, hold_id, amount_minor, currency FROM payments WHERE id = ?", &[reference.into()])
            .await;
        let Some((state, hold_id, p_amount, p_currency)) = payment else {
            bad.push(format!("approved charge {reference} has no payment row in Admit's data"));
            continue;
        };
        if (p_amount, &p_currency) != (*amount, currency) {
            bad.push(format!(
                "payment {reference}: Admit says {p_amount} {p_currency}, the gateway charged {amount} {currency}"
            ));
        }
        let order: Option<(String, String)> =
            db.optional("SELECT id, hold_id FROM orders WHERE payment_id = ?", &[reference.into()]).await;
        match order {
            Some((order_id, order_hold)) => {
                let tickets: i64 = db
                    .scalar("SELECT COUNT(*) FROM tickets WHERE order_id = ? AND status = 'valid'", &[(&order_id).into()])
                    .await;
                let units: i64 = db
                    .scalar(
                        "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM hold_lines WHERE hold_id = ?",
                        &[(&order_hold).into()],
                    )
                    .await;
                if order_hold != hold_id {
                    bad.push(format!("order {order_id} is for hold {order_hold} but its payment for hold {hold_id}"));
                }
                if units == 0 || tickets != units {
                    bad.push(format!("order {order_id} (payment {reference}) has {tickets} tickets for a hold of {units}"));
                }
                if *refunded != 0 {
                    bad.push(format!("payment {reference} was refunded at the gateway but order {order_id} kept its tickets"));
                }
                if state != "approved" {
                    bad.push(format!("payment {reference} has order {order_id} but is '{state}', not 'approved'"));
                }
            }
            None if *refunded == 1 && state == "refunded" => {}
            None => bad.push(format!(
                "approved charge {reference} (payment '{state}', gateway refunded={refunded}, hold {hold_id}) has neither \
                 an order with tickets nor a recorded refund: money taken, nothing delivered"
            )),
        }
    }
}

/// The converse: no order (no ticket) without money, and Admit's payment states agree.
async fn orders_rest_on_approved_charges(db: &mut Db, ledger: &mut Db, bad: &mut Vec<String>, summary: &mut Summary) {
    let charge_sql = "SELECT outcome, refunded FROM sim_charges WHERE reference = ?";
    let orders: Vec<(String, String, String)> =
        db.all("SELECT o.id, o.payment_id, p.state FROM orders o JOIN payments p ON p.id = o.payment_id", &[]).await;
    summary.orders = orders.len();
    let order_count: i64 = db.scalar("SELECT COUNT(*) FROM orders", &[]).await;
    if order_count as usize != orders.len() {
        bad.push(format!("{} orders have no payment row", order_count as usize - orders.len()));
    }
    for (order_id, payment_id, state) in &orders {
        let charge: Option<(String, i64)> = ledger.optional(charge_sql, &[payment_id.into()]).await;
        if charge != Some(("approved".into(), 0)) {
            bad.push(format!("order {order_id} rests on payment {payment_id} whose gateway record is {charge:?}"));
        }
        if state != "approved" {
            bad.push(format!("order {order_id}: its payment {payment_id} is '{state}'"));
        }
    }
    let approved_without_order: Vec<String> = db
        .column(
            "SELECT id FROM payments p WHERE state = 'approved'
               AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.payment_id = p.id)",
            &[],
        )
        .await;
    for id in approved_without_order {
        bad.push(format!("payment {id} is 'approved' in Admit's data but has no order"));
    }
    let refunded: Vec<String> = db.column("SELECT id FROM payments WHERE state = 'refunded'", &[]).await;
    for id in refunded {
        let at_gateway: Option<(String, i64)> = ledger.optional(charge_sql, &[(&id).into()]).await;
        if at_gateway != Some(("approved".into(), 1)) {
            bad.push(format!("payment {id} is 'refunded' in Admit's data but the gateway says {at_gateway:?}"));
        }
    }
}
