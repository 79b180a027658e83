//! dnsmasq-compatible configuration front end for ringmasq.
//!
//! * [`option`]: the option table (every dnsmasq 2.90 option plus ringmasq's
//!   own), shared by the command line and configuration files.
//! * [`load`]: argv (without argv\[0\]) plus configuration files to a typed
//!   [`Config`], collecting every error as [`ConfigErrors`].
//! * [`ServerRule`]: the `--server`/`--local`/`--rev-server` model.
//! * [`parse_resolv_conf`], [`help_text`], [`VERSION`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod alias;
mod apply;
mod argv;
mod conf_line;
mod config;
pub mod dhcp;
pub mod dhcp_file;
pub mod dhcp_match;
pub mod dhcp_option;
mod directive;
pub mod dnssec;
mod domain_range;
mod error;
pub mod ethers;
pub mod fuzzing;
mod guard;
mod help;
pub mod ipv6;
mod load;
mod local_record;
pub mod option;
mod option6;
mod option_table;
mod origin;
pub mod pxe;
pub mod refused;
mod resolv_conf;
mod rev_server;
mod server;
pub mod tftp;
mod value;

pub use apply::MAX_THREADS;
pub use argv::parse_args;
pub use conf_line::{ConfLine, LineError, parse_line};
pub use config::*;
pub use dhcp::{DhcpHost, DhcpRange, DhcpSettings};
pub use dhcp_option::DhcpOption;
pub use directive::Directive;
pub use dnssec::{DnssecSettings, TrustAnchorSpec};
pub use domain_range::{DomainRange, DomainScope};
pub use error::{ConfigError, ConfigErrors};
pub use guard::{AddrPrefix, RR_TYPE_ANY, parse_addr_prefix, parse_rr_type};
pub use help::help_text;
pub use load::{load, load_servers_file, load_with_default};
pub use local_record::LocalRecord;
pub use option::{ArgKind, OptionSpec, Status};
pub use origin::Origin;
pub use resolv_conf::parse_resolv_conf;
pub use rev_server::{parse_rev_server, reverse_zones};
pub use server::{DNS_PORT, DomainMatch, ServerAction, ServerRule, Upstream, parse_upstream};
pub use tftp::{TftpRoot, TftpSettings, UniqueRoot};
pub use value::{ValueError, parse_duration_secs};

/// ringmasq's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
