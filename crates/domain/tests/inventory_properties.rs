//! Property test: no sequence of holds, expiries, payments and cancels ever sells a seat twice,
//! exceeds a quota, or lets money stop adding up.

use admit_domain::inventory::{Inventory, InventoryError};
use admit_domain::{Currency, GradeId, HoldItem, Money, SeatId};
use proptest::prelude::*;

const SEATS: i64 = 12;
const VIP: GradeId = GradeId(1);
const GA: GradeId = GradeId(2);
const QUOTA: u32 = 7;

#[derive(Debug, Clone)]
enum Op {
    HoldSeats(Vec<i64>),
    HoldUnits(u32),
    HoldBoth(i64, u32),
    Advance(i64),
    Expire,
    Cancel(usize),
    Pay(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        prop::collection::vec(0..SEATS + 2, 0..4).prop_map(Op::HoldSeats),
        (0u32..5).prop_map(Op::HoldUnits),
        (0..SEATS, 1u32..3).prop_map(|(s, q)| Op::HoldBoth(s, q)),
        (0i64..400).prop_map(Op::Advance),
        Just(Op::Expire),
        (0usize..30).prop_map(Op::Cancel),
        (0usize..30).prop_map(Op::Pay),
    ]
}

fn inventory() -> Inventory {
    let seats: Vec<_> = (0..SEATS).map(|s| (SeatId(s), VIP)).collect();
    let prices = [(VIP, Money::new(150_000, Currency::KRW).unwrap()), (GA, Money::new(55_000, Currency::KRW).unwrap())];
    Inventory::new(&seats, &[(GA, QUOTA)], &prices)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn no_sequence_oversells_or_loses_money(ops in prop::collection::vec(op(), 1..60)) {
        let mut inv = inventory();
        let mut now = 0i64;
        let ttl = 1_000;
        let mut holds = 0usize;
        for op in ops {
            let result = match op {
                Op::HoldSeats(seats) => {
                    let items = seats.into_iter().map(|s| HoldItem::Seat { seat: SeatId(s), grade: VIP }).collect();
                    inv.hold(items, now + ttl).map(|_| holds += 1)
                }
                Op::HoldUnits(q) => inv.hold(vec![HoldItem::Units { grade: GA, quantity: q }], now + ttl).map(|_| holds += 1),
                Op::HoldBoth(s, q) => inv
                    .hold(vec![HoldItem::Seat { seat: SeatId(s), grade: VIP }, HoldItem::Units { grade: GA, quantity: q }], now + ttl)
                    .map(|_| holds += 1),
                Op::Advance(ms) => { now += ms; Ok(()) }
                Op::Expire => { inv.expire(now); Ok(()) }
                Op::Cancel(h) => inv.cancel(h),
                Op::Pay(h) => {
                    let was_active = inv.hold_is_active(h);
                    let r = inv.pay(h, now).map(|_| ());
                    // A payment for a hold that was not active must fail and change nothing.
                    prop_assert!(was_active || r.is_err());
                    r
                }
            };
            if let Err(e) = result {
                prop_assert!(matches!(e, InventoryError::SoldOut | InventoryError::Unknown | InventoryError::HoldNotActive | InventoryError::Empty), "{e}");
            }
            if let Err(msg) = inv.check_invariants() {
                prop_assert!(false, "{}", msg);
            }
        }
        let sold_seats: usize = inv.orders().iter().flat_map(|o| &o.items).filter(|i| matches!(i, HoldItem::Seat { .. })).count();
        prop_assert!(sold_seats as i64 <= SEATS);
        prop_assert!(inv.quota(GA).unwrap().sold <= QUOTA);
        prop_assert!(holds >= inv.orders().len());
    }
}

#[test]
fn paying_an_expired_hold_is_refused_and_frees_nothing_twice() {
    let mut inv = inventory();
    let h = inv.hold(vec![HoldItem::Seat { seat: SeatId(0), grade: VIP }], 100).unwrap();
    assert_eq!(inv.pay(h, 100), Err(InventoryError::HoldNotActive));
    assert_eq!(inv.expire(100), 1);
    assert!(inv.free_seats().contains(&SeatId(0)));
    inv.check_invariants().unwrap();
}

#[test]
fn a_cancelled_hold_returns_units_to_sale_at_once() {
    let mut inv = inventory();
    let h = inv.hold(vec![HoldItem::Units { grade: GA, quantity: QUOTA }], 100).unwrap();
    assert_eq!(inv.hold(vec![HoldItem::Units { grade: GA, quantity: 1 }], 100), Err(InventoryError::SoldOut));
    inv.cancel(h).unwrap();
    assert_eq!(inv.quota(GA).unwrap().available(), QUOTA);
}
