//! What staff see: a full-screen verdict (large green ADMIT or red DENY in block letters, the
//! seat, how many it admits, grade, time, reason; a bell on deny), or for scripts and tests one
//! plain line per scan. The full screen is laid out by [`layout`], a pure function of the
//! screen's size and what it shows: every row stays inside the screen at any width (long text
//! is wrapped or cut with `…`), and the status line — with the scans waiting for upload — and
//! the prompt are always on it.

use crate::model::Verdict;
use crate::terminal::Health;
use crossterm::style::{Color, Print, ResetColor, SetBackgroundColor, SetForegroundColor, Stylize};
use crossterm::terminal::{Clear, ClearType};
use crossterm::{cursor, queue};
use std::io::Write;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

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

/// How a row is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Bold,
    Dim,
    /// Black on this colour: the verdict.
    Banner(Color),
}

/// One row of the screen: `text` at column `x` of line `y`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub x: u16,
    pub y: u16,
    pub style: Style,
    pub text: String,
}

/// The whole screen, every row inside it (`x` + the text's width ≤ width, `y` < height).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub rows: Vec<Row>,
    /// A deny rings the bell.
    pub bell: bool,
}

/// Label column of the detail rows (`Reason:  `).
const LABEL: usize = 9;

/// Printable only (a control character could move the cursor), at most `width` columns: cut
/// with `…` when longer.
fn fit(text: &str, width: usize) -> String {
    let text: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if text.width() <= width {
        return text;
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

/// The end of `text` in at most `width` columns (`…` first when cut): what was typed last
/// stays in view.
fn fit_tail(text: &str, width: usize) -> String {
    let text: String = text.chars().filter(|c| !c.is_control()).collect();
    if text.width() <= width {
        return text;
    }
    let mut tail = Vec::new();
    let mut used = 1;
    for c in text.chars().rev() {
        let w = c.width().unwrap_or(0);
        if used + w > width {
            break;
        }
        tail.push(c);
        used += w;
    }
    if width == 0 {
        return String::new();
    }
    std::iter::once('…').chain(tail.into_iter().rev()).collect()
}

/// `label` and `value` wrapped within `width` columns, continued under the value.
fn wrapped(label: &str, value: &str, width: usize) -> Vec<String> {
    let text = format!("{label:<LABEL$}{value}");
    if width <= LABEL + 4 {
        return vec![fit(&text, width)];
    }
    let indent = " ".repeat(LABEL);
    let options = textwrap::Options::new(width).subsequent_indent(&indent);
    textwrap::wrap(&text, options).into_iter().map(|line| fit(&line, width)).collect()
}

/// The status line: what waits for upload first (it is what staff must watch), then the link
/// to the server, the gate and how it works.
fn status(screen: &Screen<'_>) -> String {
    let health = screen.health;
    let link = match (&health.last_error, health.last_contact_ms) {
        (Some(e), _) => format!("server unreachable ({e})"),
        (None, Some(at)) => format!("server reached {}", hhmmss(at)),
        (None, None) => "not synced yet".into(),
    };
    let refused = health.upload_error.as_ref().map(|e| format!(" (upload failed: {e})")).unwrap_or_default();
    format!(
        "{} to upload{refused} · {link} · {} · session {} · {} mode",
        health.pending,
        screen.gate_name,
        screen.session.map_or("any".into(), |s| s.to_string()),
        if screen.online { "online" } else { "offline" },
    )
}

/// What the screen shows at `width` × `height`: the verdict (in block letters when they fit),
/// its details (a long reason wrapped), then the status line and the prompt, which are always
/// on screen (details give way first when it is short).
pub fn layout(width: u16, height: u16, screen: &Screen<'_>, last: Option<(i64, &Verdict, i64)>, typed: &str) -> Layout {
    let margin: u16 = if width >= 24 { 2 } else { 0 };
    let top: u16 = if height >= 12 { 1 } else { 0 };
    let room = usize::from(width - margin.min(width));
    // The verdict (banner) and its details, top to bottom.
    let mut banner: Vec<(Style, String)> = Vec::new();
    let mut details: Vec<(Style, String)> = Vec::new();
    let mut bell = false;
    let verdict = last.map(|(_, v, _)| match (v.is_admit(), v.direction) {
        (true, admit_domain::Direction::Entry) => ("ADMIT", Color::Green),
        (true, admit_domain::Direction::Exit) => ("EXIT", Color::Green),
        (false, _) => ("DENY", Color::Red),
    });
    match (last, verdict) {
        (Some((seq, v, at)), Some((word, color))) => {
            let block = block_letters(word);
            let big = height >= 16 && block.iter().all(|r| r.width() + 2 <= room);
            if big {
                banner.extend(block.into_iter().map(|text| (Style::Banner(color), format!(" {text} "))));
            } else {
                banner.push((Style::Banner(color), fit(&format!(" {word} "), room)));
            }
            let mut line = |label: &str, value: String, style: Style| {
                details.extend(wrapped(label, &value, room).into_iter().map(|l| (style, l)));
            };
            if let Some(reason) = v.deny {
                line("Reason:", format!("{reason} ({})", reason.code()), Style::Bold);
                bell = true;
            }
            line("Seat:", v.seat.clone().unwrap_or_else(|| "general admission".into()), Style::Plain);
            let entry = entries(v).map(|e| format!(" (entry {e})")).unwrap_or_default();
            line("Admits:", format!("{}{entry}", v.admits), Style::Plain);
            line("Grade:", v.grade.clone().unwrap_or_else(|| "-".into()), Style::Plain);
            if let Some(policy) = v.entry_policy {
                let inside = match v.inside {
                    Some(true) => " · inside",
                    Some(false) => " · passed out: may re-enter",
                    None => "",
                };
                line("Policy:", format!("{policy}{inside}"), Style::Plain);
            }
            line("Ticket:", v.reference.clone().unwrap_or_else(|| "-".into()), Style::Plain);
            let source = if v.online { "online" } else { "offline" };
            line("Time:", format!("{}   scan #{seq}   {source}", hhmmss(at)), Style::Plain);
        }
        _ => details.push((Style::Bold, fit("Ready. Scan a ticket.", room))),
    }
    let prompt = if room >= 2 { format!("> {}", fit_tail(typed, room - 2)) } else { ">".repeat(room) };
    let footer = [(Style::Dim, fit(&status(screen), room)), (Style::Plain, prompt)];
    // Rows left for the verdict and details once the footer (and a blank line before it) is placed.
    let usable = usize::from(height.saturating_sub(top));
    let mut body_room = usable.saturating_sub(footer.len() + 1);
    let mut body: Vec<(Style, String)> = Vec::new();
    // The banner first (a big one becomes one row when it does not fit), then details in order.
    if banner.len() > body_room
        && let Some((word, color)) = verdict
    {
        banner = vec![(Style::Banner(color), fit(&format!(" {word} "), room))];
    }
    for row in banner.into_iter().chain(std::iter::once((Style::Plain, String::new()))).chain(details) {
        if body_room == 0 {
            break;
        }
        body.push(row);
        body_room -= 1;
    }
    let mut rows = Vec::new();
    let mut y = top;
    for (style, text) in body {
        rows.push(Row { x: margin, y, style, text });
        y += 1;
    }
    // The footer sits under the body, after a blank line when there is room, and never below
    // the last line.
    let footer_rows = (footer.len() as u16).min(height);
    let footer_y = (y + 1).min(height.saturating_sub(footer_rows));
    for (i, (style, text)) in footer.into_iter().rev().take(usize::from(footer_rows)).rev().enumerate() {
        rows.push(Row { x: margin, y: footer_y + i as u16, style, text });
    }
    Layout { rows, bell }
}

/// Clears the screen and draws [`layout`] at the terminal's size. A deny rings the bell.
pub fn draw(
    out: &mut impl Write,
    screen: &Screen<'_>,
    last: Option<(i64, &Verdict, i64)>,
    typed: &str,
) -> std::io::Result<()> {
    let (width, height) = crossterm::terminal::size().unwrap_or((80, 24));
    draw_at(out, width, height, screen, last, typed)
}

/// [`draw`] at a given size.
pub fn draw_at(
    out: &mut impl Write,
    width: u16,
    height: u16,
    screen: &Screen<'_>,
    last: Option<(i64, &Verdict, i64)>,
    typed: &str,
) -> std::io::Result<()> {
    let layout = layout(width, height, screen, last, typed);
    queue!(out, Clear(ClearType::All))?;
    for row in &layout.rows {
        queue!(out, cursor::MoveTo(row.x, row.y))?;
        match row.style {
            Style::Plain => queue!(out, Print(&row.text))?,
            Style::Bold => queue!(out, Print(row.text.as_str().bold()))?,
            Style::Dim => queue!(out, Print(row.text.as_str().dim()))?,
            Style::Banner(color) => {
                queue!(out, SetForegroundColor(Color::Black), SetBackgroundColor(color), Print(&row.text), ResetColor)?
            }
        }
    }
    if layout.bell {
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

    fn screen_of(health: &Health) -> Screen<'_> {
        Screen { gate_name: "Gate A (north) — the long queue by the river", session: Some(3), online: false, health }
    }

    /// Every row inside the screen, one row per line, the prompt on the last row used.
    fn assert_inside(layout: &Layout, width: u16, height: u16) {
        let mut lines: Vec<u16> = layout.rows.iter().map(|r| r.y).collect();
        lines.dedup();
        assert_eq!(lines.len(), layout.rows.len(), "two rows on one line at {width}x{height}: {layout:?}");
        for row in &layout.rows {
            assert!(row.y < height, "row below the screen at {width}x{height}: {row:?}");
            assert!(
                usize::from(row.x) + row.text.width() <= usize::from(width),
                "row wider than the screen at {width}x{height}: {row:?}"
            );
            assert!(!row.text.contains(|c: char| c.is_control()), "{row:?}");
        }
        let prompt = layout.rows.last().expect("a prompt");
        assert!(prompt.text.starts_with('>'), "the prompt is last at {width}x{height}: {layout:?}");
        assert_eq!(prompt.y, layout.rows.iter().map(|r| r.y).max().unwrap());
    }

    fn text(layout: &Layout) -> String {
        layout.rows.iter().map(|r| r.text.as_str()).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn every_row_stays_inside_the_screen_at_any_size() {
        let health = Health {
            last_error: Some(
                "could not reach the server: error sending request for url (http://10.0.0.7/gate/sync)".into(),
            ),
            upload_error: Some("the server refused: 413 The body is over 64 KiB.".into()),
            pending: 12_345,
            ..Health::default()
        };
        let mut long = verdict(Some(DenyReason::BadDeviceSignature));
        long.seat = Some("Section 14, Row 22, Seat 7 — behind the mixing desk, restricted view of the stage".into());
        let typed = "ADM1:".to_owned() + &"x".repeat(300);
        let admit = verdict(None);
        for width in [1, 8, 12, 20, 23, 24, 40, 60, 80, 120, 250] {
            for height in [1, 2, 3, 5, 8, 12, 16, 24, 60] {
                for v in [None, Some(&long), Some(&admit)] {
                    let layout = layout(width, height, &screen_of(&health), v.map(|v| (7, v, 0)), &typed);
                    assert_inside(&layout, width, height);
                }
            }
        }
    }

    #[test]
    fn a_long_deny_reason_and_seat_wrap_within_a_narrow_screen() {
        let health = Health::default();
        let mut v = verdict(Some(DenyReason::BadDeviceSignature));
        v.seat = Some("Section 14, Row 22, Seat 7 behind the mixing desk".into());
        let layout = layout(40, 40, &screen_of(&health), Some((7, &v, 0)), "");
        let shown = text(&layout);
        assert!(shown.contains("Reason:"), "{shown}");
        let words = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>().join(" ");
        let reason = format!("{} ({})", DenyReason::BadDeviceSignature, DenyReason::BadDeviceSignature.code());
        assert!(words(&shown).contains(&words(&reason)), "the whole reason is shown, wrapped: {shown}");
        assert!(words(&shown).contains("Section 14, Row 22, Seat 7 behind the mixing desk"), "{shown}");
        assert!(layout.rows.iter().filter(|r| r.text.starts_with("         ")).count() >= 2, "{shown}");
    }

    #[test]
    fn big_letters_when_they_fit_one_row_verdict_when_not() {
        let health = Health::default();
        let admit = verdict(None);
        let wide = layout(120, 40, &screen_of(&health), Some((1, &admit, 0)), "");
        let narrow = layout(20, 40, &screen_of(&health), Some((1, &admit, 0)), "");
        let banners = |l: &Layout| l.rows.iter().filter(|r| matches!(r.style, Style::Banner(Color::Green))).count();
        assert_eq!(banners(&wide), 5);
        assert_eq!(banners(&narrow), 1);
        assert!(narrow.rows.iter().any(|r| r.text.trim() == "ADMIT"), "{narrow:?}");
    }

    #[test]
    fn the_status_line_shows_the_scans_to_upload_first_at_any_width() {
        let health = Health { pending: 42, ..Health::default() };
        for width in [20, 40, 80, 200] {
            let layout = layout(width, 24, &screen_of(&health), None, "");
            let status = &layout.rows[layout.rows.len() - 2];
            assert!(status.text.starts_with("42 to upload"), "at {width}: {status:?}");
            assert_eq!(status.style, Style::Dim);
        }
        let wide = layout(250, 24, &screen_of(&health), None, "");
        assert!(text(&wide).contains("42 to upload · not synced yet · Gate A (north)"), "{}", text(&wide));
    }

    #[test]
    fn a_refused_upload_is_on_the_status_line() {
        let health = Health {
            pending: 3,
            upload_error: Some("the server refused: 413 too large".into()),
            last_contact_ms: Some(0),
            ..Health::default()
        };
        let layout = layout(200, 24, &screen_of(&health), None, "");
        assert!(
            text(&layout).contains("3 to upload (upload failed: the server refused: 413 too large) · server reached")
        );
    }

    #[test]
    fn the_prompt_shows_the_end_of_a_long_code() {
        let health = Health::default();
        let typed = format!("ADM1:{}END", "a".repeat(200));
        let layout = layout(40, 24, &screen_of(&health), None, &typed);
        let prompt = layout.rows.last().unwrap();
        assert!(prompt.text.starts_with("> …") && prompt.text.ends_with("aEND"), "{prompt:?}");
    }

    #[test]
    fn a_deny_screen_rings_the_bell_and_an_admit_does_not() {
        let health = Health::default();
        let screen = Screen { gate_name: "Gate 1", session: None, online: false, health: &health };
        let mut denied = Vec::new();
        draw_at(&mut denied, 80, 24, &screen, Some((1, &verdict(Some(DenyReason::Expired)), 0)), "").unwrap();
        let mut admitted = Vec::new();
        draw_at(&mut admitted, 80, 24, &screen, Some((2, &verdict(None), 0)), "").unwrap();
        assert!(denied.contains(&0x07));
        assert!(!admitted.contains(&0x07));
        assert!(String::from_utf8_lossy(&denied).contains("expired"));
    }
}
