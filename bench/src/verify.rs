//! Offline verification throughput: decode + Ed25519 check of static credentials on one core.

use admit_credential::{HolderBinding, Issuer, KeyRing, Payload};
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// How many verifications to time.
    #[arg(long, default_value_t = 50_000)]
    pub count: usize,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let issuer = Issuer::generate(7);
    let mut ring = KeyRing::new();
    ring.insert(7, &issuer.public_key())?;
    let texts: Vec<String> = (0..1_000u64)
        .map(|i| {
            let payload = Payload {
                key_id: 7,
                ticket_id: 1_000_000 + i,
                ticket_version: 1,
                session_id: 1,
                seat: format!("Floor A-{i}"),
                grade: "VIP".into(),
                valid_from: 0,
                valid_until: i64::from(u32::MAX),
                holder: HolderBinding::None,
                reserved: Vec::new(),
            };
            issuer.issue(payload).map(|c| c.to_text())
        })
        .collect::<Result<_, _>>()?;
    let start = Instant::now();
    let mut ok = 0usize;
    for i in 0..args.count {
        if ring.verify_text(&texts[i % texts.len()]).is_ok() {
            ok += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    anyhow::ensure!(ok == args.count, "{} of {} verifications failed", args.count - ok, args.count);
    println!(
        "{}",
        serde_json::json!({
            "bench": "verify",
            "kind": "static",
            "verifications": args.count,
            "per_sec_per_core": (args.count as f64 / secs).round(),
            "us_each": (secs * 1e6 / args.count as f64 * 100.0).round() / 100.0,
        })
    );
    Ok(())
}
