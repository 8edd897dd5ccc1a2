//! What staff see: a full-screen verdict (large green ADMIT or red DENY in block letters, the
//! seat, how many it admits, grade, time, reason; a bell on deny), or for scripts and tests one
//! plain line per scan.

use crate::model::Verdict;
use crate::terminal::Health;
use crossterm::style::{Color, Print, ResetColor, SetBackgroundColor, SetForegroundColor, Stylize};
use crossterm::terminal::{Clear, ClearType};
use crossterm::{cursor, queue};
use std::io::Write;

/// Five-row block glyphs for the letters of ADMIT and DENY.
fn glyph(c: char) -> [&'static str; 5] {
    match c {
        'A' => [" ███ ", "█   █", "█████", "█   █", "█   █"],
        'D' => ["████ ", "█   █", "█   █", "█   █", "████ "],
        'M' => ["█   █", "██ ██", "█ █ █", "█   █", "█   █"],
        'I' => ["█████", "  █  ", "  █  ", "  █  ", "█████"],
        'T' => ["█████", "  █  ", "  █  ", "  █  ", "  █  "],
        'E' => ["█████", "█    ", "████ ", "█    ", "█████"],
        'N' => ["█   █", "██  █", "█ █ █", "█  ██", "█   █"],
        'Y' => ["█   █", " █ █ ", "  █  ", "  █  ", "  █  "],
        'X' => ["█   █", " █ █ ", "  █  ", " █ █ ", "█   █"],
        _ => ["     "; 5],
    }
}

/// `word` in block letters, one string per row.
pub fn block_letters(word: &str) -> Vec<String> {
    (0..5).map(|row| word.chars().map(|c| glyph(c)[row]).collect::<Vec<_>>().join("  ")).collect()
}

fn hhmmss(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(&chrono::Local).format("%H:%M:%S").to_string())
        .unwrap_or_default()
}

fn entries(v: &Verdict) -> Option<String> {
    Some(format!("{}/{}", v.entries_used?, v.max_entries?))
}

/// One line per scan: `ADMIT seq=… key=value …` or `DENY seq=… reason=… …`.
pub fn plain_line(seq: i64, v: &Verdict, scanned_at_ms: i64) -> String {
    let mut line = format!("{} seq={seq}", if v.is_admit() { "ADMIT" } else { "DENY" });
    if let Some(reason) = v.deny {
        line.push_str(&format!(" reason={}", reason.code()));
    }
    let fields = [
        ("ticket", v.reference.clone()),
        ("seat", v.seat.clone()),
        ("grade", v.grade.clone()),
        ("admits", Some(v.admits.to_string())),
        ("entries", entries(v)),
        ("direction", Some(v.direction.as_str().to_owned())),
        ("policy", v.entry_policy.map(str::to_owned)),
        ("inside", v.inside.map(|i| i.to_string())),
        ("session", v.session_id.map(|s| s.to_string())),
        ("source", Some(if v.online { "online" } else { "offline" }.to_owned())),
        ("at", chrono::DateTime::from_timestamp_millis(scanned_at_ms).map(|t| t.to_rfc3339())),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            line.push_str(&format!(" {key}={}", value.replace(' ', "_")));
        }
    }
    line
}

/// What the full screen shows around the verdict.
pub struct Screen<'a> {
    pub gate_name: &'a str,
    pub session: Option<i64>,
    pub online: bool,
    pub health: &'a Health,
}

/// Clears the screen and draws the last verdict (or a waiting screen), then the status line
/// and the prompt. A deny rings the bell.
pub fn draw(
    out: &mut impl Write,
    screen: &Screen<'_>,
    last: Option<(i64, &Verdict, i64)>,
    typed: &str,
) -> std::io::Result<()> {
    // (background colour, text) per screen row.
    let mut rows: Vec<(Option<Color>, String)> = Vec::new();
    let mut bell = false;
    match last {
        None => rows.push((None, "Ready. Scan a ticket.".bold().to_string())),
        Some((seq, v, at)) => {
            let (word, color) = match (v.is_admit(), v.direction) {
                (true, admit_domain::Direction::Entry) => ("ADMIT", Color::Green),
                (true, admit_domain::Direction::Exit) => ("EXIT", Color::Green),
                (false, _) => ("DENY", Color::Red),
            };
            rows.extend(block_letters(word).into_iter().map(|text| (Some(color), format!(" {text} "))));
            rows.push((None, String::new()));
            if let Some(reason) = v.deny {
                rows.push((None, format!("Reason:  {reason} ({})", reason.code()).bold().to_string()));
                bell = true;
            }
            rows.push((None, format!("Seat:    {}", v.seat.as_deref().unwrap_or("general admission"))));
            let entry = entries(v).map(|e| format!("(entry {e})")).unwrap_or_default();
            rows.push((None, format!("Admits:  {} {entry}", v.admits)));
            rows.push((None, format!("Grade:   {}", v.grade.as_deref().unwrap_or("-"))));
            if let Some(policy) = v.entry_policy {
                let inside = match v.inside {
                    Some(true) => " · inside",
                    Some(false) => " · passed out: may re-enter",
                    None => "",
                };
                rows.push((None, format!("Policy:  {policy}{inside}")));
            }
            rows.push((None, format!("Ticket:  {}", v.reference.as_deref().unwrap_or("-"))));
            let source = if v.online { "online" } else { "offline" };
            rows.push((None, format!("Time:    {}   scan #{seq}   {source}", hhmmss(at))));
        }
    }
    rows.push((None, String::new()));
    let link = match (&screen.health.last_error, screen.health.last_contact_ms) {
        (Some(e), _) => format!("server unreachable ({e})"),
        (None, Some(at)) => format!("server reached {}", hhmmss(at)),
        (None, None) => "not synced yet".into(),
    };
    let status = format!(
        "{} · session {} · {} mode · {} · {} to upload",
        screen.gate_name,
        screen.session.map_or("any".into(), |s| s.to_string()),
        if screen.online { "online" } else { "offline" },
        link,
        screen.health.pending
    );
    rows.push((None, status.dim().to_string()));
    rows.push((None, format!("> {typed}")));

    queue!(out, Clear(ClearType::All))?;
    for (i, (background, text)) in rows.into_iter().enumerate() {
        queue!(out, cursor::MoveTo(2, i as u16 + 1))?;
        match background {
            Some(color) => {
                queue!(out, SetForegroundColor(Color::Black), SetBackgroundColor(color), Print(text), ResetColor)?
            }
            None => queue!(out, Print(text))?,
        }
    }
    if bell {
        queue!(out, Print('\x07'))?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use admit_domain::DenyReason;

    fn verdict(deny: Option<DenyReason>) -> Verdict {
        Verdict {
            deny,
            reference: Some("ADM-1234".into()),
            seat: Some("Floor A-1".into()),
            grade: Some("VIP".into()),
            admits: u32::from(deny.is_none()),
            direction: admit_domain::Direction::Entry,
            inside: None,
            entry_policy: Some("single"),
            entries_used: Some(1),
            max_entries: Some(1),
            session_id: Some(3),
            ticket_id: Some(9),
            ticket_version: Some(1),
            online: false,
            device_counter: None,
        }
    }

    #[test]
    fn block_letters_have_five_rows_of_equal_width() {
        for word in ["ADMIT", "DENY", "EXIT"] {
            let rows = block_letters(word);
            assert_eq!(rows.len(), 5);
            assert!(rows.iter().all(|r| r.chars().count() == rows[0].chars().count()), "{rows:?}");
            assert!(rows[0].contains('█'));
        }
    }

    #[test]
    fn a_plain_line_starts_with_the_verdict_and_has_no_spaces_in_values() {
        let admit = plain_line(4, &verdict(None), 0);
        assert!(
            admit.starts_with("ADMIT seq=4 ticket=ADM-1234 seat=Floor_A-1 grade=VIP admits=1 entries=1/1"),
            "{admit}"
        );
        let deny = plain_line(5, &verdict(Some(DenyReason::AlreadyUsed)), 0);
        assert!(deny.starts_with("DENY seq=5 reason=already_used "), "{deny}");
        assert!(deny.contains(" admits=0 "), "{deny}");
    }

    #[test]
    fn a_deny_screen_rings_the_bell_and_an_admit_does_not() {
        let health = Health::default();
        let screen = Screen { gate_name: "Gate 1", session: None, online: false, health: &health };
        let mut denied = Vec::new();
        draw(&mut denied, &screen, Some((1, &verdict(Some(DenyReason::Expired)), 0)), "").unwrap();
        let mut admitted = Vec::new();
        draw(&mut admitted, &screen, Some((2, &verdict(None), 0)), "").unwrap();
        assert!(denied.contains(&0x07));
        assert!(!admitted.contains(&0x07));
        assert!(String::from_utf8_lossy(&denied).contains("expired"));
    }
}
