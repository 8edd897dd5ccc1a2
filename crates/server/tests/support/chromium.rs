//! Real headless Chromium for browser tests, driven through chromedriver (WebDriver) with
//! `fantoccini`. Debian's `chromium` and `chromium-driver` packages, installed by
//! `scripts/setup`. Without them a browser test fails loudly with that hint, unless
//! `ADMIT_SKIP_BROWSER=1` says to skip it (then it prints a SKIPPED line and passes).
//!
//! `Chromium::start()` runs one chromedriver on a free port (killed on drop); each
//! `new_session()` is a fresh browser with a profile directory of its own, so sessions share
//! no storage, keys or cookies.

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const SETUP_HINT: &str = "run scripts/setup (installs Debian's chromium and chromium-driver), \
                          or set ADMIT_SKIP_BROWSER=1 to skip browser tests";

pub struct Chromium {
    driver: Child,
    url: String,
    browser: PathBuf,
    profiles: tempfile::TempDir,
    sessions: AtomicUsize,
}

/// The file the environment variable `env` names, else the first of `candidates`, if it exists.
fn find(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    match std::env::var_os(env) {
        Some(path) => Some(PathBuf::from(path)).filter(|p| p.exists()),
        None => candidates.iter().map(PathBuf::from).find(|p| p.exists()),
    }
}

impl Chromium {
    /// Starts chromedriver. `None` (after a SKIPPED line) only when `ADMIT_SKIP_BROWSER=1`;
    /// panics with the setup hint when Chromium or chromedriver is missing.
    pub async fn start(test: &str) -> Option<Chromium> {
        if std::env::var("ADMIT_SKIP_BROWSER").is_ok_and(|v| v == "1") {
            eprintln!("SKIPPED {test}: ADMIT_SKIP_BROWSER=1");
            return None;
        }
        let browser = find("ADMIT_CHROMIUM", &["/usr/bin/chromium", "/usr/bin/chromium-browser"])
            .unwrap_or_else(|| panic!("{test}: Chromium is not installed: {SETUP_HINT}"));
        let driver_path = find("ADMIT_CHROMEDRIVER", &["/usr/bin/chromedriver"])
            .unwrap_or_else(|| panic!("{test}: chromedriver is not installed: {SETUP_HINT}"));
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            // Its own process group, browsers included: a test that panics before closing its
            // session leaves no browser behind when the group is killed on drop.
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{test}: cannot start {}: {e}; {SETUP_HINT}", driver_path.display()));
        let chromium = Chromium {
            driver,
            url: format!("http://127.0.0.1:{port}"),
            browser,
            profiles: tempfile::tempdir().expect("profile dir"),
            sessions: AtomicUsize::new(0),
        };
        chromium.wait_ready().await;
        Some(chromium)
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().expect("http client");
        loop {
            if let Ok(resp) = http.get(format!("{}/status", self.url)).send().await
                && let Ok(status) = resp.json::<Value>().await
                && status["value"]["ready"] == true
            {
                return;
            }
            assert!(Instant::now() < deadline, "chromedriver did not become ready within 20 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A fresh headless browser, phone-sized (portrait), with its own profile.
    pub async fn new_session(&self) -> Client {
        self.new_session_with(&[]).await
    }

    /// Like [`Chromium::new_session`], with extra command-line switches (e.g. a fake camera).
    pub async fn new_session_with(&self, extra_args: &[String]) -> Client {
        let n = self.sessions.fetch_add(1, Ordering::Relaxed);
        let profile = self.profiles.path().join(format!("profile-{n}"));
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-gpu".to_owned(),
            "--no-first-run".to_owned(),
            "--window-size=412,915".to_owned(),
            "--autoplay-policy=no-user-gesture-required".to_owned(),
            "--disable-crash-reporter".to_owned(),
            "--disable-breakpad".to_owned(),
            format!("--user-data-dir={}", profile.display()),
        ];
        args.extend(extra_args.iter().cloned());
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": self.browser, "args": args },
        });
        let serde_json::Value::Object(capabilities) = capabilities else { unreachable!() };
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        tokio::time::timeout(Duration::from_secs(60), builder.connect(&self.url))
            .await
            .expect("a Chromium session within 60 s")
            .expect("chromedriver starts a Chromium session")
    }
}

impl Drop for Chromium {
    /// Kills chromedriver's process group (chromedriver and the browsers it started).
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
