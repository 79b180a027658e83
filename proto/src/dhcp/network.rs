//! Which network and range serve a request, and which `dhcp-host` and tags apply: by giaddr
//! when relayed, else by the addresses of the interface it arrived on (RFC 2131 §4.3.1).

use std::net::Ipv4Addr;

use super::compiled::CRange;
use super::packet::{OptionTable, Request, code};
use super::server::{InterfaceInfo, Server};
use super::stats::DropReason;
use super::tags::TagSet;

/// Whether `a` and `b` are in the same network under `mask`.
pub(super) fn same_net(a: Ipv4Addr, b: Ipv4Addr, mask: Ipv4Addr) -> bool {
    u32::from(a) & u32::from(mask) == u32::from(b) & u32::from(mask)
}

/// The network a request is served on.
pub(super) struct Net<'c> {
    pub(super) range: &'c CRange,
    pub(super) server_id: Ipv4Addr,
    pub(super) mask: Ipv4Addr,
    pub(super) relayed: bool,
}

impl Net<'_> {
    pub(super) fn contains(&self, a: Ipv4Addr) -> bool {
        same_net(a, self.range.pool.start, self.mask)
    }
}

impl Server {
    /// Whether range `r` is on the request's network: by giaddr when relayed (RFC 2131 §4.3.1),
    /// else by the addresses of the interface it arrived on.
    pub(super) fn on_net<'s>(
        &'s self,
        r: &'s CRange,
        iface: &InterfaceInfo<'_>,
        giaddr: Ipv4Addr,
    ) -> Option<Net<'s>> {
        if giaddr != Ipv4Addr::UNSPECIFIED {
            // A relayed range needs a netmask; without one assume /24.
            let mask = r.netmask.unwrap_or(Ipv4Addr::new(255, 255, 255, 0));
            let server_id = iface.addrs.first()?.addr;
            return same_net(giaddr, r.pool.start, mask).then_some(Net {
                range: r,
                server_id,
                mask,
                relayed: true,
            });
        }
        iface.addrs.iter().find_map(|a| {
            let mask = r.netmask.unwrap_or(a.mask());
            same_net(a.addr, r.pool.start, mask).then_some(Net {
                range: r,
                server_id: a.addr,
                mask,
                relayed: false,
            })
        })
    }

    /// The range serving a request: the first on its network whose `tag:` conditions hold.
    pub(super) fn network(
        &self,
        iface: &InterfaceInfo<'_>,
        giaddr: Ipv4Addr,
        tags: &TagSet,
    ) -> Option<Net<'_>> {
        self.ranges
            .iter()
            .filter(|r| tags.contains_all(&r.need))
            .find_map(|r| self.on_net(r, iface, giaddr))
    }

    /// The request's tags, in dnsmasq's order of sources: the interface name, the matchers
    /// (`--dhcp-match` and friends), the `dhcp-host` entry (its `set:` tags and `known`), the
    /// `set:` tags of the ranges on the request's network, then `--tag-if` in order.
    pub(super) fn request_tags(
        &self,
        req: &Request<'_>,
        opts: &OptionTable,
        iface: &InterfaceInfo<'_>,
    ) -> Result<(TagSet, Option<usize>), DropReason> {
        let mut tags = TagSet::default();
        if let Some(t) = self.tags.id(iface.name) {
            tags.insert(t);
        }
        self.rules.apply_matches(req, opts, &mut tags);
        let host = self.find_host(req, opts.get(code::CLIENT_ID), &tags);
        if let Some(h) = host {
            let h = &self.hosts[h];
            if h.ignore {
                return Err(DropReason::Ignored);
            }
            tags.union(&h.set);
            tags.union(&self.known);
        }
        let mut net_tags = TagSet::default();
        for r in &self.ranges {
            if tags.contains_all(&r.need) && self.on_net(r, iface, req.giaddr).is_some() {
                net_tags.union(&r.set);
            }
        }
        tags.union(&net_tags);
        self.rules.apply_tag_ifs(&mut tags);
        Ok((tags, host))
    }

    fn find_host(&self, req: &Request<'_>, clid: Option<&[u8]>, tags: &TagSet) -> Option<usize> {
        if let Some(id) = clid
            && let Some(i) = self.hosts.iter().position(|h| {
                tags.contains_all(&h.need) && h.client_ids.iter().any(|c| c.as_slice() == id)
            })
        {
            return Some(i);
        }
        // Exact MACs before wildcards.
        let by_mac = |wild: bool| {
            self.hosts.iter().position(|h| {
                tags.contains_all(&h.need)
                    && h.macs
                        .iter()
                        .any(|m| m.has_wildcard() == wild && m.matches(req.htype, req.chaddr))
            })
        };
        by_mac(false).or_else(|| by_mac(true))
    }
}
