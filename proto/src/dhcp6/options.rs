//! The options of a DHCPv6 reply: DNS servers (RFC 3646 §3, `::` standing for the server's
//! address on the client's link), the domain search list (RFC 3646 §4) and every other
//! configured option; per code the one whose tag conditions hold for the client and are most
//! specific ([`super::tags::Tagger6::best`]), untagged DNS servers and search list otherwise.

use std::net::Ipv6Addr;

use super::config::{Link6, is_link_local};
use super::server::{Ctx, Server6};
use super::wire::{self, opt};

impl Server6 {
    /// Appends the configured options for the client of `ctx`.
    pub(super) fn put_options(&self, link: &Link6<'_>, ctx: &Ctx<'_>, out: &mut Vec<u8>) {
        let me = self.local_addr(link, ctx);
        let best = |code: u16| self.tagger.best(&self.cfg, code, &ctx.tags);
        let servers: Vec<Ipv6Addr> = match (best(opt::DNS_SERVERS), &self.cfg.dns_servers) {
            (Some(o), _) => o
                .value
                .chunks_exact(16)
                .filter_map(|c| <[u8; 16]>::try_from(c).ok().map(Ipv6Addr::from))
                .collect(),
            (None, Some(list)) => list.clone(),
            (None, None) => vec![me],
        };
        let s = wire::begin(out, opt::DNS_SERVERS);
        for a in servers
            .iter()
            .map(|a| if a.is_unspecified() { me } else { *a })
            .filter(|a| !a.is_unspecified())
        {
            out.extend_from_slice(&a.octets());
        }
        wire::end(out, s);
        if let Some(o) = best(opt::DOMAIN_LIST) {
            wire::put(out, opt::DOMAIN_LIST, &o.value);
        } else {
            let search: Vec<String> = if self.cfg.domain_search.is_empty() {
                self.cfg.domain.iter().cloned().collect()
            } else {
                self.cfg.domain_search.clone()
            };
            if !search.is_empty() {
                let s = wire::begin(out, opt::DOMAIN_LIST);
                wire::put_names(out, &search);
                wire::end(out, s);
            }
        }
        let mut sent: Vec<u16> = vec![opt::DNS_SERVERS, opt::DOMAIN_LIST];
        for o in &self.cfg.options {
            if sent.contains(&o.code) {
                continue;
            }
            sent.push(o.code);
            if let Some(o) = best(o.code) {
                wire::put(out, o.code, &o.value);
            }
        }
    }

    /// Our address for the client: a global address of the arrival link inside one of the
    /// client's ranges, else any global one, else the link-local one.
    fn local_addr(&self, link: &Link6<'_>, ctx: &Ctx<'_>) -> Ipv6Addr {
        let global = || {
            link.addrs
                .iter()
                .map(|a| a.addr)
                .filter(|a| !is_link_local(*a) && !a.is_loopback())
        };
        global()
            .find(|a| ctx.ranges.iter().any(|r| r.on_link(*a)))
            .or_else(|| global().next())
            .or_else(|| {
                link.addrs
                    .iter()
                    .map(|a| a.addr)
                    .find(|a| is_link_local(*a))
            })
            .unwrap_or(Ipv6Addr::UNSPECIFIED)
    }
}
