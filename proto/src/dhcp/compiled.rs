//! The DHCPv4 server's compiled configuration: ranges, hosts and options with their tag
//! conditions turned into tag sets, built once from a [`DhcpConfig`] (and again on SIGHUP),
//! and the errors found while building it.

use std::net::Ipv4Addr;
use std::sync::Arc;

use super::allocator::{Allocator, Pool};
use super::config::{DhcpConfig, HwAddrPattern, LeaseTime, RangeMode, TagCond};
use super::matching::{Cond, TagRules};
use super::server::Server;
use super::stats::DhcpStats;
use super::tags::{TagSet, Tags};

/// Errors in a [`DhcpConfig`] found when building the server.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// More distinct tags than the server supports.
    #[error("more than {max} distinct DHCP tags")]
    TooManyTags {
        /// The limit.
        max: usize,
    },
    /// A range whose end is before its start.
    #[error("DHCP range {start}..{end} ends before it starts")]
    BadRange {
        /// Start.
        start: Ipv4Addr,
        /// End.
        end: Ipv4Addr,
    },
}

#[derive(Debug)]
pub(super) struct CRange {
    pub(super) pool: Pool,
    pub(super) netmask: Option<Ipv4Addr>,
    pub(super) broadcast: Option<Ipv4Addr>,
    pub(super) lease: LeaseTime,
    pub(super) mode: RangeMode,
    pub(super) need: TagSet,
    pub(super) set: TagSet,
}

#[derive(Debug)]
pub(super) struct CHost {
    pub(super) macs: Vec<HwAddrPattern>,
    pub(super) client_ids: Vec<Vec<u8>>,
    pub(super) addr: Option<Ipv4Addr>,
    pub(super) name: Option<Vec<u8>>,
    pub(super) lease: Option<LeaseTime>,
    pub(super) ignore: bool,
    pub(super) set: TagSet,
    pub(super) need: TagSet,
}

#[derive(Debug)]
pub(super) struct COpt {
    pub(super) code: u8,
    pub(super) value: Vec<u8>,
    pub(super) pos: TagSet,
    pub(super) neg: TagSet,
    pub(super) weight: u32,
    pub(super) force: bool,
    pub(super) vendor_class: Option<Vec<u8>>,
    pub(super) encap: Option<u8>,
}

impl COpt {
    pub(super) fn applies(&self, tags: &TagSet) -> bool {
        tags.contains_all(&self.pos) && !tags.intersects(&self.neg)
    }
}

impl Server {
    /// Compile `cfg` and create a server with a fresh allocator.
    pub fn new(cfg: DhcpConfig) -> Result<Self, ConfigError> {
        let pools: Vec<Pool> = cfg
            .ranges
            .iter()
            .filter(|r| r.mode == RangeMode::Dynamic && r.start <= r.end)
            .map(|r| Pool {
                start: r.start,
                end: r.end,
            })
            .collect();
        let alloc = Arc::new(Allocator::with_pools(cfg.lease_max, &pools));
        Self::with_allocator(cfg, alloc)
    }

    /// Compile `cfg` around an existing allocator (kept across SIGHUP reloads).
    pub fn with_allocator(cfg: DhcpConfig, alloc: Arc<Allocator>) -> Result<Self, ConfigError> {
        let mut tags = Tags::default();
        let mut ranges = Vec::new();
        for r in &cfg.ranges {
            if r.end < r.start {
                return Err(ConfigError::BadRange {
                    start: r.start,
                    end: r.end,
                });
            }
            let end = if r.mode == RangeMode::Dynamic {
                r.end
            } else {
                r.start
            };
            ranges.push(CRange {
                pool: Pool {
                    start: r.start,
                    end,
                },
                netmask: r.netmask,
                broadcast: r.broadcast,
                lease: r.lease_time,
                mode: r.mode,
                need: tags.set_of(r.match_tags.iter())?,
                set: tags.set_of(r.set_tag.iter())?,
            });
        }
        let mut hosts = Vec::new();
        let mut reserved = Vec::new();
        for h in &cfg.hosts {
            if let Some(a) = h.addr {
                reserved.push(a);
            }
            hosts.push(CHost {
                macs: h.macs.clone(),
                client_ids: h.client_ids.clone(),
                addr: h.addr,
                name: h.name.as_ref().map(|n| n.as_bytes().to_vec()),
                lease: h.lease_time,
                ignore: h.ignore,
                set: tags.set_of(h.set_tags.iter())?,
                need: tags.set_of(h.match_tags.iter())?,
            });
        }
        reserved.sort();
        reserved.dedup();
        let mut opts = Vec::new();
        for o in &cfg.options {
            let pos = tags.set_of(o.tags.iter().filter(|t| !t.negated).map(|t| &t.tag))?;
            let neg = tags.set_of(o.tags.iter().filter(|t| t.negated).map(|t| &t.tag))?;
            opts.push(COpt {
                code: o.code,
                value: o.value.clone(),
                weight: pos.count(),
                pos,
                neg,
                force: o.force,
                vendor_class: o.vendor_class.as_ref().map(|v| v.as_bytes().to_vec()),
                encap: o.encap,
            });
        }
        let known = tags.set_of(["known"].iter())?;
        let conds = |tags: &mut Tags, l: &[Vec<TagCond>]| -> Result<Vec<Cond>, ConfigError> {
            l.iter().map(|c| Cond::compile(tags, c)).collect()
        };
        let ignore = conds(&mut tags, &cfg.ignore)?;
        let ignore_names = conds(&mut tags, &cfg.ignore_names)?;
        let generate_names = conds(&mut tags, &cfg.generate_names)?;
        let mut reply_delay = Vec::new();
        for (c, secs) in &cfg.reply_delay {
            reply_delay.push((Cond::compile(&mut tags, c)?, *secs));
        }
        let rules = TagRules::compile(&mut tags, &cfg.matches, &cfg.tag_ifs)?;
        let bcast = conds(&mut tags, &cfg.broadcast)?;
        let bootp_dynamic = tags.set_of(cfg.bootp_dynamic_tags.iter())?;
        let pxe = super::pxe::Pxe::compile(
            &mut tags,
            &cfg.boot,
            &cfg.pxe_services,
            &cfg.pxe_prompts,
            &cfg.pxe_vendors,
        )?;
        Ok(Server {
            cfg,
            tags,
            ranges,
            hosts,
            opts,
            reserved,
            known,
            ignore,
            ignore_names,
            generate_names,
            reply_delay,
            rules,
            bcast,
            bootp_dynamic,
            pxe,
            dns_self: true,
            alloc,
            stats: DhcpStats::default(),
        })
    }
}
