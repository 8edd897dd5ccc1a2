//! The gate benchmark: C gates scan every sold ticket once, plus 10% duplicates (some right
//! next to their originals, so the two race on different gates) and 5% forgeries, over real
//! HTTP with keep-alive. Every verdict is checked: each genuine ticket is admitted exactly
//! once, its duplicate is denied `already_used`, every forgery is denied with its own reason.

use crate::stats::{Samples, process_cpu};
use crate::{fixture, http};
use admit_credential::{Credential, Issuer};
use bytes::Bytes;
use rand::Rng;
use rand::seq::SliceRandom;
use serde::Deserialize;
use serde_json::json;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Tickets sold (and scanned) for the one session.
    #[arg(long, default_value_t = 10_000)]
    pub tickets: u32,
    /// Concurrent gates, each with its own keep-alive connection.
    #[arg(long, default_value_t = 16)]
    pub gates: usize,
    /// Worker threads for the server's runtime (the load generator gets its own).
    #[arg(long, default_value_t = 2)]
    pub server_threads: usize,
    /// The store behind the server.
    #[arg(long, value_enum, default_value_t = fixture::Backend::Sqlite)]
    pub backend: fixture::Backend,
}

/// What the server must answer for one scan.
#[derive(Clone, Copy)]
enum Expect {
    /// A genuine ticket (index into the sold list): admitted once overall, else `already_used`.
    Genuine(usize),
    /// A forgery: denied with exactly this reason.
    Denied(&'static str),
}

struct Scan {
    body: Bytes,
    expect: Expect,
}

#[derive(Deserialize)]
struct Verdict {
    verdict: String,
    reason: Option<String>,
}

/// One answered scan: which scan, and the verdict (None when the request failed).
type Answer = (usize, Option<Verdict>);

/// A forgery of the `n`-th kind made from a genuine credential, with the reason it must get.
fn forge(genuine: &str, n: usize, rng: &mut impl Rng) -> anyhow::Result<(String, &'static str)> {
    let parsed = Credential::from_text(genuine)?;
    let payload = parsed.payload_unverified()?;
    Ok(match n % 4 {
        0 => {
            let mut bytes = parsed.as_bytes().to_vec();
            let last = bytes.len() - 1;
            bytes[last] ^= 1 << rng.gen_range(0..8);
            (Credential::from_bytes(bytes)?.to_text(), "bad_signature")
        }
        1 => {
            let unknown_id = payload.key_id ^ (1 + rng.gen_range(0..1u32 << 20)) << 8;
            (Issuer::generate(unknown_id).issue(payload)?.to_text(), "unknown_key")
        }
        2 => (Issuer::generate(payload.key_id).issue(payload)?.to_text(), "bad_signature"),
        _ => {
            let garbage: String = (0..rng.gen_range(8..120)).map(|_| rng.gen_range(b'!'..=b'~') as char).collect();
            (garbage, "malformed")
        }
    })
}

/// Every credential once, 10% duplicates (half placed right after their original), 5% forgeries.
fn scan_list(server: &fixture::Server) -> anyhow::Result<Vec<Scan>> {
    let mut rng = rand::thread_rng();
    let creds = &server.credentials;
    let body = |credential: &str, gate: i64| {
        Bytes::from(json!({ "credential": credential, "gate_id": gate, "session_id": server.session_id }).to_string())
    };
    let gate = |rng: &mut rand::rngs::ThreadRng| server.gate_ids[rng.gen_range(0..server.gate_ids.len())];
    let mut scans: Vec<Scan> = Vec::with_capacity(creds.len() * 116 / 100);
    for (i, c) in creds.iter().enumerate() {
        scans.push(Scan { body: body(c, gate(&mut rng)), expect: Expect::Genuine(i) });
    }
    let mut dup_of: Vec<usize> = (0..creds.len()).collect();
    dup_of.shuffle(&mut rng);
    dup_of.truncate(creds.len() / 10);
    for (n, _) in creds.iter().take(creds.len() / 20).enumerate() {
        let (text, reason) = forge(&creds[rng.gen_range(0..creds.len())], n, &mut rng)?;
        scans.push(Scan { body: body(&text, gate(&mut rng)), expect: Expect::Denied(reason) });
    }
    let (adjacent, loose) = dup_of.split_at(dup_of.len() / 2);
    for &i in loose {
        scans.push(Scan { body: body(&creds[i], gate(&mut rng)), expect: Expect::Genuine(i) });
    }
    scans.shuffle(&mut rng);
    // The other half goes right after its original, so the two are in flight at once.
    let mut twins: HashSet<usize> = adjacent.iter().copied().collect();
    let mut out = Vec::with_capacity(scans.len() + adjacent.len());
    for s in scans {
        let twin = match s.expect {
            Expect::Genuine(i) => twins.remove(&i).then_some(i),
            Expect::Denied(_) => None,
        };
        out.push(s);
        if let Some(i) = twin {
            out.push(Scan { body: body(&creds[i], gate(&mut rng)), expect: Expect::Genuine(i) });
        }
    }
    Ok(out)
}

async fn gate(base: String, token: String, scans: Arc<Vec<Scan>>, next: Arc<AtomicUsize>) -> (Vec<Answer>, Samples) {
    let (mut answers, mut samples) = (Vec::new(), Samples::default());
    let mut conn = http::Conn::new(&base, Some(&token)).ok();
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(scan) = scans.get(i) else { return (answers, samples) };
        let t0 = Instant::now();
        let sent = match &mut conn {
            Some(c) => c.post_json("/gate/scans", scan.body.clone()).await.ok(),
            None => None,
        };
        let verdict = match sent {
            Some(a) if a.status.is_success() => serde_json::from_slice::<Verdict>(&a.body).ok(),
            _ => None,
        };
        samples.push(t0.elapsed());
        answers.push((i, verdict));
    }
}

/// Tallies: admitted, denials by reason, wrong verdicts (each with a short description).
struct Tally {
    admitted: usize,
    denied: BTreeMap<String, usize>,
    wrong: Vec<String>,
}

fn check(scans: &[Scan], answers: &[Answer], tickets: usize) -> Tally {
    let mut t = Tally { admitted: 0, denied: BTreeMap::new(), wrong: Vec::new() };
    let mut admits = vec![0u32; tickets];
    for (i, answer) in answers {
        let Some(v) = answer else {
            t.wrong.push(format!("scan {i}: no verdict (transport or HTTP error)"));
            continue;
        };
        let reason = v.reason.as_deref().unwrap_or("");
        match (v.verdict.as_str(), scans[*i].expect) {
            ("admit", Expect::Genuine(k)) => {
                t.admitted += 1;
                admits[k] += 1;
            }
            ("deny", Expect::Genuine(_)) if reason == "already_used" => {}
            ("deny", Expect::Denied(want)) if reason == want => {}
            (verdict, Expect::Genuine(k)) => t.wrong.push(format!("ticket {k}: {verdict} {reason}")),
            (verdict, Expect::Denied(want)) => t.wrong.push(format!("forgery ({want}): {verdict} {reason}")),
        }
        if v.verdict == "deny" {
            *t.denied.entry(reason.to_owned()).or_default() += 1;
        }
    }
    for (k, n) in admits.iter().enumerate().filter(|(_, n)| **n != 1) {
        t.wrong.push(format!("ticket {k} admitted {n} times"));
    }
    t
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let server = fixture::start_sold(args.tickets, args.gates, args.server_threads, args.backend)?;
    let scans = Arc::new(scan_list(&server)?);
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("load-gen").enable_all().build()?;
    let cpu_before = process_cpu();
    let (elapsed, answers, mut latency) = rt.block_on(async {
        let next = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let tasks: Vec<_> = (0..args.gates)
            .map(|_| {
                let token = server.staff_token.clone();
                tokio::spawn(gate(server.base.clone(), token, scans.clone(), next.clone()))
            })
            .collect();
        let (mut answers, mut latency) = (Vec::new(), Samples::default());
        for t in tasks {
            let (a, s) = t.await?;
            answers.extend(a);
            latency.extend(s);
        }
        anyhow::Ok((start.elapsed(), answers, latency))
    })?;
    let cpu = process_cpu().zip(cpu_before).map(|(after, before)| after.saturating_sub(before));
    let cpu_us_per_scan = cpu.map(|c| (c.as_secs_f64() * 1e6 / answers.len().max(1) as f64).round());
    let mut tally = check(&scans, &answers, server.credentials.len());
    let used_once = rt.block_on(entries_all_one(&server))?;
    if !used_once {
        tally.wrong.push("the manifest does not show exactly one entry per ticket".into());
    }
    println!(
        "{}",
        json!({
            "bench": "gate",
            "backend": args.backend.name(),
            "peak_rss_mib": fixture::peak_rss_mib(),
            "tickets": server.credentials.len(),
            "gates": args.gates,
            "scans": answers.len(),
            "seconds": (elapsed.as_secs_f64() * 100.0).round() / 100.0,
            "scans_per_sec": (answers.len() as f64 / elapsed.as_secs_f64()).round(),
            "p50_ms": ms(latency.percentile_ms(50.0)), "p95_ms": ms(latency.percentile_ms(95.0)),
            "p99_ms": ms(latency.percentile_ms(99.0)),
            "cpu_us_per_scan": cpu_us_per_scan,
            "admitted": tally.admitted,
            "denied": tally.denied,
            "wrong_verdicts": tally.wrong.len(),
        })
    );
    for w in tally.wrong.iter().take(20) {
        eprintln!("wrong verdict: {w}");
    }
    anyhow::ensure!(tally.wrong.is_empty(), "{} wrong verdicts", tally.wrong.len());
    Ok(())
}

fn ms(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// After the run, the manifest must show every ticket used exactly once.
async fn entries_all_one(server: &fixture::Server) -> anyhow::Result<bool> {
    let rows = server.manifest().await?;
    Ok(rows.len() == server.credentials.len() && rows.iter().all(|r| r["entries_used"] == 1))
}
