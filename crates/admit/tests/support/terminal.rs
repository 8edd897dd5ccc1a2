//! The real `admit gate …` binary as a test drives it: enrol and sync as commands, and a
//! running `admit gate run --plain` fed one code per line on standard input, whose verdict
//! lines are read back, and which can be killed with SIGKILL like a terminal losing power.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

/// `admit gate ARGS…`, insisting it succeeds; its standard output.
pub fn admit_gate(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_admit"))
        .arg("gate")
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run `admit gate`");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "`admit gate {}` failed ({}): {stdout}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// `admit gate ARGS…`, insisting it fails; its standard output then its standard error (as a
/// person sees them: no backtrace asked for by the test run's environment).
pub fn admit_gate_fails(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_admit"))
        .arg("gate")
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .stdin(Stdio::null())
        .output()
        .expect("run `admit gate`");
    let output = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "`admit gate {}` should have failed: {output}", args.join(" "));
    output
}

/// A running `admit gate run --plain`; dropping it kills the process.
pub struct GateRun {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl GateRun {
    /// `admit gate run --plain --data DIR EXTRA…`
    pub fn start(data: &Path, extra: &[&str]) -> GateRun {
        let mut child = Command::new(env!("CARGO_BIN_EXE_admit"))
            .args(["gate", "run", "--plain", "--data"])
            .arg(data)
            .args(extra)
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start `admit gate run`");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        GateRun { child, stdin, lines }
    }

    /// Types `code` and Enter, as a keyboard-wedge scanner does; returns the verdict line.
    pub fn scan(&mut self, code: &str) -> String {
        writeln!(self.stdin, "{code}").expect("write to the terminal");
        self.stdin.flush().expect("flush");
        self.lines.recv_timeout(Duration::from_secs(20)).expect("a verdict line within 20 s")
    }

    /// Sends `bytes` and a line end as one scanned line (not necessarily UTF-8); returns the
    /// verdict line.
    pub fn scan_bytes(&mut self, bytes: &[u8]) -> String {
        self.stdin.write_all(bytes).expect("write to the terminal");
        self.stdin.write_all(b"\n").expect("write to the terminal");
        self.stdin.flush().expect("flush");
        self.lines.recv_timeout(Duration::from_secs(20)).expect("a verdict line within 20 s")
    }

    /// SIGKILL: no destructor, no flush, no goodbye — exactly a crash or a pulled plug.
    pub fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL the terminal");
        let status = self.child.wait().expect("reap the terminal");
        assert!(!status.success(), "a killed terminal cannot exit successfully: {status}");
    }
}

impl Drop for GateRun {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
