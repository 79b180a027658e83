//! Maps the parsed `--dhcp-*` options ([`ringmasq_config::DhcpSettings`]) onto the protocol
//! core's [`DhcpConfig`].

use ringmasq_config::Config;
use ringmasq_config::dhcp::{DhcpHost, DhcpRange, LeaseLength, MacPattern, RangeMode as CfgMode};
use ringmasq_config::dhcp_match::{
    DhcpMatch, MatchKind, MatchValue as CfgValue, TagIf as CfgTagIf,
};
use ringmasq_config::dhcp_option::{DhcpOption, TagCondition};
use ringmasq_config::pxe::PxeBoot as CfgBoot;
use ringmasq_proto::dhcp::config::{
    DhcpConfig, Host, HwAddrPattern, InterfaceFilter, LeaseTime, OptionSpec, Range, RangeMode,
    TagCond,
};
use ringmasq_proto::dhcp::matching::{MatchRule, MatchValue, Matcher, TagIf};
use ringmasq_proto::dhcp::pxe::{BootSpec, PxeBoot, PxePrompt, PxeService};

fn lease(l: LeaseLength) -> LeaseTime {
    match l {
        LeaseLength::Secs(s) => LeaseTime::Secs(s),
        LeaseLength::Infinite => LeaseTime::Infinite,
    }
}

fn range(r: &DhcpRange) -> Range {
    Range {
        start: r.start,
        end: r.end,
        netmask: r.netmask,
        broadcast: r.broadcast,
        lease_time: lease(r.lease),
        mode: match r.mode {
            CfgMode::Dynamic => RangeMode::Dynamic,
            CfgMode::Static => RangeMode::Static,
            CfgMode::Proxy => RangeMode::Proxy,
        },
        match_tags: r.match_tags.clone(),
        set_tag: r.set_tag.clone(),
    }
}

fn mac(m: &MacPattern) -> HwAddrPattern {
    HwAddrPattern {
        htype: m.htype,
        bytes: m.bytes.clone(),
    }
}

fn host(h: &DhcpHost) -> Host {
    Host {
        macs: h.macs.iter().map(mac).collect(),
        client_ids: h.client_ids.clone(),
        any_client_id: h.any_client_id,
        addr: h.addr,
        name: h.name.clone(),
        lease_time: h.lease.map(lease),
        ignore: h.ignore,
        set_tags: h.set_tags.clone(),
        match_tags: h.match_tags.clone(),
    }
}

/// Tag conditions (`tag:x`, `tag:!x`) as the protocol core takes them (both families).
pub(super) fn conds(c: &[TagCondition]) -> Vec<TagCond> {
    c.iter()
        .map(|t| TagCond {
            tag: t.tag.clone(),
            negated: t.negated,
        })
        .collect()
}

/// `--tag-if` rules as the protocol core takes them (both families).
pub(super) fn tag_ifs(rules: &[CfgTagIf]) -> Vec<TagIf> {
    rules
        .iter()
        .map(|t| TagIf {
            set: t.set.clone(),
            when: conds(&t.when),
        })
        .collect()
}

fn match_value(v: &CfgValue) -> MatchValue {
    match v {
        CfgValue::Present => MatchValue::Present,
        CfgValue::Prefix(p) => MatchValue::Prefix(p.clone()),
        CfgValue::Element(e) => MatchValue::Element(e.clone()),
        CfgValue::Substring(s) => MatchValue::Substring(s.clone()),
    }
}

/// The DHCPv4 form of a tag-setting match; `None` for the DHCPv6-only kinds.
fn matcher(m: &DhcpMatch) -> Option<MatchRule> {
    Some(MatchRule {
        tag: m.tag.clone(),
        matcher: match &m.kind {
            MatchKind::Option { code, value } => Matcher::Option {
                code: *code,
                value: match_value(value),
            },
            MatchKind::ViEncap { enterprise, value } => Matcher::ViEncap {
                enterprise: *enterprise,
                value: match_value(value),
            },
            MatchKind::VendorClass(c) => Matcher::VendorClass(c.clone()),
            MatchKind::UserClass(c) => Matcher::UserClass(c.clone()),
            MatchKind::Agent { sub, value } => Matcher::Agent {
                sub: *sub,
                value: value.clone(),
            },
            MatchKind::Mac(p) => Matcher::Mac(mac(p)),
            MatchKind::Name(n) => Matcher::Name(n.clone()),
            MatchKind::Option6 { .. } | MatchKind::VendorClass6 { .. } => return None,
        },
    })
}

fn option(o: &DhcpOption) -> OptionSpec {
    OptionSpec {
        code: o.code,
        value: o.value.clone(),
        tags: conds(&o.tags),
        force: o.force,
        vendor_class: o.vendor_class.clone(),
        encap: o.encap,
    }
}

fn pxe_service(s: &ringmasq_config::pxe::PxeService) -> PxeService {
    PxeService {
        tags: conds(&s.tags),
        csa: s.csa,
        menu: s.menu.clone(),
        boot: match &s.boot {
            CfgBoot::Basename(b) => PxeBoot::Basename(b.clone()),
            CfgBoot::Type(t) => PxeBoot::Type(*t),
        },
        server: s.server,
    }
}

/// The protocol core's configuration for `cfg` (`--domain` becomes option 15's default).
pub fn dhcp_config(cfg: &Config) -> DhcpConfig {
    dhcp_config_with(cfg, &[], &[])
}

/// [`dhcp_config`] with the hosts and options read from files after the command line's.
pub fn dhcp_config_with(
    cfg: &Config,
    file_hosts: &[DhcpHost],
    file_opts: &[DhcpOption],
) -> DhcpConfig {
    let d = &cfg.dhcp;
    DhcpConfig {
        ranges: d.ranges.iter().map(range).collect(),
        hosts: d.hosts.iter().chain(file_hosts).map(host).collect(),
        options: d.options.iter().chain(file_opts).map(option).collect(),
        authoritative: d.authoritative,
        rapid_commit: d.rapid_commit,
        no_override: d.no_override,
        lease_max: d.lease_max as usize,
        sequential_ip: d.sequential_ip,
        ignore_clid: d.ignore_clid,
        ping: !d.no_ping,
        broadcast: d.broadcast.iter().map(|c| conds(c)).collect(),
        bootp_dynamic: d.bootp_dynamic,
        bootp_dynamic_tags: d.bootp_dynamic_tags.clone(),
        domain: cfg.domain.clone(),
        matches: d.matches.iter().filter_map(matcher).collect(),
        tag_ifs: tag_ifs(&d.tag_ifs),
        ignore: d.ignore.iter().map(|c| conds(c)).collect(),
        ignore_names: d.ignore_names.iter().map(|c| conds(c)).collect(),
        generate_names: d.generate_names.iter().map(|c| conds(c)).collect(),
        reply_delay: d.reply_delay.iter().map(|(c, s)| (conds(c), *s)).collect(),
        fqdn: d.fqdn,
        client_update: d.client_update,
        interfaces: InterfaceFilter {
            only: cfg.interfaces.clone(),
            except: cfg.except_interfaces.clone(),
            no_dhcp: d.no_dhcp_interfaces.clone(),
        },
        boot: d
            .boot
            .iter()
            .map(|b| BootSpec {
                tags: conds(&b.tags),
                file: b.file.clone(),
                server_name: b.server_name.clone(),
                server_addr: b.server_addr,
            })
            .collect(),
        pxe_services: d.pxe_services.iter().map(pxe_service).collect(),
        pxe_prompts: d
            .pxe_prompts
            .iter()
            .map(|p| PxePrompt {
                tags: conds(&p.tags),
                text: p.text.clone(),
                timeout: p.timeout,
            })
            .collect(),
        pxe_vendors: d.pxe_vendors.clone(),
        ..DhcpConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_ranges_hosts_and_options() {
        let args: Vec<std::ffi::OsString> = [
            "--conf-file=/dev/null",
            "--dhcp-range=set:lan,10.9.0.10,10.9.0.20,255.255.255.0,2h",
            "--dhcp-host=52:54:00:*:*:01,10.9.0.5,static1,infinite",
            "--dhcp-option=tag:!lan,option:ntp-server,10.9.0.1",
            "--dhcp-authoritative",
            "--domain=lan.example",
        ]
        .iter()
        .map(Into::into)
        .collect();
        let cfg = ringmasq_config::load(&args).unwrap();
        let d = dhcp_config(&cfg);
        assert_eq!(d.ranges[0].lease_time, LeaseTime::Secs(7200));
        assert_eq!(d.ranges[0].set_tag.as_deref(), Some("lan"));
        assert_eq!(d.hosts[0].lease_time, Some(LeaseTime::Infinite));
        assert!(d.hosts[0].macs[0].matches(1, &[0x52, 0x54, 0, 9, 9, 1]));
        assert!(d.options[0].tags[0].negated);
        assert!(d.authoritative);
        assert_eq!(d.domain.as_deref(), Some("lan.example"));
        ringmasq_proto::dhcp::Server::new(d).unwrap();
    }
}
