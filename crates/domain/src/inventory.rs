//! The reference model of one session's inventory: seats and general-admission quotas, the
//! holds on them and the orders that bought them.
//!
//! The store backends implement these same transitions in SQL; this in-memory model states the
//! rules plainly, is property-tested against random sequences of holds, expiries, payments and
//! cancels, and serves as the oracle the store conformance tests compare against.

use crate::{GradeId, HoldItem, Money, MoneyError, SeatId};
use std::collections::BTreeMap;

/// A general-admission quota: `held + sold <= total` always.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Quota {
    pub total: u32,
    pub held: u32,
    pub sold: u32,
}

impl Quota {
    pub fn available(&self) -> u32 {
        self.total - self.held - self.sold
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Free,
    Held(usize),
    Sold(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ModelHold {
    items: Vec<HoldItem>,
    expires_at_ms: i64,
    active: bool,
}

/// A paid order in the model: its items and the total charged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelOrder {
    pub hold: usize,
    pub items: Vec<HoldItem>,
    pub total: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InventoryError {
    #[error("not enough available")]
    SoldOut,
    #[error("unknown seat or grade")]
    Unknown,
    #[error("the hold is no longer active")]
    HoldNotActive,
    #[error("a hold needs at least one item")]
    Empty,
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// One session's inventory with one currency.
#[derive(Debug, Clone)]
pub struct Inventory {
    seats: BTreeMap<SeatId, (GradeId, Slot)>,
    quotas: BTreeMap<GradeId, Quota>,
    prices: BTreeMap<GradeId, Money>,
    holds: Vec<ModelHold>,
    orders: Vec<ModelOrder>,
}

impl Inventory {
    /// `seats`: (seat, grade); `quotas`: (grade, total units); every grade needs a price.
    pub fn new(seats: &[(SeatId, GradeId)], quotas: &[(GradeId, u32)], prices: &[(GradeId, Money)]) -> Inventory {
        Inventory {
            seats: seats.iter().map(|&(s, g)| (s, (g, Slot::Free))).collect(),
            quotas: quotas.iter().map(|&(g, total)| (g, Quota { total, ..Quota::default() })).collect(),
            prices: prices.iter().copied().collect(),
            holds: Vec::new(),
            orders: Vec::new(),
        }
    }

    /// Holds all items or nothing. Returns the hold's number.
    pub fn hold(&mut self, items: Vec<HoldItem>, expires_at_ms: i64) -> Result<usize, InventoryError> {
        if items.is_empty() {
            return Err(InventoryError::Empty);
        }
        let mut units: BTreeMap<GradeId, u32> = BTreeMap::new();
        let mut seen = std::collections::BTreeSet::new();
        for item in &items {
            match item {
                HoldItem::Seat { seat, grade } => {
                    let (g, slot) = self.seats.get(seat).ok_or(InventoryError::Unknown)?;
                    if g != grade {
                        return Err(InventoryError::Unknown);
                    }
                    if *slot != Slot::Free || !seen.insert(*seat) {
                        return Err(InventoryError::SoldOut);
                    }
                }
                HoldItem::Units { grade, quantity } => {
                    if *quantity == 0 {
                        return Err(InventoryError::Empty);
                    }
                    *units.entry(*grade).or_default() += quantity;
                }
            }
        }
        for (grade, qty) in &units {
            let q = self.quotas.get(grade).ok_or(InventoryError::Unknown)?;
            if q.available() < *qty {
                return Err(InventoryError::SoldOut);
            }
        }
        let id = self.holds.len();
        for item in &items {
            match item {
                HoldItem::Seat { seat, .. } => self.seats.get_mut(seat).expect("checked above").1 = Slot::Held(id),
                HoldItem::Units { grade, quantity } => {
                    self.quotas.get_mut(grade).expect("checked above").held += quantity
                }
            }
        }
        self.holds.push(ModelHold { items, expires_at_ms, active: true });
        Ok(id)
    }

    /// Releases every active hold whose time is up; returns how many.
    pub fn expire(&mut self, now_ms: i64) -> usize {
        let due: Vec<usize> =
            (0..self.holds.len()).filter(|&i| self.holds[i].active && now_ms >= self.holds[i].expires_at_ms).collect();
        for &i in &due {
            self.release(i);
        }
        due.len()
    }

    /// The buyer cancels: the hold's inventory returns to sale at once.
    pub fn cancel(&mut self, hold: usize) -> Result<(), InventoryError> {
        self.active(hold, i64::MIN)?;
        self.release(hold);
        Ok(())
    }

    /// Payment approved: an active, unexpired hold becomes a paid order. Otherwise the caller
    /// must refund the payment.
    pub fn pay(&mut self, hold: usize, now_ms: i64) -> Result<usize, InventoryError> {
        self.active(hold, now_ms)?;
        let order = self.orders.len();
        let h = &mut self.holds[hold];
        h.active = false;
        let items = h.items.clone();
        let mut lines = Vec::new();
        for item in &items {
            let price = *self.prices.get(&item.grade()).ok_or(InventoryError::Unknown)?;
            lines.push(price.checked_mul(item.ticket_count())?);
            match item {
                HoldItem::Seat { seat, .. } => {
                    self.seats.get_mut(seat).expect("held seat exists").1 = Slot::Sold(order)
                }
                HoldItem::Units { grade, quantity } => {
                    let q = self.quotas.get_mut(grade).expect("held grade exists");
                    q.held -= quantity;
                    q.sold += quantity;
                }
            }
        }
        let currency = lines.first().map(|m| m.currency()).ok_or(InventoryError::Empty)?;
        let total = Money::sum(currency, lines)?;
        self.orders.push(ModelOrder { hold, items, total });
        Ok(order)
    }

    pub fn quota(&self, grade: GradeId) -> Option<Quota> {
        self.quotas.get(&grade).copied()
    }

    pub fn free_seats(&self) -> Vec<SeatId> {
        self.seats.iter().filter(|(_, (_, s))| *s == Slot::Free).map(|(id, _)| *id).collect()
    }

    pub fn orders(&self) -> &[ModelOrder] {
        &self.orders
    }

    pub fn hold_is_active(&self, hold: usize) -> bool {
        self.holds.get(hold).is_some_and(|h| h.active)
    }

    /// Checks every invariant from first principles (the orders and holds), not from counters.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut sold_by: BTreeMap<SeatId, usize> = BTreeMap::new();
        for (o, order) in self.orders.iter().enumerate() {
            for item in &order.items {
                if let HoldItem::Seat { seat, .. } = item
                    && let Some(prev) = sold_by.insert(*seat, o)
                {
                    return Err(format!("seat {seat} sold by orders {prev} and {o}"));
                }
            }
        }
        for (seat, (_, slot)) in &self.seats {
            let expected = match sold_by.get(seat) {
                Some(o) => Slot::Sold(*o),
                None => match self.active_hold_on(*seat) {
                    Some(h) => Slot::Held(h),
                    None => Slot::Free,
                },
            };
            if *slot != expected {
                return Err(format!("seat {seat} is {slot:?}, orders and holds say {expected:?}"));
            }
        }
        for (grade, q) in &self.quotas {
            let sold = self.units(grade, self.orders.iter().map(|o| &o.items));
            let held = self.units(grade, self.holds.iter().filter(|h| h.active).map(|h| &h.items));
            if q.sold != sold || q.held != held || sold + held > q.total {
                return Err(format!("grade {grade}: {q:?} but orders sold {sold}, holds keep {held}"));
            }
        }
        for order in &self.orders {
            let priced = order.items.iter().map(|i| self.prices[&i.grade()].checked_mul(i.ticket_count()));
            let expected = priced
                .collect::<Result<Vec<_>, _>>()
                .and_then(|lines| Money::sum(order.total.currency(), lines))
                .map_err(|e| format!("order lines do not add up: {e}"))?;
            if order.total != expected {
                return Err(format!("order total {} but lines add up to {expected}", order.total));
            }
        }
        Ok(())
    }

    fn active(&self, hold: usize, now_ms: i64) -> Result<(), InventoryError> {
        match self.holds.get(hold) {
            Some(h) if h.active && now_ms < h.expires_at_ms => Ok(()),
            _ => Err(InventoryError::HoldNotActive),
        }
    }

    fn release(&mut self, hold: usize) {
        let h = &mut self.holds[hold];
        h.active = false;
        for item in h.items.clone() {
            match item {
                HoldItem::Seat { seat, .. } => self.seats.get_mut(&seat).expect("held seat exists").1 = Slot::Free,
                HoldItem::Units { grade, quantity } => {
                    self.quotas.get_mut(&grade).expect("held grade exists").held -= quantity
                }
            }
        }
    }

    fn active_hold_on(&self, seat: SeatId) -> Option<usize> {
        self.holds
            .iter()
            .position(|h| h.active && h.items.iter().any(|i| matches!(i, HoldItem::Seat { seat: s, .. } if *s == seat)))
    }

    fn units<'a>(&self, grade: &GradeId, lists: impl Iterator<Item = &'a Vec<HoldItem>>) -> u32 {
        lists
            .flatten()
            .filter_map(|i| match i {
                HoldItem::Units { grade: g, quantity } if g == grade => Some(*quantity),
                _ => None,
            })
            .sum()
    }
}
