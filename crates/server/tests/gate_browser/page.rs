//! Driving the gate page the way staff do: sign in, choose a gate and session, scan (type) a
//! code, and read what the verdict screen shows.

use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Evaluates `expression` in the page until it is truthy (15 s at most); returns its value.
pub async fn until(page: &Client, what: &str, expression: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    let script = format!("return ({expression});");
    loop {
        let value = page.execute(&script, vec![]).await.unwrap_or(Value::Null);
        let truthy = match &value {
            Value::Null | Value::Bool(false) => false,
            Value::String(s) => !s.is_empty(),
            Value::Number(n) => n.as_f64() != Some(0.0),
            _ => true,
        };
        if truthy {
            return value;
        }
        if Instant::now() > deadline {
            let screen = page.execute("return document.body.innerText", vec![]).await.unwrap_or_default();
            panic!("waited 15 s for {what} ({expression}); the page shows: {screen}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn text_of(page: &Client, css: &str) -> String {
    page.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).text().await.expect("text")
}

/// Opens the page and waits until its script has settled on a screen.
pub async fn open(page: &Client, url: &str) {
    page.goto(url).await.expect("open the gate page");
    until(page, "the page to start", "document.body.dataset.ready === 'true'").await;
}

pub async fn sign_in(page: &Client, token: &str) {
    let field = page.find(Locator::Css("#token")).await.expect("the token field");
    field.clear().await.expect("clear");
    field.send_keys(token).await.expect("type the token");
    page.find(Locator::Css("#signin-button")).await.expect("sign-in button").click().await.expect("click");
}

/// Picks the gate and session by id on the setup screen and starts scanning.
pub async fn choose(page: &Client, gate: i64, session: i64) {
    until(page, "the setup screen", "document.body.dataset.screen === 'setup'").await;
    let select = |css: &'static str, value: i64| async move {
        let element = page.find(Locator::Css(css)).await.expect(css);
        element.select_by_value(&value.to_string()).await.unwrap_or_else(|e| panic!("{css} = {value}: {e}"));
    };
    select("#gate", gate).await;
    select("#session", session).await;
    page.find(Locator::Css("#start")).await.expect("start button").click().await.expect("click");
    until(page, "the scan screen", "document.body.dataset.screen === 'scan'").await;
}

/// Types `code` into the code field and presses Enter, as a keyboard-wedge scanner does.
pub async fn type_code(page: &Client, code: &str) {
    let field = page.find(Locator::Css("#code")).await.expect("the code field");
    field.send_keys(&format!("{code}{}", char::from(Key::Enter))).await.expect("type the code");
}

/// What the verdict screen shows once it has shown its `seq`-th verdict.
pub async fn verdict(page: &Client, seq: u32) -> Value {
    until(
        page,
        &format!("verdict #{seq}"),
        &format!("Number(document.getElementById('verdict').dataset.seq) >= {seq}"),
    )
    .await;
    page.execute(
        "const box = document.getElementById('verdict');
         const t = (id) => document.getElementById(id).textContent;
         return { visible: !box.hidden, seq: Number(box.dataset.seq), state: box.dataset.state,
                  reason: box.dataset.reason, event: t('verdict-event'), admitted: t('verdict-admitted'),
                  beeps: Number(box.dataset.beeps || 0), word: t('verdict-word'),
                  message: t('verdict-message'), seat: t('verdict-seat'), count: t('verdict-count'),
                  grade: t('verdict-grade'), ticket: t('verdict-ticket'), entries: t('verdict-entries'),
                  retry: !document.getElementById('verdict-retry').hidden };",
        vec![],
    )
    .await
    .expect("read the verdict screen")
}

pub async fn local_storage(page: &Client, key: &str) -> Value {
    page.execute("return localStorage.getItem(arguments[0]);", vec![Value::from(key)]).await.expect("localStorage")
}
