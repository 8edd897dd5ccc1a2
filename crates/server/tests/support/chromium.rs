//! Real headless Chromium for browser tests: starts Debian's `chromedriver` on a free port and
//! opens WebDriver sessions with `fantoccini`, each in a fresh profile directory (its own
//! cookies, localStorage, IndexedDB and service workers: another phone). chromedriver is
//! stopped when the `Chromium` is dropped.
//!
//! Missing `chromium`/`chromedriver` fails the test with the set-up hint, unless
//! `ADMIT_SKIP_BROWSER=1` skips browser tests explicitly (they then print a SKIPPED line).

use serde_json::{Value, json};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const BROWSERS: &[&str] = &["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
const DRIVERS: &[&str] = &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"];

pub struct Chromium {
    driver: Child,
    url: String,
    browser: PathBuf,
    profiles: Vec<TempDir>,
}

fn first_existing(candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// True (after printing a SKIPPED line) when browser tests are switched off explicitly.
pub fn skipped(test: &str) -> bool {
    if std::env::var("ADMIT_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("SKIPPED {test}: ADMIT_SKIP_BROWSER=1 (browser tests switched off)");
        return true;
    }
    false
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

impl Chromium {
    /// Starts chromedriver and waits until it is ready (at most 30 s).
    pub async fn start() -> Chromium {
        let hint = "install them with `scripts/setup` (Debian packages chromium and chromium-driver), \
                    or set ADMIT_SKIP_BROWSER=1 to skip browser tests";
        let browser = first_existing(BROWSERS).unwrap_or_else(|| panic!("Chromium is not installed: {hint}"));
        let driver_bin = first_existing(DRIVERS).unwrap_or_else(|| panic!("chromedriver is not installed: {hint}"));
        let port = free_port();
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver_bin.display()));
        let chromium = Chromium { driver, url: format!("http://127.0.0.1:{port}"), browser, profiles: Vec::new() };
        chromium.wait_ready(Duration::from_secs(30)).await;
        chromium
    }

    async fn wait_ready(&self, limit: Duration) {
        let started = Instant::now();
        let status = format!("{}/status", self.url);
        let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().expect("http client");
        loop {
            let ready = match http.get(&status).send().await {
                Ok(response) => response.json::<Value>().await.is_ok_and(|v| v["value"]["ready"] == true),
                Err(_) => false,
            };
            if ready {
                return;
            }
            assert!(started.elapsed() < limit, "chromedriver did not become ready at {status} within {limit:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A new headless browser with a fresh profile directory: another phone.
    pub async fn new_session(&mut self) -> fantoccini::Client {
        let profile = tempfile::tempdir().expect("profile dir");
        let capabilities = capabilities(&self.browser, profile.path());
        self.profiles.push(profile);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let mut builder = fantoccini::ClientBuilder::new(connector);
        builder.capabilities(capabilities);
        let connect = builder.connect(&self.url);
        tokio::time::timeout(Duration::from_secs(60), connect)
            .await
            .expect("a Chromium session within 60 s")
            .unwrap_or_else(|e| panic!("cannot open a Chromium session: {e}"))
    }
}

fn capabilities(browser: &Path, profile: &Path) -> serde_json::Map<String, Value> {
    let options = json!({
        "binary": browser,
        "args": [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--window-size=412,915",
            format!("--user-data-dir={}", profile.display()),
        ],
    });
    let caps = json!({ "browserName": "chrome", "goog:chromeOptions": options });
    caps.as_object().expect("an object").clone()
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // SIGTERM first, so chromedriver closes the browsers it started; then make sure.
        let _ = Command::new("kill").arg(self.driver.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.driver.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
