//! Running a crowd of simulated clients on the load generator's runtime: `n` tasks at once,
//! timed from the first spawn to the last answer, with the CPU the whole process spent
//! meanwhile (server and load generator share it; PostgreSQL's own CPU is not in it).

use crate::stats::Samples;
use serde_json::{Value, json};
use std::future::Future;
use std::time::{Duration, Instant};

/// How long the crowd took, and the process CPU it cost.
pub struct Timing {
    pub elapsed: Duration,
    pub cpu: Option<Duration>,
}

impl Timing {
    /// `line` (a JSON object) with the fields every order-taking crowd reports: `orders`
    /// completed, with latencies `ok`; seconds, rate, CPU per order, latency percentiles.
    pub fn with_order_fields(&self, mut line: Value, orders: usize, ok: &mut Samples) -> Value {
        let fields = json!({
            "orders": orders,
            "seconds": (self.elapsed.as_secs_f64() * 100.0).round() / 100.0,
            "orders_per_sec": (orders as f64 / self.elapsed.as_secs_f64()).round(),
            "cpu_us_per_order": self.cpu.map(|c| (c.as_secs_f64() * 1e6 / orders.max(1) as f64).round()),
            "ok_p50_ms": ok.percentile_ms(50.0), "ok_p95_ms": ok.percentile_ms(95.0), "ok_p99_ms": ok.percentile_ms(99.0),
        });
        if let (Some(line), Value::Object(fields)) = (line.as_object_mut(), fields) {
            line.extend(fields);
        }
        line
    }
}

/// Runs `client(i)` for `i` in `0..n` concurrently and collects their results in order.
pub fn run<R, F, Fut>(rt: &tokio::runtime::Runtime, n: usize, mut client: F) -> anyhow::Result<(Timing, Vec<R>)>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
    R: Send + 'static,
{
    let cpu_before = crate::stats::process_cpu();
    let start = Instant::now();
    let results = rt.block_on(async {
        let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(client(i))).collect();
        let mut results = Vec::with_capacity(n);
        for t in tasks {
            results.push(t.await?);
        }
        anyhow::Ok(results)
    })?;
    let elapsed = start.elapsed();
    let cpu = crate::stats::process_cpu().zip(cpu_before).map(|(after, before)| after.saturating_sub(before));
    Ok((Timing { elapsed, cpu }, results))
}
