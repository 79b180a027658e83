//! `ringmasq-load` binary: parses the command line, runs the load and prints the report.

use clap::Parser;
use ringmasq_load::cli::{Cli, Command};
use ringmasq_load::run::{run, sweep};
use serde_json::json;

fn main() -> anyhow::Result<()> {
    let args = match Cli::parse().command {
        Command::Dns(args) => args,
        Command::Dhcp(args) => return ringmasq_load::dhcp::cli::main(&args),
        Command::Pxe(args) => return ringmasq_load::pxe::run(&args),
    };
    let cfg = args.run_config()?;
    if args.sweep {
        let sw = args.sweep_config()?;
        let (steps, knee) = sweep(&cfg, &sw)?;
        if args.json {
            let steps: Vec<_> = steps
                .iter()
                .map(|s| {
                    let mut j = s.stats.to_json();
                    j["offered_qps"] = json!(s.rate);
                    j["ok"] = json!(s.ok);
                    j
                })
                .collect();
            println!("{}", json!({ "knee_qps": knee, "steps": steps }));
        } else {
            match knee {
                Some(k) => {
                    println!("knee: {k:.0} qps offered (last rate within loss and p99 limits)")
                }
                None => println!("knee: none (the first rate already exceeded the limits)"),
            }
        }
        return Ok(());
    }
    let r = run(&cfg, true)?;
    if args.json {
        let mut j = r.stats.to_json();
        j["backend"] = json!(r.backend);
        j["threads"] = json!(cfg.threads);
        println!("{j}");
    } else {
        println!(
            "ringmasq-load dns -> {} ({}, {} thread(s))",
            cfg.server, r.backend, cfg.threads
        );
        print!("{}", r.stats.to_table());
    }
    Ok(())
}
