//! Offline verification throughput on one core: what a gate terminal does per scan.
//!
//! Static credentials (`ADM1:`): decode + the issuer's Ed25519 check. With `--dynamic`,
//! device-bound presentations (`ADP1:`): `Scanned::parse` + `KeyRing::verify_scanned`, i.e. the
//! issuer's signature, the phone's signature over (ticket, version, counter) and the freshness
//! window. Each of the 1,000 tickets has its own phone key. Besides wall-clock throughput the
//! line reports CPU time per verification (`cpu_us_each`), which stays honest when other work
//! shares the cores.

use crate::stats::process_cpu;
use admit_credential::{DeviceAlgorithm, DeviceSigner, HolderBinding, Issuer, KeyRing, Payload, ProofPolicy, Scanned};
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// How many verifications to time.
    #[arg(long, default_value_t = 50_000)]
    pub count: usize,
    /// Verify device-bound dynamic presentations instead of static credentials.
    #[arg(long)]
    pub dynamic: bool,
    /// With --dynamic: the phones' key algorithm (Ed25519, or P-256 for browsers without Ed25519).
    #[arg(long, default_value = "Ed25519", requires = "dynamic")]
    pub device_algorithm: DeviceAlgorithm,
}

/// The gate's clock during the run; presentations are signed at this time.
const NOW_S: u32 = 1_767_230_000;

pub fn run(args: Args) -> anyhow::Result<()> {
    let issuer = Issuer::generate(7);
    let mut ring = KeyRing::new();
    ring.insert(7, &issuer.public_key())?;
    let policy = ProofPolicy::default();
    let texts: Vec<String> = (0..1_000u64)
        .map(|i| {
            let device = args.dynamic.then(|| DeviceSigner::generate(args.device_algorithm));
            let holder = device.as_ref().map_or(HolderBinding::None, DeviceSigner::binding);
            let credential = issuer.issue(payload(i, holder))?;
            Ok(match device {
                Some(device) => device.present(credential, NOW_S).to_text(),
                None => credential.to_text(),
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let (start, cpu_before) = (Instant::now(), process_cpu());
    let mut ok = 0usize;
    for i in 0..args.count {
        let text = &texts[i % texts.len()];
        let verified = if args.dynamic {
            Scanned::parse(text).and_then(|s| ring.verify_scanned(&s, i64::from(NOW_S), &policy)).is_ok()
        } else {
            ring.verify_text(text).is_ok()
        };
        ok += usize::from(verified);
    }
    let secs = start.elapsed().as_secs_f64();
    // CPU time too: on a shared machine the wall clock also counts time spent descheduled.
    let cpu_secs = process_cpu().zip(cpu_before).map(|(after, before)| after.saturating_sub(before).as_secs_f64());
    anyhow::ensure!(ok == args.count, "{} of {} verifications failed", args.count - ok, args.count);
    let kind = if args.dynamic { "dynamic" } else { "static" };
    let mut line = serde_json::json!({
        "bench": "verify",
        "kind": kind,
        "verifications": args.count,
        "per_sec_per_core": (args.count as f64 / secs).round(),
        "us_each": (secs * 1e6 / args.count as f64 * 100.0).round() / 100.0,
        "per_cpu_sec": cpu_secs.map(|c| (args.count as f64 / c).round()),
        "cpu_us_each": cpu_secs.map(|c| (c * 1e6 / args.count as f64 * 100.0).round() / 100.0),
    });
    if args.dynamic {
        line["device_algorithm"] = args.device_algorithm.name().into();
    }
    println!("{line}");
    Ok(())
}

fn payload(i: u64, holder: HolderBinding) -> Payload {
    Payload {
        key_id: 7,
        ticket_id: 1_000_000 + i,
        ticket_version: 1,
        session_id: 1,
        seat: format!("Floor A-{i}"),
        grade: "VIP".into(),
        valid_from: 0,
        valid_until: i64::from(u32::MAX),
        holder,
        reserved: Vec::new(),
    }
}
