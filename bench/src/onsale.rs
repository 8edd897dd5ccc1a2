//! The on-sale benchmark: N buyers race for M seats; each holds one, pays with an approving
//! test card, and repeats until "sold out". Verifies exactly M sold and no seat twice.
//! With `--rates`, the open loop instead (`openloop.rs`).

use crate::stats::Samples;
use crate::{crowd, fixture, http};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashSet;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 1_000)]
    pub buyers: usize,
    #[arg(long, default_value_t = 10_000)]
    pub seats: u32,
    /// Sell general-admission units instead of reserved seats.
    #[arg(long)]
    pub ga: bool,
    /// Worker threads for the server's runtime (the load generator gets its own).
    #[arg(long, default_value_t = 2)]
    pub server_threads: usize,
    /// The store behind the server.
    #[arg(long, value_enum, default_value_t = fixture::Backend::Sqlite)]
    pub backend: fixture::Backend,
    /// Open loop: buyers arrive at each of these rates per second (comma-separated), whatever
    /// the server does, each rate on a fresh server; `--buyers` is then the number of
    /// connections they arrive on. Without it, the closed loop of `--buyers` buyers.
    #[arg(long, value_delimiter = ',')]
    pub rates: Vec<u32>,
    /// Open loop: seconds of arrivals at each rate.
    #[arg(long, default_value_t = 5)]
    pub seconds: u32,
    /// Open loop: the p99 (ms) a rate must stay within to count as served.
    #[arg(long, default_value_t = 100.0)]
    pub p99_target_ms: f64,
}

#[derive(Default)]
struct BuyerResult {
    orders: usize,
    errors: usize,
    ok: Samples,
    sold_out: Samples,
}

/// The id in a hold's 201 answer.
#[derive(Deserialize)]
struct HoldId {
    id: String,
}

async fn buyer(base: String, session: i64, grade: i64) -> BuyerResult {
    let mut r = BuyerResult::default();
    let Ok(mut conn) = http::Conn::new(&base, None) else {
        r.errors += 1;
        return r;
    };
    let hold = Bytes::from(json!({"session_id": session, "grade_id": grade, "quantity": 1}).to_string());
    let card = Bytes::from(
        json!({"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}).to_string(),
    );
    loop {
        let t0 = Instant::now();
        let Ok(held) = conn.post_json("/holds", hold.clone()).await else {
            r.errors += 1;
            continue;
        };
        match held.status.as_u16() {
            201 => {}
            409 => {
                r.sold_out.push(t0.elapsed());
                return r;
            }
            _ => {
                r.errors += 1;
                continue;
            }
        }
        let Ok(HoldId { id }) = serde_json::from_slice(&held.body) else {
            r.errors += 1;
            continue;
        };
        match conn.post_json(&format!("/holds/{id}/payments"), card.clone()).await {
            Ok(paid) if paid.status.as_u16() == 201 => {
                r.orders += 1;
                r.ok.push(t0.elapsed());
            }
            _ => r.errors += 1,
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if !args.rates.is_empty() {
        return crate::openloop::run(&args);
    }
    let server = fixture::start(args.seats, !args.ga, args.server_threads, args.backend)?;
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("load-gen").enable_all().build()?;
    let (timing, results) =
        crowd::run(&rt, args.buyers, |_| buyer(server.base.clone(), server.session_id, server.grade_id))?;
    let (mut ok, mut sold_out) = (Samples::default(), Samples::default());
    let (mut orders, mut errors) = (0, 0);
    for r in results {
        orders += r.orders;
        errors += r.errors;
        ok.extend(r.ok);
        sold_out.extend(r.sold_out);
    }
    // Peak memory of the sale itself (server + load generator), before the check below loads
    // every ticket of the manifest into this process.
    let sale_peak_rss = fixture::peak_rss_mib();
    let (sold, distinct) = rt.block_on(verify(&server))?;
    let exactly = sold == args.seats as usize && distinct == sold && orders == sold;
    println!(
        "{}",
        timing.with_order_fields(
            json!({
                "bench": "onsale",
                "backend": args.backend.name(),
                "peak_rss_mib": fixture::peak_rss_mib(),
                "sale_peak_rss_mib": sale_peak_rss,
                "mode": if args.ga { "general_admission" } else { "reserved_best_available" },
                "buyers": args.buyers,
                "seats": args.seats,
                "errors": errors,
                "sold_out_p50_ms": sold_out.percentile_ms(50.0), "sold_out_p99_ms": sold_out.percentile_ms(99.0),
                "sold_out_answers": sold_out.len(),
                "exactly_m_sold_no_seat_twice": exactly,
            }),
            orders,
            &mut ok
        )
    );
    anyhow::ensure!(exactly, "sold {sold} (distinct {distinct}) with {orders} orders for {} seats", args.seats);
    Ok(())
}

/// Sold count from the manifest, and how many distinct seats (or tickets, for GA) it holds.
async fn verify(server: &fixture::Server) -> anyhow::Result<(usize, usize)> {
    let rows: Vec<serde_json::Value> = reqwest::Client::new()
        .get(format!("{}/sessions/{}/manifest", server.base, server.session_id))
        .bearer_auth(&server.staff_token)
        .send()
        .await?
        .json()
        .await?;
    let distinct: HashSet<String> = rows
        .iter()
        .map(|r| r["seat"].as_str().map(str::to_owned).unwrap_or_else(|| r["reference"].to_string()))
        .collect();
    Ok((rows.len(), distinct.len()))
}
