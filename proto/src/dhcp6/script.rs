//! `--dhcp-script` events for DHCPv6 leases, as dnsmasq runs them: the arguments are `add`,
//! `old` or `del`, the client's DUID, the address and the name if known; the environment has
//! `DNSMASQ_IAID` (prefixed `T` for a temporary address), `DNSMASQ_SERVER_DUID`,
//! `DNSMASQ_MAC` (from a DUID-LLT/DUID-LL), the expiry and time remaining, and for events a
//! request caused, the interface, the name the client supplied, the tags, the user and vendor
//! classes, the requested options and the relay's address.

use std::collections::HashMap;
use std::net::Ipv6Addr;

use super::config::duid_mac;
use super::lease::{Lease6, hex};
use super::server::Change6;
use super::wire::{self, Inbound, Options, opt};
use crate::dhcp::script::ScriptAction;
use crate::dhcp::script_env::ScriptEnv;

/// What the request behind a lease change tells the script.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request6Info {
    /// The interface it arrived on.
    pub interface: String,
    /// The host label of the client's Client FQDN option.
    pub supplied_hostname: Option<String>,
    /// The tags the exchange set.
    pub tags: Vec<String>,
    /// The User Class option's classes (RFC 8415 §21.15).
    pub user_classes: Vec<String>,
    /// The Vendor Class option: enterprise number and classes (RFC 8415 §21.16).
    pub vendor_class: Option<(u32, Vec<String>)>,
    /// The codes of the Option Request option (RFC 8415 §21.7).
    pub requested_options: Vec<u16>,
    /// The relay's address on the client's link (the innermost relay's link address).
    pub relay: Option<Ipv6Addr>,
}

impl Request6Info {
    /// What the client message `inb`, which arrived on `interface` and was given `tags`,
    /// tells the script.
    pub fn from_message(interface: &str, inb: &Inbound<'_>, tags: Vec<String>) -> Request6Info {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        Request6Info {
            interface: interface.to_owned(),
            supplied_hostname: Options::find(inb.options, opt::CLIENT_FQDN)
                .and_then(wire::fqdn_host),
            tags,
            user_classes: Options::find(inb.options, opt::USER_CLASS)
                .map(|v| wire::opaque_items(v).map(text).collect())
                .unwrap_or_default(),
            vendor_class: Options::find(inb.options, opt::VENDOR_CLASS)
                .filter(|v| v.len() >= 4)
                .map(|v| {
                    (
                        u32::from_be_bytes([v[0], v[1], v[2], v[3]]),
                        wire::opaque_items(&v[4..]).map(text).collect(),
                    )
                }),
            requested_options: Options::find(inb.options, opt::ORO)
                .map(|v| {
                    v.chunks_exact(2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]))
                        .collect()
                })
                .unwrap_or_default(),
            relay: inb
                .relays
                .iter()
                .rev()
                .map(|r| r.link)
                .find(|a| !a.is_unspecified()),
        }
    }
}

/// One script run for a DHCPv6 lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event6 {
    /// `add`, `old` or `del`.
    pub action: ScriptAction,
    /// The lease (for `del`, as it was).
    pub lease: Lease6,
    /// The name the lease had, when a change removed it.
    pub old_hostname: Option<String>,
    /// The request behind the change, if one caused it.
    pub request: Option<Request6Info>,
    /// An `old` or `del` made at start from stored leases (`DNSMASQ_DATA_MISSING=1`).
    pub data_missing: bool,
}

/// The DHCPv6 leases as the script has been told about them.
#[derive(Debug, Default)]
pub struct Leases6Told {
    leases: HashMap<Ipv6Addr, Lease6>,
    /// `--script-on-renewal`: a new expiry is an `old` event.
    renewal: bool,
}

fn event(action: ScriptAction, lease: Lease6, request: Option<&Request6Info>) -> Event6 {
    Event6 {
        action,
        lease,
        old_hostname: None,
        request: request.cloned(),
        data_missing: false,
    }
}

impl Leases6Told {
    /// Starts from the stored leases: `old` for each live one, `del` for each expired one.
    pub fn start(stored: &[Lease6], renewal: bool, wall: u64) -> (Leases6Told, Vec<Event6>) {
        let mut me = Leases6Told {
            leases: HashMap::new(),
            renewal,
        };
        let mut out = Vec::new();
        for l in stored {
            let expired = l.expired(wall);
            let action = if expired {
                ScriptAction::Del
            } else {
                ScriptAction::Old
            };
            out.push(Event6 {
                data_missing: true,
                ..event(action, l.clone(), None)
            });
            if !expired {
                me.leases.insert(l.addr, l.clone());
            }
        }
        (me, out)
    }

    /// The events for the lease changes of one reply.
    pub fn apply(
        &mut self,
        changes: &[Change6],
        request: Option<&Request6Info>,
        out: &mut Vec<Event6>,
    ) {
        for c in changes {
            match c {
                Change6::Remove(a) => {
                    if let Some(old) = self.leases.remove(a) {
                        out.push(event(ScriptAction::Del, old, request));
                    }
                }
                Change6::Upsert(l) => {
                    match self.leases.get(&l.addr) {
                        Some(old)
                            if (old.duid.as_slice(), old.iaid, old.temporary)
                                == (l.duid.as_slice(), l.iaid, l.temporary) =>
                        {
                            let renamed = old.hostname != l.hostname;
                            if renamed || (self.renewal && old.expires != l.expires) {
                                let mut ev = event(ScriptAction::Old, l.clone(), request);
                                if renamed && l.hostname.is_none() {
                                    ev.old_hostname = old.hostname.clone();
                                }
                                out.push(ev);
                            }
                        }
                        Some(old) => {
                            out.push(event(ScriptAction::Del, old.clone(), None));
                            out.push(event(ScriptAction::Add, l.clone(), request));
                        }
                        None => out.push(event(ScriptAction::Add, l.clone(), request)),
                    }
                    self.leases.insert(l.addr, l.clone());
                }
            }
        }
    }

    /// `del` for every lease that expired by `wall`.
    pub fn expire(&mut self, wall: u64, out: &mut Vec<Event6>) {
        let mut gone: Vec<Ipv6Addr> = self
            .leases
            .values()
            .filter(|l| l.expired(wall))
            .map(|l| l.addr)
            .collect();
        gone.sort();
        for a in gone {
            if let Some(l) = self.leases.remove(&a) {
                out.push(event(ScriptAction::Del, l, None));
            }
        }
    }

    /// `old` for every lease (SIGHUP, as dnsmasq).
    pub fn all_old(&self, out: &mut Vec<Event6>) {
        let mut all: Vec<&Lease6> = self.leases.values().collect();
        all.sort_by_key(|l| l.addr);
        out.extend(
            all.into_iter()
                .map(|l| event(ScriptAction::Old, l.clone(), None)),
        );
    }
}

/// The arguments (after the program) and the `DNSMASQ_*` environment for `ev` at `wall`.
pub fn command6(
    ev: &Event6,
    server_duid: &[u8],
    domain: Option<&str>,
    log_dhcp: bool,
    wall: u64,
) -> (Vec<String>, Vec<(&'static str, String)>) {
    let l = &ev.lease;
    let mut args = vec![
        ev.action.as_str().to_owned(),
        if l.duid.is_empty() {
            "*".to_owned()
        } else {
            hex(&l.duid)
        },
        l.addr.to_string(),
    ];
    if let Some(h) = &l.hostname {
        args.push(h.clone());
    }
    let mut env = ScriptEnv::default();
    env.push(
        "DNSMASQ_IAID",
        format!("{}{}", if l.temporary { "T" } else { "" }, l.iaid),
    );
    env.push("DNSMASQ_SERVER_DUID", hex(server_duid));
    env.expiry(l.expires, wall);
    if let Some(mac) = duid_mac(&l.duid) {
        env.push("DNSMASQ_MAC", hex(mac));
    }
    if let (Some(d), Some(_)) = (domain, &l.hostname) {
        env.push("DNSMASQ_DOMAIN", d.to_owned());
    }
    env.event(ev.old_hostname.as_ref(), ev.data_missing, log_dhcp);
    if let Some(r) = &ev.request {
        env.request(&r.interface, r.supplied_hostname.as_ref());
        env.user_classes(&r.user_classes);
        if let Some((e, classes)) = &r.vendor_class {
            env.push("DNSMASQ_VENDOR_CLASS_ID", e.to_string());
            env.vendor_classes(classes);
        }
        env.requested_and_relay(&r.requested_options, r.relay);
        env.tags(&r.tags);
    }
    (args, env.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(addr: &str, iaid: u32, name: Option<&str>, expires: u64) -> Lease6 {
        Lease6 {
            expires,
            iaid,
            temporary: false,
            addr: addr.parse().unwrap(),
            hostname: name.map(str::to_string),
            // DUID-LLT with MAC 02:66:00:00:00:02, as dhclient -6 makes them.
            duid: vec![0, 1, 0, 1, 0x2c, 0x4a, 0x1b, 0x03, 2, 0x66, 0, 0, 0, 2],
        }
    }

    #[test]
    fn add_old_del_with_dnsmasq_arguments() {
        let stored = [
            lease("fd00::101", 7, Some("a"), 2000),
            lease("fd00::102", 8, None, 50),
        ];
        let (mut told, start) = Leases6Told::start(&stored, false, 100);
        let actions: Vec<_> = start.iter().map(|e| (e.action, e.data_missing)).collect();
        assert_eq!(
            actions,
            [(ScriptAction::Old, true), (ScriptAction::Del, true)]
        );
        let req = Request6Info {
            interface: "rmq6s".into(),
            supplied_hostname: Some("pc6".into()),
            tags: vec!["v6".into(), "known".into()],
            ..Request6Info::default()
        };
        let mut out = Vec::new();
        let new = lease("fd00::103", 9, Some("pc6"), 3700);
        told.apply(&[Change6::Upsert(new.clone())], Some(&req), &mut out);
        // A renewal with only a new expiry: nothing (no --script-on-renewal).
        let renewed = Lease6 {
            expires: 3800,
            ..new.clone()
        };
        told.apply(&[Change6::Upsert(renewed.clone())], Some(&req), &mut out);
        assert_eq!(out.len(), 1);
        let (args, env) = command6(&out[0], &[0, 2, 0, 0, 0, 9, 1], Some("lab"), false, 100);
        assert_eq!(
            args,
            [
                "add",
                "00:01:00:01:2c:4a:1b:03:02:66:00:00:00:02",
                "fd00::103",
                "pc6"
            ]
        );
        let get = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("DNSMASQ_IAID"), Some("9"));
        assert_eq!(get("DNSMASQ_SERVER_DUID"), Some("00:02:00:00:00:09:01"));
        assert_eq!(get("DNSMASQ_MAC"), Some("02:66:00:00:00:02"));
        assert_eq!(get("DNSMASQ_LEASE_EXPIRES"), Some("3700"));
        assert_eq!(get("DNSMASQ_TIME_REMAINING"), Some("3600"));
        assert_eq!(get("DNSMASQ_INTERFACE"), Some("rmq6s"));
        assert_eq!(get("DNSMASQ_SUPPLIED_HOSTNAME"), Some("pc6"));
        assert_eq!(get("DNSMASQ_DOMAIN"), Some("lab"));
        assert_eq!(get("DNSMASQ_TAGS"), Some("v6 known"));
        // Released: del; expired: del.
        out.clear();
        told.apply(&[Change6::Remove(new.addr)], None, &mut out);
        told.expire(5000, &mut out);
        let dels: Vec<_> = out.iter().map(|e| (e.action, e.lease.addr)).collect();
        assert_eq!(
            dels,
            [
                (ScriptAction::Del, new.addr),
                (ScriptAction::Del, stored[0].addr)
            ]
        );
        // A temporary address's IAID is T-prefixed.
        let mut t = lease("fd00::104", 3, None, 0);
        t.temporary = true;
        let (args, env) = command6(&event(ScriptAction::Add, t, None), &[0], None, true, 1);
        assert_eq!(args.len(), 3, "no name, no fourth argument");
        assert!(env.contains(&("DNSMASQ_IAID", "T3".into())));
        assert!(env.contains(&("DNSMASQ_TIME_REMAINING", "0".into())));
        assert!(env.contains(&("DNSMASQ_LOG_DHCP", "1".into())));
    }

    #[test]
    fn renamed_and_renewal_events() {
        let (mut told, _) = Leases6Told::start(&[], true, 0);
        let mut out = Vec::new();
        let l = lease("fd00::1", 1, Some("x"), 100);
        told.apply(&[Change6::Upsert(l.clone())], None, &mut out);
        let renewed = Lease6 {
            expires: 200,
            hostname: None,
            ..l.clone()
        };
        told.apply(&[Change6::Upsert(renewed)], None, &mut out);
        assert_eq!(out[1].action, ScriptAction::Old);
        assert_eq!(out[1].old_hostname.as_deref(), Some("x"));
        // Another client on the same address: del then add.
        let other = Lease6 {
            iaid: 2,
            ..l.clone()
        };
        out.clear();
        told.apply(&[Change6::Upsert(other)], None, &mut out);
        let a: Vec<_> = out.iter().map(|e| e.action).collect();
        assert_eq!(a, [ScriptAction::Del, ScriptAction::Add]);
        out.clear();
        told.all_old(&mut out);
        assert_eq!(out.len(), 1);
    }
}
