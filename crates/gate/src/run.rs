//! `admit gate run`: reads one code per line the way keyboard-wedge scanners deliver them,
//! decides and logs each, and answers on the full-screen display, or with one plain line per
//! scan (`--plain`, or whenever standard output is not a terminal). Uploads and syncs run in
//! the background meanwhile.

use crate::display::{Screen, draw, plain_line};
use crate::model::Verdict;
use crate::terminal::Terminal;
use crate::{GateError, now_ms};
use crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode};
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

/// What the input side delivers.
enum Input {
    /// A partly typed line, for the prompt.
    Typing(String),
    Line(String),
    Quit,
}

/// Lines from standard input (a scanner on a pipe, a script).
fn read_lines(tx: mpsc::Sender<Input>) {
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if tx.send(Input::Line(line)).await.is_err() {
                return;
            }
        }
        let _ = tx.send(Input::Quit).await;
    });
}

/// Keys from the terminal in raw mode (a keyboard-wedge scanner types, then presses Enter);
/// Esc or Ctrl-C quits.
fn read_keys(tx: mpsc::Sender<Input>) {
    std::thread::spawn(move || {
        let mut typed = String::new();
        loop {
            let Ok(Event::Key(key)) = crossterm::event::read() else { continue };
            if key.kind == KeyEventKind::Release {
                continue;
            }
            let input = match key.code {
                KeyCode::Esc => Input::Quit,
                KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => Input::Quit,
                KeyCode::Enter => Input::Line(std::mem::take(&mut typed)),
                KeyCode::Backspace => {
                    typed.pop();
                    Input::Typing(typed.clone())
                }
                KeyCode::Char(c) => {
                    typed.push(c);
                    Input::Typing(typed.clone())
                }
                _ => continue,
            };
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
            Input::Line(line) => {
                typed.clear();
                let at = now_ms();
                let (seq, verdict) = terminal.scan(&line).await?;
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
