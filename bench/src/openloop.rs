//! The on-sale as an open loop, as wrk2 measures: buyers arrive at a fixed rate whatever the
//! server does, so a slow answer does not slow the arrivals down (a closed loop of N buyers
//! waits for each answer and so measures its own queue). Each rate runs on a fresh server with
//! exactly one seat (or unit) per arrival; arrival `i` is due at `start + i / rate` on
//! connection `i mod connections`, and its latency runs from when it was due, not from when it
//! was sent: a buyer kept waiting by a busy connection counts that wait (no coordinated
//! omission). The report gives, per rate, p50/p99 of the buyers served, and the highest rate
//! whose p99 stayed within the target.

use crate::onsale::Args;
use crate::stats::Samples;
use crate::{crowd, fixture, http};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;
use tokio::time::Instant;

/// What one connection's buyers got.
#[derive(Default)]
struct Lane {
    orders: usize,
    errors: usize,
    sold_out: usize,
    served: Samples,
}

/// The id in a hold's 201 answer.
#[derive(Deserialize)]
struct HoldId {
    id: String,
}

/// The buyers due on one connection, at offsets `due` from `start`: each holds one seat (or
/// unit) and pays for it.
async fn lane(base: String, session: i64, grade: i64, start: Instant, due: Vec<Duration>) -> Lane {
    let mut lane = Lane::default();
    let Ok(mut conn) = http::Conn::new(&base, None) else {
        lane.errors += due.len();
        return lane;
    };
    let hold = Bytes::from(json!({"session_id": session, "grade_id": grade, "quantity": 1}).to_string());
    let card = Bytes::from(
        json!({"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}).to_string(),
    );
    for at in due {
        let due_at = start + at;
        tokio::time::sleep_until(due_at).await;
        let held = match conn.post_json("/holds", hold.clone()).await {
            Ok(held) if held.status.as_u16() == 201 => held,
            Ok(held) if held.status.as_u16() == 409 => {
                lane.sold_out += 1;
                continue;
            }
            _ => {
                lane.errors += 1;
                continue;
            }
        };
        let Ok(HoldId { id }) = serde_json::from_slice(&held.body) else {
            lane.errors += 1;
            continue;
        };
        match conn.post_json(&format!("/holds/{id}/payments"), card.clone()).await {
            Ok(paid) if paid.status.as_u16() == 201 => {
                lane.orders += 1;
                lane.served.push(due_at.elapsed());
            }
            _ => lane.errors += 1,
        }
    }
    lane
}

/// The arrival times of `arrivals` buyers at `rate` per second, dealt to `connections` lanes.
fn schedule(arrivals: usize, rate: u32, connections: usize) -> Vec<Vec<Duration>> {
    let mut lanes = vec![Vec::new(); connections.min(arrivals).max(1)];
    let n = lanes.len();
    for i in 0..arrivals {
        lanes[i % n].push(Duration::from_secs_f64(i as f64 / f64::from(rate)));
    }
    lanes
}

/// One rate on a fresh server: its report line, and whether exactly the orders were sold.
fn one_rate(args: &Args, rate: u32) -> anyhow::Result<(Value, f64)> {
    let arrivals = (u64::from(rate) * u64::from(args.seconds)) as usize;
    let seats = u32::try_from(arrivals)?;
    let server = fixture::start(seats, !args.ga, args.server_threads, args.backend)?;
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("load-gen").enable_all().build()?;
    let lanes = schedule(arrivals, rate, args.buyers);
    // The first arrival is due just after every lane has been spawned.
    let start = Instant::now() + Duration::from_millis(50);
    let mut lanes = lanes.into_iter();
    let (timing, results) = crowd::run(&rt, lanes.len(), |_| {
        let due = lanes.next().unwrap_or_default();
        lane(server.base.clone(), server.session_id, server.grade_id, start, due)
    })?;
    let (mut served, mut orders, mut errors, mut sold_out) = (Samples::default(), 0, 0, 0);
    for r in results {
        orders += r.orders;
        errors += r.errors;
        sold_out += r.sold_out;
        served.extend(r.served);
    }
    let (sold, distinct) = rt.block_on(sold_and_distinct(&server))?;
    let exactly = sold == orders && distinct == sold;
    let p99 = served.percentile_ms(99.0);
    let line = json!({
        "rate": rate,
        "arrivals": arrivals,
        "orders": orders,
        "errors": errors,
        "sold_out": sold_out,
        "served_per_sec": (orders as f64 / timing.elapsed.as_secs_f64()).round(),
        "seconds": (timing.elapsed.as_secs_f64() * 100.0).round() / 100.0,
        "cpu_us_per_order": timing.cpu.map(|c| (c.as_secs_f64() * 1e6 / orders.max(1) as f64).round()),
        "served_p50_ms": served.percentile_ms(50.0),
        "served_p99_ms": p99,
        "sold_equals_orders_no_seat_twice": exactly,
    });
    anyhow::ensure!(exactly, "rate {rate}: sold {sold} (distinct {distinct}) with {orders} orders");
    Ok((line, p99))
}

/// Runs every rate in `args.rates`, lowest first, and prints one JSON line.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let mut rates = args.rates.clone();
    rates.sort_unstable();
    rates.dedup();
    anyhow::ensure!(rates.iter().all(|r| *r > 0), "--rates must be positive buyers per second");
    let mut lines = Vec::new();
    let mut highest_within_target = None;
    for rate in rates {
        let (line, p99) = one_rate(args, rate)?;
        // A rate whose every buyer was served within the target.
        if p99 <= args.p99_target_ms && line["errors"] == 0 && line["orders"] == line["arrivals"] {
            highest_within_target = Some(rate);
        }
        lines.push(line);
    }
    println!(
        "{}",
        json!({
            "bench": "onsale_open_loop",
            "backend": args.backend.name(),
            "mode": if args.ga { "general_admission" } else { "reserved_best_available" },
            "connections": args.buyers,
            "seconds_per_rate": args.seconds,
            "p99_target_ms": args.p99_target_ms,
            "highest_rate_within_target": highest_within_target,
            "rates": lines,
        })
    );
    Ok(())
}

/// Sold count from the manifest, and how many distinct seats (or tickets, for GA) it holds.
async fn sold_and_distinct(server: &fixture::Server) -> anyhow::Result<(usize, usize)> {
    let rows = server.manifest().await?;
    let distinct: HashSet<String> = rows
        .iter()
        .map(|r| r["seat"].as_str().map(str::to_owned).unwrap_or_else(|| r["reference"].to_string()))
        .collect();
    Ok((rows.len(), distinct.len()))
}

#[cfg(test)]
mod tests {
    use super::schedule;
    use std::time::Duration;

    #[test]
    fn arrivals_are_evenly_spaced_and_dealt_round_robin() {
        let lanes = schedule(10, 4, 3);
        assert_eq!(lanes.len(), 3);
        assert_eq!(lanes[0], [0.0, 0.75, 1.5, 2.25].map(Duration::from_secs_f64));
        assert_eq!(lanes[1], [0.25, 1.0, 1.75].map(Duration::from_secs_f64));
        assert_eq!(lanes.iter().map(Vec::len).sum::<usize>(), 10);
    }

    #[test]
    fn fewer_arrivals_than_connections_use_one_lane_each() {
        let lanes = schedule(2, 100, 1_000);
        assert_eq!(lanes.len(), 2);
    }
}
