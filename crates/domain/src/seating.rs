//! Best-available seat selection: N adjacent seats in the best row, as central as possible.
//!
//! Rows are ranked by the venue (lower `row_rank` is better: closer to the stage, or a quieter
//! coach). Adjacent means consecutive seat numbers in the same row. When no row has N adjacent
//! free seats, the caller may accept the N best seats anywhere in the grade.

use crate::SeatId;
use std::collections::BTreeMap;

/// One seat of a grade with its position and whether it can be sold now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatPos {
    pub id: SeatId,
    /// Quality of the row: lower is better.
    pub row_rank: i32,
    /// Row label; for transport the coach/cabin is part of it (e.g. "C3-5").
    pub row: String,
    /// Position within the row; consecutive numbers are adjacent.
    pub number: i32,
    pub free: bool,
}

/// What `best_available` picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub seats: Vec<SeatId>,
    /// True when all seats are consecutive in one row.
    pub adjacent: bool,
}

/// Picks `n` seats: the best-ranked row holding `n` adjacent free seats, the window closest to
/// the row's centre. Without such a row, falls back (unless `require_adjacent`) to the `n`
/// best free seats by row rank and distance from centre. `None` when there are fewer than `n`
/// free seats, or no adjacent block when one is required.
pub fn best_available(seats: &[SeatPos], n: usize, require_adjacent: bool) -> Option<Selection> {
    if n == 0 {
        return None;
    }
    let rows = by_row(seats);
    for row in rows.values() {
        if let Some(window) = best_window(row, n) {
            return Some(Selection { seats: window, adjacent: true });
        }
    }
    if require_adjacent {
        return None;
    }
    let mut free: Vec<(&SeatPos, i64)> = Vec::new();
    for row in rows.values() {
        let centre2 = centre_doubled(row);
        free.extend(row.iter().filter(|s| s.free).map(|s| (*s, (2 * i64::from(s.number) - centre2).abs())));
    }
    if free.len() < n {
        return None;
    }
    free.sort_by_key(|(s, dist)| (s.row_rank, *dist, s.number, s.id));
    let picked = free[..n].iter().map(|(s, _)| s.id).collect();
    Some(Selection { seats: picked, adjacent: n == 1 })
}

/// The longest run of adjacent free seats in any row (offered as "fewer adjacent seats").
pub fn largest_adjacent_run(seats: &[SeatPos]) -> usize {
    by_row(seats).values().flat_map(|row| runs(row)).map(|r| r.len()).max().unwrap_or(0)
}

/// Rows in quality order, each sorted by seat number.
fn by_row(seats: &[SeatPos]) -> BTreeMap<(i32, &str), Vec<&SeatPos>> {
    let mut rows: BTreeMap<(i32, &str), Vec<&SeatPos>> = BTreeMap::new();
    for s in seats {
        rows.entry((s.row_rank, s.row.as_str())).or_default().push(s);
    }
    for row in rows.values_mut() {
        row.sort_by_key(|s| s.number);
    }
    rows
}

/// Twice the centre of the row (integer arithmetic: min + max).
fn centre_doubled(row: &[&SeatPos]) -> i64 {
    match (row.first(), row.last()) {
        (Some(a), Some(b)) => i64::from(a.number) + i64::from(b.number),
        _ => 0,
    }
}

/// Maximal runs of free seats with consecutive numbers.
fn runs<'a>(row: &'a [&'a SeatPos]) -> Vec<&'a [&'a SeatPos]> {
    let mut out = Vec::new();
    let mut start = None;
    for i in 0..=row.len() {
        let continues = i < row.len()
            && row[i].free
            && start.is_some_and(|_| row[i - 1].free && row[i].number == row[i - 1].number + 1);
        if continues {
            continue;
        }
        if let Some(s) = start.take() {
            out.push(&row[s..i]);
        }
        if i < row.len() && row[i].free {
            start = Some(i);
        }
    }
    out
}

/// The `n`-seat window in this row closest to its centre, if any run is long enough.
fn best_window(row: &[&SeatPos], n: usize) -> Option<Vec<SeatId>> {
    let centre2 = centre_doubled(row);
    let mut best: Option<(i64, &[&SeatPos])> = None;
    for run in runs(row).into_iter().filter(|r| r.len() >= n) {
        for w in run.windows(n) {
            let mid2 = i64::from(w[0].number) + i64::from(w[n - 1].number);
            let dist = (mid2 - centre2).abs();
            if best.is_none_or(|(d, _)| dist < d) {
                best = Some((dist, w));
            }
        }
    }
    best.map(|(_, w)| w.iter().map(|s| s.id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds rows from strings: one string per row, '.' free, 'x' taken.
    fn layout(rows: &[&str]) -> Vec<SeatPos> {
        let mut out = Vec::new();
        for (r, pattern) in rows.iter().enumerate() {
            for (i, c) in pattern.chars().enumerate() {
                out.push(SeatPos {
                    id: SeatId((r * 100 + i + 1) as i64),
                    row_rank: r as i32,
                    row: format!("{}", (b'A' + r as u8) as char),
                    number: i as i32 + 1,
                    free: c == '.',
                });
            }
        }
        out
    }

    #[test]
    fn picks_the_centre_of_the_front_row_when_free() {
        let s = best_available(&layout(&["........", "........"]), 2, false).unwrap();
        assert_eq!(s.seats, vec![SeatId(4), SeatId(5)]);
        assert!(s.adjacent);
    }

    #[test]
    fn skips_a_row_without_a_long_enough_run() {
        let s = best_available(&layout(&[".x.x.x.x", "xx...xxx"]), 3, false).unwrap();
        assert_eq!(s.seats, vec![SeatId(103), SeatId(104), SeatId(105)]);
    }

    #[test]
    fn falls_back_to_separate_seats_when_adjacency_is_impossible() {
        let s = best_available(&layout(&[".x.x", "x.xx"]), 3, false).unwrap();
        assert!(!s.adjacent);
        assert_eq!(s.seats.len(), 3);
        assert!(best_available(&layout(&[".x.x", "x.xx"]), 3, true).is_none());
    }

    #[test]
    fn too_few_free_seats_is_none() {
        assert!(best_available(&layout(&["x..x"]), 3, false).is_none());
        assert!(best_available(&layout(&["...."]), 0, false).is_none());
    }

    #[test]
    fn largest_run_counts_consecutive_free_seats() {
        assert_eq!(largest_adjacent_run(&layout(&[".x..x...", "..x."])), 3);
        assert_eq!(largest_adjacent_run(&layout(&["xxxx"])), 0);
    }

    #[test]
    fn gaps_in_numbering_break_adjacency() {
        let mut seats = layout(&["...."]);
        seats[2].number = 10; // an aisle between seat 2 and seat 10
        seats[3].number = 11;
        assert_eq!(largest_adjacent_run(&seats), 2);
    }
}
