//! The on-sale waiting room's admission arithmetic, shared by every store backend.
//!
//! Buyers who arrive before the sale opens are drawn into a random order at opening (so being
//! first to reload the page at 09:59:59 earns nothing); later arrivals queue in arrival order.
//! Each queued buyer holds a sequence number. The *frontier* is how far admission has got: the
//! buyer with sequence `s` is admitted once `s < frontier`. The frontier advances at the
//! configured rate, but never more than a short burst past the end of the queue, so a quiet
//! period does not bank admissions that a later rush could spend all at once.
//!
//! The stored state is (`frontier`, `frontier_at`, `next_seq`); between joins the frontier at
//! any later time is a pure function of it, so polling one's place needs no write.

/// A waiting room's stored admission state. Times are unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// When the sale opens; early arrivals are drawn into order at this moment.
    pub opens_at_ms: i64,
    /// Buyers admitted per minute once the sale is open.
    pub per_minute: u32,
    /// Whether early arrivals have been drawn into order yet.
    pub drawn: bool,
    /// The sequence number the next arrival gets.
    pub next_seq: i64,
    /// Sequence numbers below this were admitted by `frontier_at_ms`.
    pub frontier: i64,
    pub frontier_at_ms: i64,
}

impl Admission {
    /// A new room: nobody queued, nothing admitted, opening at `opens_at_ms`.
    pub fn new(opens_at_ms: i64, per_minute: u32) -> Admission {
        Admission {
            opens_at_ms,
            per_minute: per_minute.max(1),
            drawn: false,
            next_seq: 0,
            frontier: 0,
            frontier_at_ms: opens_at_ms,
        }
    }

    /// How many admissions may run ahead of the queue: one second's worth, at least one. A
    /// buyer who arrives while nobody is waiting goes straight in.
    pub fn burst(&self) -> i64 {
        (i64::from(self.per_minute) / 60).max(1)
    }

    /// Admissions earned between `frontier_at_ms` and `now_ms` at the configured rate.
    fn earned(&self, now_ms: i64) -> i64 {
        if now_ms <= self.frontier_at_ms {
            return 0;
        }
        // i128: a year of milliseconds times a large rate still fits comfortably.
        ((i128::from(now_ms - self.frontier_at_ms) * i128::from(self.per_minute)) / 60_000) as i64
    }

    /// The frontier at `now_ms` (valid while no one joins in between, which is what a read sees).
    pub fn frontier_at(&self, now_ms: i64) -> i64 {
        if !self.drawn || now_ms < self.opens_at_ms {
            return self.frontier;
        }
        (self.frontier + self.earned(now_ms)).min(self.next_seq + self.burst()).max(self.frontier)
    }

    /// Writes the frontier reached at `now_ms` into the state, keeping the fractional progress
    /// towards the next admission unless the frontier hit its cap (then the clock restarts).
    pub fn advance(&mut self, now_ms: i64) {
        if !self.drawn || now_ms < self.opens_at_ms {
            return;
        }
        let earned = self.earned(now_ms);
        let cap = self.next_seq + self.burst();
        if self.frontier + earned >= cap {
            self.frontier = cap.max(self.frontier);
            self.frontier_at_ms = now_ms;
        } else if earned > 0 {
            self.frontier += earned;
            self.frontier_at_ms += earned * 60_000 / i64::from(self.per_minute);
        }
    }

    /// Records the draw at opening: `early` buyers take sequence numbers `0..early`.
    pub fn draw(&mut self, early: i64) {
        self.drawn = true;
        self.next_seq = early;
        self.frontier = 0;
        self.frontier_at_ms = self.opens_at_ms;
    }

    /// Changes the rate from `now_ms` on, keeping what was admitted so far.
    pub fn set_rate(&mut self, per_minute: u32, now_ms: i64) {
        self.advance(now_ms);
        if self.drawn && now_ms > self.frontier_at_ms {
            self.frontier_at_ms = now_ms;
        }
        self.per_minute = per_minute.max(1);
    }
}

/// Where one queued buyer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Arrived before opening; the place is drawn at opening.
    Early,
    /// `ahead` buyers are before this one; at the rate, about `wait_ms` to go.
    Waiting {
        position: i64,
        wait_ms: i64,
    },
    Admitted,
}

impl Admission {
    /// Where the buyer with sequence `seq` (None before the draw) stands at `now_ms`.
    pub fn standing(&self, seq: Option<i64>, now_ms: i64) -> Standing {
        let Some(seq) = seq else { return Standing::Early };
        let frontier = self.frontier_at(now_ms);
        if seq < frontier && now_ms >= self.opens_at_ms {
            return Standing::Admitted;
        }
        let position = seq - frontier + 1;
        let mut wait_ms = position * 60_000 / i64::from(self.per_minute);
        if now_ms < self.opens_at_ms {
            wait_ms += self.opens_at_ms - now_ms;
        }
        Standing::Waiting { position, wait_ms }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: i64 = 1_000_000;

    fn opened(early: i64, per_minute: u32) -> Admission {
        let mut a = Admission::new(OPEN, per_minute);
        a.draw(early);
        a
    }

    #[test]
    fn nobody_is_admitted_before_opening() {
        let a = opened(100, 600);
        assert_eq!(a.standing(Some(0), OPEN - 1), Standing::Waiting { position: 1, wait_ms: 100 + 1 });
        assert_eq!(Admission::new(OPEN, 600).standing(None, OPEN + 5_000), Standing::Early);
    }

    #[test]
    fn admission_runs_at_the_configured_rate_in_sequence_order() {
        let a = opened(100, 600); // ten a second
        assert_eq!(a.frontier_at(OPEN), 0);
        assert_eq!(a.frontier_at(OPEN + 1_000), 10);
        assert_eq!(a.standing(Some(9), OPEN + 1_000), Standing::Admitted);
        assert_eq!(a.standing(Some(10), OPEN + 1_000), Standing::Waiting { position: 1, wait_ms: 100 });
        assert_eq!(a.standing(Some(99), OPEN + 1_000), Standing::Waiting { position: 90, wait_ms: 9_000 });
        assert_eq!(a.frontier_at(OPEN + 10_000), 100);
    }

    #[test]
    fn the_frontier_never_runs_more_than_a_burst_past_the_queue() {
        let mut a = opened(5, 600);
        assert_eq!(a.frontier_at(OPEN + 3_600_000), 5 + 10);
        // An hour of quiet banks nothing: after it, a rush of 1,000 is admitted at the rate.
        a.advance(OPEN + 3_600_000);
        a.next_seq += 1_000;
        assert_eq!(a.frontier_at(OPEN + 3_600_000), 15);
        assert_eq!(a.frontier_at(OPEN + 3_601_000), 25);
    }

    #[test]
    fn advancing_keeps_fractional_progress() {
        let mut a = opened(1_000, 60); // one a second
        a.advance(OPEN + 1_500);
        assert_eq!(a.frontier, 1);
        assert_eq!(a.frontier_at(OPEN + 2_000), 2, "the half second already waited counts");
    }

    #[test]
    fn a_lone_arrival_after_a_quiet_spell_goes_straight_in() {
        let mut a = opened(0, 60);
        a.advance(OPEN + 60_000);
        let seq = a.next_seq;
        a.next_seq += 1;
        assert_eq!(a.standing(Some(seq), OPEN + 60_000), Standing::Admitted);
    }

    #[test]
    fn changing_the_rate_keeps_what_was_admitted() {
        let mut a = opened(1_000, 600);
        a.set_rate(60, OPEN + 2_000);
        assert_eq!(a.frontier_at(OPEN + 2_000), 20);
        assert_eq!(a.frontier_at(OPEN + 3_000), 21);
    }
}
