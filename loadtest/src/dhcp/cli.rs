//! Options of `ringmasq-load dhcp` and the command itself.

use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;

use super::clients::MAX_CLIENTS;
use super::run::{DhcpRun, Path, run_dhcp};
use crate::cli::parse_duration;

/// Options of `ringmasq-load dhcp`.
#[derive(Debug, Args)]
pub struct DhcpArgs {
    /// The server's address (renewals and RELEASEs go there; all requests with --relay).
    #[arg(long, short = 's')]
    pub server: Ipv4Addr,
    /// Clients' interface on the server's link: DISCOVER/REQUEST are broadcast there.
    #[arg(
        long,
        short = 'i',
        conflicts_with = "relay",
        required_unless_present = "relay"
    )]
    pub interface: Option<String>,
    /// Act as a relay agent with this address (giaddr): requests unicast to the server.
    #[arg(long)]
    pub relay: Option<Ipv4Addr>,
    /// Number of clients (distinct MACs).
    #[arg(long, short = 'n', default_value_t = 100)]
    pub clients: u32,
    /// Open loop: clients started per second. Without it all start at once (a burst).
    #[arg(long, short = 'r')]
    pub rate: Option<f64>,
    /// Stop after DORA: no renewal.
    #[arg(long)]
    pub no_renew: bool,
    /// Do not release the leases at the end.
    #[arg(long)]
    pub no_release: bool,
    /// First retransmission timeout (doubled each retry, ±10%), e.g. 1s, 500ms.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub retransmit: Duration,
    /// Transmissions of a message before the client gives up.
    #[arg(long, default_value_t = 4)]
    pub tries: u32,
    /// Hard bound on the run.
    #[arg(long, short = 'l', default_value = "60s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Third byte of every MAC (02:52:SEED:xx:xx:xx), to tell runs apart.
    #[arg(long, default_value_t = 0)]
    pub seed: u8,
    /// Also print each leased `MAC address` line (after the report).
    #[arg(long)]
    pub print_leases: bool,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

impl DhcpArgs {
    /// The run these options describe.
    pub fn run_config(&self) -> Result<DhcpRun> {
        if self.clients == 0 || self.clients > MAX_CLIENTS {
            bail!("--clients must be within 1..={MAX_CLIENTS}");
        }
        if self.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
            bail!("--rate must be positive");
        }
        if self.retransmit.is_zero() {
            bail!("--retransmit must be positive");
        }
        let path = match (&self.interface, self.relay) {
            (_, Some(giaddr)) => Path::Relay { giaddr },
            (Some(i), None) => Path::Broadcast {
                interface: i.clone(),
            },
            (None, None) => bail!("give --interface IF or --relay GIADDR"),
        };
        Ok(DhcpRun {
            server: self.server,
            path,
            clients: self.clients,
            rate: self.rate,
            renew: !self.no_renew,
            release: !self.no_release,
            retransmit: self.retransmit,
            tries: self.tries.max(1),
            max_duration: self.duration.min(Duration::from_secs(3600)),
            seed: self.seed,
        })
    }
}

/// Runs `ringmasq-load dhcp` and prints its report; fails (exit 1) when a client did not
/// get its lease.
pub fn main(args: &DhcpArgs) -> Result<()> {
    let cfg = args.run_config()?;
    let out = run_dhcp(&cfg)?;
    if args.json {
        println!("{}", out.stats.to_json());
    } else {
        let how = match &cfg.path {
            Path::Broadcast { interface } => format!("broadcast on {interface}"),
            Path::Relay { giaddr } => format!("relay {giaddr}"),
        };
        println!("ringmasq-load dhcp -> {} ({how})", cfg.server);
        print!("{}", out.stats.to_table());
    }
    if args.print_leases {
        for (mac, ip) in &out.leases {
            let m: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
            println!("{} {ip}", m.join(":"));
        }
    }
    if !out.stats.all_leased() {
        std::process::exit(1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn command_lines() {
        let cli = crate::cli::Cli::try_parse_from([
            "ringmasq-load",
            "dhcp",
            "--server",
            "10.77.0.1",
            "--interface",
            "veth1",
            "--clients",
            "500",
            "--rate",
            "1000",
            "--json",
        ])
        .unwrap();
        let crate::cli::Command::Dhcp(a) = cli.command else {
            panic!("dhcp subcommand")
        };
        let c = a.run_config().unwrap();
        assert_eq!(c.clients, 500);
        assert!(c.renew && c.release);
        assert!(matches!(c.path, Path::Broadcast { .. }));
        assert!(
            crate::cli::Cli::try_parse_from(["ringmasq-load", "dhcp", "--server", "10.0.0.1"])
                .is_err()
        );
        assert!(
            crate::cli::Cli::try_parse_from([
                "ringmasq-load",
                "dhcp",
                "-s",
                "10.0.0.1",
                "-i",
                "x",
                "--relay",
                "10.0.0.2"
            ])
            .is_err()
        );
    }
}
