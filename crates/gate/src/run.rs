//! `admit gate run`: reads one code per line the way keyboard-wedge scanners deliver them,
//! decides and logs each, and answers on the full-screen display, or with one plain line per
//! scan (`--plain`, or whenever standard output is not a terminal). Uploads and syncs run in
//! the background meanwhile. No input stops it but its end (or Esc / Ctrl-C): a line that is
//! not UTF-8 is refused `malformed`, and codes may end in LF or CR+LF.

use crate::display::{Screen, draw, plain_line};
use crate::model::Verdict;
use crate::terminal::Terminal;
use crate::{GateError, now_ms};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode};
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

/// What the input side delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A partly typed line, for the prompt.
    Typing(String),
    Line(String),
    /// A line that is not UTF-8 (a misread barcode): refused `malformed`, never read as text.
    Unreadable,
    Quit,
}

/// One line read from a byte stream, without its line end (`\n` or `\r\n`).
pub fn line_of(mut bytes: Vec<u8>) -> Input {
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    if bytes.last() == Some(&b'\r') {
        bytes.pop();
    }
    match String::from_utf8(bytes) {
        Ok(line) => Input::Line(line),
        Err(_) => Input::Unreadable,
    }
}

/// Lines from standard input (a scanner on a pipe, a script); a line that is not UTF-8 is
/// one unreadable scan, and reading goes on.
fn read_lines(tx: mpsc::Sender<Input>) {
    tokio::spawn(async move {
        let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
        loop {
            let mut bytes = Vec::new();
            match stdin.read_until(b'\n', &mut bytes).await {
                Ok(0) => break,
                Ok(_) => {
                    if tx.send(line_of(bytes)).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "standard input failed");
                    break;
                }
            }
        }
        let _ = tx.send(Input::Quit).await;
    });
}

/// What one key press (as crossterm reads it in raw mode) does to the line being typed.
/// Enter ends a line; so does Ctrl-J, which is how a line feed arrives in raw mode, so a
/// scanner that ends codes with CR+LF sends Enter then Ctrl-J, and the second ends an empty
/// line, which is nothing. Other control keys type nothing; Esc or Ctrl-C quits.
pub fn on_key(typed: &mut String, key: &KeyEvent) -> Option<Input> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let control = key.modifiers.contains(KeyModifiers::CONTROL);
    let line_end = match key.code {
        KeyCode::Enter => true,
        KeyCode::Char('j' | 'm') if control => true,
        _ => false,
    };
    if line_end {
        return (!typed.is_empty()).then(|| Input::Line(std::mem::take(typed)));
    }
    match key.code {
        KeyCode::Esc => Some(Input::Quit),
        KeyCode::Char('c') if control => Some(Input::Quit),
        KeyCode::Char(_) if control => None,
        KeyCode::Backspace => {
            typed.pop();
            Some(Input::Typing(typed.clone()))
        }
        KeyCode::Char(c) => {
            typed.push(c);
            Some(Input::Typing(typed.clone()))
        }
        _ => None,
    }
}

/// Keys from the terminal in raw mode (a keyboard-wedge scanner types, then presses Enter);
/// Esc or Ctrl-C quits.
fn read_keys(tx: mpsc::Sender<Input>) {
    std::thread::spawn(move || {
        let mut typed = String::new();
        loop {
            let Ok(Event::Key(key)) = crossterm::event::read() else { continue };
            let Some(input) = on_key(&mut typed, &key) else { continue };
            let quit = matches!(input, Input::Quit);
            if tx.blocking_send(input).is_err() || quit {
                return;
            }
        }
    });
}

/// Runs until standard input ends (or Esc / Ctrl-C on the full screen).
pub async fn run(terminal: Arc<Terminal>, plain: bool) -> Result<(), GateError> {
    let full_screen = !plain && std::io::stdout().is_terminal();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let background = tokio::spawn(terminal.clone().run_background(stop_rx));
    let (tx, mut rx) = mpsc::channel(64);
    let raw_keys = full_screen && std::io::stdin().is_terminal();
    if raw_keys {
        read_keys(tx);
    } else {
        read_lines(tx);
    }
    let mut out = std::io::stdout();
    if full_screen {
        crossterm::execute!(out, EnterAlternateScreen).map_err(io)?;
        if raw_keys {
            enable_raw_mode().map_err(io)?;
        }
    }
    let result = scan_loop(&terminal, &mut rx, &mut out, full_screen).await;
    if full_screen {
        if raw_keys {
            let _ = disable_raw_mode();
        }
        let _ = crossterm::execute!(out, LeaveAlternateScreen);
    }
    let _ = stop_tx.send(true);
    let _ = background.await;
    // A last upload on the way out, bounded: what is left goes next time.
    match tokio::time::timeout(Duration::from_secs(5), terminal.refresh()).await {
        Ok(Ok((up, _))) if up.uploaded > 0 => eprintln!("Uploaded {} scan(s) before exiting.", up.uploaded),
        Ok(Err(e)) => eprintln!("Scans stay in the local log for the next upload: {e}"),
        _ => {}
    }
    result
}

fn io(e: std::io::Error) -> GateError {
    GateError::Local(format!("the display failed: {e}"))
}

async fn scan_loop(
    terminal: &Terminal,
    rx: &mut mpsc::Receiver<Input>,
    out: &mut std::io::Stdout,
    full_screen: bool,
) -> Result<(), GateError> {
    let gate_name = terminal.enrolment().name.clone();
    let mut last: Option<(i64, Verdict, i64)> = None;
    let mut typed = String::new();
    let redraw = |out: &mut std::io::Stdout, last: &Option<(i64, Verdict, i64)>, typed: &str| {
        let health = terminal.health();
        let screen = Screen {
            gate_name: &gate_name,
            session: terminal.config().session,
            online: terminal.config().online,
            health: &health,
        };
        draw(out, &screen, last.as_ref().map(|(seq, v, at)| (*seq, v, *at)), typed).map_err(io)
    };
    if full_screen {
        redraw(out, &last, &typed)?;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        let input = tokio::select! {
            input = rx.recv() => input.unwrap_or(Input::Quit),
            _ = tick.tick() => {
                if full_screen {
                    redraw(out, &last, &typed)?;
                }
                continue;
            }
        };
        match input {
            Input::Quit => return Ok(()),
            Input::Typing(t) => typed = t,
            Input::Line(line) if line.trim().is_empty() => typed.clear(),
            Input::Line(_) | Input::Unreadable => {
                typed.clear();
                let at = now_ms();
                let (seq, verdict) = match &input {
                    Input::Line(line) => terminal.scan(line).await?,
                    _ => terminal.scan_unreadable().await?,
                };
                if full_screen {
                    last = Some((seq, verdict, at));
                } else {
                    writeln!(out, "{}", plain_line(seq, &verdict, at)).map_err(io)?;
                    out.flush().map_err(io)?;
                    if !verdict.is_admit() {
                        // The bell, on standard error so the lines stay clean for scripts.
                        eprint!("\x07");
                    }
                }
            }
        }
        if full_screen {
            redraw(out, &last, &typed)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Vec<KeyEvent> {
        // As crossterm reads bytes in raw mode: CR is Enter, LF is Ctrl-J.
        text.chars()
            .map(|c| match c {
                '\r' => KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE),
                '\n' => KeyEvent::new(KeyCode::Char('j'), KeyModifiers::CONTROL),
                c => KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
            })
            .collect()
    }

    fn lines(text: &str) -> Vec<String> {
        let mut typed = String::new();
        keys(text)
            .iter()
            .filter_map(|k| match on_key(&mut typed, k) {
                Some(Input::Line(line)) => Some(line),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn codes_ending_in_cr_lf_are_each_read_whole() {
        assert_eq!(lines("ADM1:first\r\nADM1:second\r\nADM1:third\r\n"), ["ADM1:first", "ADM1:second", "ADM1:third"]);
    }

    #[test]
    fn codes_ending_in_cr_or_lf_alone_are_read_too() {
        assert_eq!(lines("one\rtwo\r"), ["one", "two"]);
        assert_eq!(lines("one\ntwo\n"), ["one", "two"]);
    }

    #[test]
    fn control_keys_type_nothing_and_ctrl_c_quits() {
        let mut typed = String::new();
        assert_eq!(on_key(&mut typed, &KeyEvent::new(KeyCode::Char('a'), KeyModifiers::CONTROL)), None);
        assert_eq!(
            on_key(&mut typed, &KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE)),
            Some(Input::Typing("x".into()))
        );
        assert_eq!(
            on_key(&mut typed, &KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE)),
            Some(Input::Typing("".into()))
        );
        assert_eq!(on_key(&mut typed, &KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), Some(Input::Quit));
        assert_eq!(on_key(&mut typed, &KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)), Some(Input::Quit));
    }

    #[test]
    fn a_line_that_is_not_utf8_is_unreadable_and_line_ends_are_dropped() {
        assert_eq!(line_of(b"ADM1:abc\r\n".to_vec()), Input::Line("ADM1:abc".into()));
        assert_eq!(line_of(b"ADM1:abc\n".to_vec()), Input::Line("ADM1:abc".into()));
        assert_eq!(line_of(b"ADM1:abc".to_vec()), Input::Line("ADM1:abc".into()));
        assert_eq!(line_of(b"ADM1:\xff\xfe\n".to_vec()), Input::Unreadable);
    }
}
