//! The HTTP floor under the on-sale: the same N buyers on keep-alive connections to the same
//! server, each "order" two requests (as a hold and a payment are) to `GET /health`, which
//! touches no store and signs nothing. Its orders per second bound what any store or handler
//! work could reach on this machine with the load generator on the same cores.

use crate::stats::Samples;
use crate::{crowd, fixture, http};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 1_000)]
    pub buyers: usize,
    /// Orders (pairs of requests) in all, shared among the buyers.
    #[arg(long, default_value_t = 10_000)]
    pub orders: usize,
    /// Worker threads for the server's runtime (the load generator gets its own).
    #[arg(long, default_value_t = 2)]
    pub server_threads: usize,
}

async fn buyer(base: String, left: Arc<AtomicUsize>) -> (Samples, usize) {
    let (mut ok, mut errors) = (Samples::default(), 0);
    let Ok(mut conn) = http::Conn::new(&base, None) else { return (ok, 1) };
    // Takes one order at a time from the shared count until none is left.
    while left.fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1)).is_ok() {
        let t0 = Instant::now();
        let mut pair_ok = true;
        for _ in 0..2 {
            pair_ok &= matches!(conn.get("/health").await, Ok(a) if a.status.is_success());
        }
        match pair_ok {
            true => ok.push(t0.elapsed()),
            false => errors += 1,
        }
    }
    (ok, errors)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    // One seat: the fixture's sale is not what is measured here.
    let server = fixture::start(1, false, args.server_threads, fixture::Backend::Sqlite)?;
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("load-gen").enable_all().build()?;
    let left = Arc::new(AtomicUsize::new(args.orders));
    let (timing, results) = crowd::run(&rt, args.buyers, |_| buyer(server.base.clone(), left.clone()))?;
    let (mut ok, mut errors) = (Samples::default(), 0);
    for (samples, e) in results {
        ok.extend(samples);
        errors += e;
    }
    let orders = ok.len();
    println!(
        "{}",
        timing.with_order_fields(
            json!({
                "bench": "floor",
                "buyers": args.buyers,
                "errors": errors,
            }),
            orders,
            &mut ok
        )
    );
    anyhow::ensure!(errors == 0, "{errors} orders had a failed request");
    Ok(())
}
