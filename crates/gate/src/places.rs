//! Choosing the gate a terminal is enrolled at: the organiser's gates as `GET /gate/places`
//! lists them (with a staff token), picked by id or by name, or by number from a list shown
//! to staff. A name that matches no gate or several is refused with one line naming the gates.

use std::fmt;

/// A gate of one of the organiser's venues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateChoice {
    pub id: i64,
    pub name: String,
    pub venue_id: i64,
    pub venue: String,
}

impl fmt::Display for GateChoice {
    /// `North (gate 1, Test Park)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (gate {}, {})", self.name, self.id, self.venue)
    }
}

/// The gates as one readable list: `North (gate 1, Test Park), South (gate 2, Test Park)`.
pub fn list(gates: &[&GateChoice]) -> String {
    gates.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// The gate `wanted` names: a gate's id, else its name (case and surrounding spaces ignored),
/// else the one gate whose name contains it. None or several: a one-line error listing the
/// candidates.
pub fn pick<'a>(gates: &'a [GateChoice], wanted: &str) -> Result<&'a GateChoice, String> {
    let all: Vec<&GateChoice> = gates.iter().collect();
    if all.is_empty() {
        return Err("the staff token's organiser has no gates to enrol at".into());
    }
    let wanted = wanted.trim();
    if let Ok(id) = wanted.parse::<i64>()
        && let Some(gate) = gates.iter().find(|g| g.id == id)
    {
        return Ok(gate);
    }
    let lower = wanted.to_lowercase();
    let exact: Vec<&GateChoice> = gates.iter().filter(|g| g.name.trim().to_lowercase() == lower).collect();
    let matches = if exact.is_empty() && !lower.is_empty() {
        gates.iter().filter(|g| g.name.to_lowercase().contains(&lower)).collect()
    } else {
        exact
    };
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(format!("no gate is called \"{wanted}\"; the gates are: {}", list(&all))),
        several => Err(format!("\"{wanted}\" names {} gates: {}; give the gate's id", several.len(), list(several))),
    }
}

/// The numbered list staff choose from, one gate a line: `  1) North (gate 1, Test Park)`.
pub fn numbered(gates: &[GateChoice]) -> String {
    gates.iter().enumerate().map(|(i, g)| format!("{:>3}) {g}\n", i + 1)).collect()
}

/// What staff answered to [`numbered`]: the gate's number in the list, or anything [`pick`]
/// takes.
pub fn pick_numbered<'a>(gates: &'a [GateChoice], answer: &str) -> Result<&'a GateChoice, String> {
    match answer.trim().parse::<usize>() {
        Ok(n) if (1..=gates.len()).contains(&n) => Ok(&gates[n - 1]),
        Ok(n) => Err(format!("choose a number from 1 to {}, not {n}", gates.len())),
        Err(_) => pick(gates, answer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gates() -> Vec<GateChoice> {
        let gate =
            |id, name: &str, venue_id, venue: &str| GateChoice { id, name: name.into(), venue_id, venue: venue.into() };
        vec![
            gate(1, "Gate A (north)", 1, "Olympic Hall"),
            gate(2, "Gate B (south)", 1, "Olympic Hall"),
            gate(3, "Main entrance", 2, "Blue Square"),
            gate(4, "Main entrance", 3, "Riverside"),
        ]
    }

    #[test]
    fn a_gate_is_picked_by_id_by_name_or_by_a_unique_part_of_its_name() {
        let gates = gates();
        assert_eq!(pick(&gates, "2").unwrap().id, 2);
        assert_eq!(pick(&gates, "gate a (NORTH)").unwrap().id, 1);
        assert_eq!(pick(&gates, " south ").unwrap().id, 2);
    }

    #[test]
    fn a_name_matching_no_gate_is_refused_with_the_list_of_gates() {
        let err = pick(&gates(), "West").unwrap_err();
        assert_eq!(
            err,
            "no gate is called \"West\"; the gates are: Gate A (north) (gate 1, Olympic Hall), Gate B (south) (gate 2, \
             Olympic Hall), Main entrance (gate 3, Blue Square), Main entrance (gate 4, Riverside)"
        );
        assert!(!err.contains('\n'));
        assert!(pick(&gates(), "99").unwrap_err().starts_with("no gate is called \"99\"; "));
    }

    #[test]
    fn a_name_matching_several_gates_is_refused_with_those_gates() {
        let err = pick(&gates(), "main entrance").unwrap_err();
        assert_eq!(
            err,
            "\"main entrance\" names 2 gates: Main entrance (gate 3, Blue Square), Main entrance (gate 4, Riverside); \
             give the gate's id"
        );
        assert!(pick(&gates(), "gate").unwrap_err().starts_with("\"gate\" names 2 gates: "));
    }

    #[test]
    fn staff_choose_by_number_from_the_list() {
        let gates = gates();
        assert_eq!(numbered(&gates).lines().next(), Some("  1) Gate A (north) (gate 1, Olympic Hall)"));
        assert_eq!(pick_numbered(&gates, "3\n").unwrap().id, 3);
        assert_eq!(pick_numbered(&gates, "north").unwrap().id, 1);
        assert_eq!(pick_numbered(&gates, "5").unwrap_err(), "choose a number from 1 to 4, not 5");
        assert!(pick_numbered(&gates, "").is_err());
    }

    #[test]
    fn with_no_gates_there_is_nothing_to_pick() {
        assert_eq!(pick(&[], "North").unwrap_err(), "the staff token's organiser has no gates to enrol at");
    }
}
