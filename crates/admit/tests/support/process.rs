//! Process control of the real `admit` binary: a child-process guard that kills the server on
//! drop, port discovery from the binary's own output, a hard kill that is exactly a crash, and
//! the `admit token` admin command.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
const LOG_LINES_KEPT: usize = 300;

/// How a node starts: `admit demo` seeds the demo events (once) and serves; `admit serve`
/// serves what is already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Demo,
    Serve,
}

impl Mode {
    fn subcommand(self) -> &'static str {
        match self {
            Mode::Demo => "demo",
            Mode::Serve => "serve",
        }
    }
}

/// A running `admit` child process. Dropping it kills the process, so no test leaves a server
/// behind, even when it panics.
pub struct Server {
    child: Child,
    /// Which node this is, for messages (`a`, `b`, …).
    pub name: String,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    log: Arc<Mutex<VecDeque<String>>>,
}

impl Server {
    /// `admit demo|serve --port 0 --data-dir DIR [--database URL]` with `env` added, once it
    /// printed the address it listens on.
    pub fn start(name: &str, mode: Mode, data_dir: &Path, database: Option<&str>, env: &[(&str, &str)]) -> Server {
        let mode = mode.subcommand();
        std::fs::create_dir_all(data_dir).unwrap_or_else(|e| panic!("create {}: {e}", data_dir.display()));
        let mut command = Command::new(env!("CARGO_BIN_EXE_admit"));
        command.arg(mode).arg("--port").arg("0").arg("--data-dir").arg(data_dir);
        if let Some(url) = database {
            command.arg("--database").arg(url);
        }
        command
            .current_dir(data_dir)
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info,sqlx=warn,tower_http=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // The tests count every order and seat: the demo sells no phone ticket unless asked.
            .env("ADMIT_DEMO_PHONE_TICKET", "false");
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot start `admit {mode}` (node {name}): {e}"));
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let (lines_tx, lines_rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        // The guard exists from here on, so a panic below still kills the child.
        let mut server = Server { child, name: name.to_owned(), base: String::new(), log: log.clone() };
        drain(stdout, log.clone(), lines_tx.clone());
        drain(stderr, log, lines_tx);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            match lines_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    if let Some(port) = listening_port(&line) {
                        server.base = format!("http://127.0.0.1:{port}");
                        return server;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "timed out after {STARTUP_TIMEOUT:?} waiting for `admit {mode}` (node {name}) to print the \
                     address it listens on; its output so far:\n{}",
                    server.log_tail()
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "`admit {mode}` (node {name}) closed its output before printing its address (exit: {:?}); its \
                     output:\n{}",
                    server.child.try_wait(),
                    server.log_tail()
                ),
            }
        }
    }

    /// Kills the server the hard way and waits for it to be gone. `Child::kill` sends SIGKILL on
    /// Unix: no destructor, no graceful shutdown, no WAL checkpoint — exactly a crash.
    pub fn sigkill(&mut self) -> ExitStatus {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "node {} had already exited ({status}) before it was killed; output:\n{}",
                self.name,
                self.log_tail()
            );
        }
        self.child.kill().expect("SIGKILL the server");
        let status = self.child.wait().expect("reap the killed server");
        assert!(!status.success(), "a SIGKILLed server cannot exit successfully: {status}");
        status
    }

    /// Waits (up to 10 s) until the server has printed a line containing `needle`, e.g. a part of
    /// the demo's welcome printed after the listening address; the whole output so far.
    pub fn wait_for_output(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log_tail();
            if log.contains(needle) {
                return log;
            }
            assert!(Instant::now() < deadline, "node {} never printed {needle:?}; its output:\n{log}", self.name);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The last lines the server printed (stdout and stderr), for failure messages.
    pub fn log_tail(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGKILL on Unix; harmless if the process is already gone.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `admit token --organiser ID --role ROLE [--data-dir DIR] [--database URL]`: a staff token,
/// made the way an operator makes one.
pub fn admit_token(data_dir: &Path, database: Option<&str>, organiser: i64, role: &str) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_admit"));
    command.arg("token").arg("--data-dir").arg(data_dir).arg("--organiser").arg(organiser.to_string());
    command.arg("--role").arg(role).arg("--label").arg("test").env("NO_COLOR", "1").env("RUST_LOG", "warn");
    if let Some(url) = database {
        command.arg("--database").arg(url);
    }
    let out = command.output().expect("run `admit token`");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "`admit token` failed ({}): {stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.trim().to_owned()
}

/// Reads a pipe of the child until it closes, so the child never blocks on a full pipe; keeps
/// the last lines for diagnostics and forwards every line to whoever still listens.
fn drain(pipe: impl Read + Send + 'static, log: Arc<Mutex<VecDeque<String>>>, lines: mpsc::Sender<String>) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf).trim_end().to_owned();
                    {
                        let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
                        if log.len() == LOG_LINES_KEPT {
                            log.pop_front();
                        }
                        log.push_back(line.clone());
                    }
                    let _ = lines.send(line);
                }
            }
        }
    });
}

/// The port in the demo's `Events  http://127.0.0.1:PORT/events` line, or in the
/// `admit is serving address=127.0.0.1:PORT` log line that `admit serve` prints.
fn listening_port(line: &str) -> Option<u16> {
    let plain = strip_ansi(line);
    if !(plain.contains("/events") || plain.contains("admit is serving")) {
        return None;
    }
    let rest = &plain[plain.find("127.0.0.1:")? + "127.0.0.1:".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|p| *p != 0)
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
