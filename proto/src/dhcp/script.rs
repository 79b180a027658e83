//! Lease-change script events (`--dhcp-script`), sans-IO: which of `add`, `old` and `del` a
//! lease change means, and the arguments and `DNSMASQ_*` environment the script is run with.
//!
//! The engine feeds [`LeaseEvents`] the same journal bytes it makes durable, so every script
//! call follows a durable change, in the order the changes were made. [`LeaseEvents`] keeps its
//! own copy of the leases (address → lease) to tell a new lease (`add`) from a changed one
//! (`old`) and to give `del` the removed lease's MAC address and name.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use super::journal::{self, Record};
use super::lease::Lease;
use super::packet::{self, OptionTable, code};
use super::script_env::{ScriptEnv, hex};

/// The first argument given to the script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptAction {
    /// A lease was created.
    Add,
    /// An existing lease: at start, on SIGHUP, or when its MAC address or name changed (and its
    /// expiry with `--script-on-renewal`; its client id and length too with `--leasefile-ro`).
    Old,
    /// A lease was released, declined, expired or taken over by another client.
    Del,
}

impl ScriptAction {
    /// The word passed as the first argument.
    pub fn as_str(self) -> &'static str {
        match self {
            ScriptAction::Add => "add",
            ScriptAction::Old => "old",
            ScriptAction::Del => "del",
        }
    }
}

/// What the request that caused a change said about the client (not kept in the lease file, so
/// only present for changes made by a request).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// The interface the request arrived on.
    pub interface: String,
    /// Option 12, as the client sent it.
    pub supplied_hostname: Option<String>,
    /// Option 61.
    pub client_id: Option<Vec<u8>>,
    /// Option 60.
    pub vendor_class: Option<String>,
    /// Option 77 (RFC 3004): each user class.
    pub user_classes: Vec<String>,
    /// Option 55, the codes in order.
    pub requested_options: Vec<u8>,
    /// `giaddr` when relayed.
    pub relay: Option<Ipv4Addr>,
    /// Option 82 sub-options 1 (circuit id), 2 (remote id), 6 (subscriber id).
    pub circuit_id: Option<Vec<u8>>,
    /// Option 82 sub-option 2.
    pub remote_id: Option<Vec<u8>>,
    /// Option 82 sub-option 6.
    pub subscriber_id: Option<Vec<u8>>,
    /// Tags set during the exchange.
    pub tags: Vec<String>,
}

impl RequestInfo {
    /// Reads what the script is told from a request received on `interface`; `None` when the
    /// bytes are not a request the server would have parsed.
    pub fn from_request(bytes: &[u8], interface: &str) -> Option<RequestInfo> {
        let mut opts = OptionTable::default();
        let req = packet::parse(bytes, &mut opts).ok()?;
        let text = |c: u8| opts.get(c).map(|v| String::from_utf8_lossy(v).into_owned());
        // RFC 3004 §4: a sequence of (length, data) user classes.
        let mut user_classes = Vec::new();
        let mut uc = opts.get(77).unwrap_or(&[]);
        while let Some((&n, rest)) = uc.split_first() {
            let Some(v) = rest.get(..usize::from(n)) else {
                break;
            };
            user_classes.push(String::from_utf8_lossy(v).into_owned());
            uc = &rest[usize::from(n)..];
        }
        // RFC 3046 §2.0: option 82 is a sequence of (sub-option, length, data).
        let (mut circuit_id, mut remote_id, mut subscriber_id) = (None, None, None);
        let mut ra = opts.get(code::RELAY_AGENT).unwrap_or(&[]);
        while let [sub, n, rest @ ..] = ra {
            let Some(v) = rest.get(..usize::from(*n)) else {
                break;
            };
            match sub {
                1 => circuit_id = Some(v.to_vec()),
                2 => remote_id = Some(v.to_vec()),
                6 => subscriber_id = Some(v.to_vec()),
                _ => {}
            }
            ra = &rest[usize::from(*n)..];
        }
        Some(RequestInfo {
            interface: interface.to_owned(),
            supplied_hostname: text(code::HOSTNAME),
            client_id: opts.get(code::CLIENT_ID).map(<[u8]>::to_vec),
            vendor_class: text(code::VENDOR_CLASS),
            user_classes,
            requested_options: opts
                .get(code::PARAM_REQUEST)
                .map(<[u8]>::to_vec)
                .unwrap_or_default(),
            relay: (req.giaddr != Ipv4Addr::UNSPECIFIED).then_some(req.giaddr),
            circuit_id,
            remote_id,
            subscriber_id,
            tags: Vec::new(),
        })
    }
}

/// One script call to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptEvent {
    /// `add`, `old` or `del`.
    pub action: ScriptAction,
    /// The lease (for `del`, as it was).
    pub lease: Lease,
    /// The name the lease had, when a change removed it.
    pub old_hostname: Option<String>,
    /// The request behind the change, if one caused it.
    pub request: Option<RequestInfo>,
    /// An `old` event made at start from stored leases (`DNSMASQ_DATA_MISSING=1`).
    pub data_missing: bool,
}

/// Which changes of an existing lease are reported as `old`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OldOn {
    /// `--script-on-renewal`: a new expiry time.
    pub renewal: bool,
    /// `--leasefile-ro`: a new expiry time or client id (the script is the lease store).
    pub lease_file_ro: bool,
}

/// The leases as the script has been told about them.
#[derive(Debug, Default)]
pub struct LeaseEvents {
    leases: HashMap<Ipv4Addr, Lease>,
    old_on: OldOn,
}

fn same_client(a: &Lease, b: &Lease) -> bool {
    a.htype == b.htype && a.hwaddr == b.hwaddr && a.client_id == b.client_id
}

impl LeaseEvents {
    /// Starts from the stored leases: `old` for each live one, `del` for each expired one
    /// (as dnsmasq does at start).
    pub fn start(leases: &[Lease], old_on: OldOn, wall: u64) -> (LeaseEvents, Vec<ScriptEvent>) {
        let mut me = LeaseEvents {
            leases: HashMap::with_capacity(leases.len()),
            old_on,
        };
        let mut out = Vec::with_capacity(leases.len());
        for l in leases {
            let expired = l.expired(wall);
            out.push(ScriptEvent {
                action: if expired {
                    ScriptAction::Del
                } else {
                    ScriptAction::Old
                },
                lease: l.clone(),
                old_hostname: None,
                request: None,
                data_missing: true,
            });
            if !expired {
                me.leases.insert(l.addr, l.clone());
            }
        }
        (me, out)
    }

    /// The events for the journal records of one request (in order); `request` describes it.
    pub fn apply(
        &mut self,
        records: &[u8],
        request: Option<&RequestInfo>,
        out: &mut Vec<ScriptEvent>,
    ) {
        let mut at = 0;
        while let Ok((rec, n)) = journal::decode(&records[at..]) {
            at += n;
            match rec {
                Record::Upsert(l) => self.upsert(l, request, out),
                Record::Remove(a) => {
                    if let Some(old) = self.leases.remove(&a) {
                        out.push(event(ScriptAction::Del, old, None, request));
                    }
                }
                // Only written by compaction, never by a request.
                Record::Reset | Record::Line6(_) | Record::Remove6(_) => {}
            }
        }
    }

    fn upsert(&mut self, l: Lease, request: Option<&RequestInfo>, out: &mut Vec<ScriptEvent>) {
        match self.leases.get(&l.addr) {
            Some(old) if same_client(old, &l) || self.same_but_clid(old, &l) => {
                let renamed = old.hostname != l.hostname;
                let changed = renamed
                    || old.hwaddr != l.hwaddr
                    || (self.old_on.lease_file_ro && old.client_id != l.client_id)
                    || ((self.old_on.renewal || self.old_on.lease_file_ro)
                        && old.expires != l.expires);
                if changed {
                    let old_hostname = if renamed && l.hostname.is_none() {
                        old.hostname.clone()
                    } else {
                        None
                    };
                    out.push(event(ScriptAction::Old, l.clone(), old_hostname, request));
                }
            }
            Some(old) => {
                out.push(event(ScriptAction::Del, old.clone(), None, None));
                out.push(event(ScriptAction::Add, l.clone(), None, request));
            }
            None => out.push(event(ScriptAction::Add, l.clone(), None, request)),
        }
        self.leases.insert(l.addr, l);
    }

    /// The same hardware address whose client id changed (a change of an existing lease).
    fn same_but_clid(&self, old: &Lease, new: &Lease) -> bool {
        old.htype == new.htype && old.hwaddr == new.hwaddr
    }

    /// `del` for every lease that expired by `wall`.
    pub fn expire(&mut self, wall: u64, out: &mut Vec<ScriptEvent>) {
        let gone: Vec<Ipv4Addr> = self
            .leases
            .values()
            .filter(|l| l.expired(wall))
            .map(|l| l.addr)
            .collect();
        for a in gone {
            if let Some(l) = self.leases.remove(&a) {
                out.push(event(ScriptAction::Del, l, None, None));
            }
        }
    }

    /// `old` for every lease (SIGHUP), by address.
    pub fn all_old(&self, out: &mut Vec<ScriptEvent>) {
        let mut all: Vec<&Lease> = self.leases.values().collect();
        all.sort_by_key(|l| l.addr);
        out.extend(
            all.into_iter()
                .map(|l| event(ScriptAction::Old, l.clone(), None, None)),
        );
    }

    /// How many leases the script knows of.
    pub fn len(&self) -> usize {
        self.leases.len()
    }

    /// Whether the script knows of no lease.
    pub fn is_empty(&self) -> bool {
        self.leases.is_empty()
    }
}

fn event(
    action: ScriptAction,
    lease: Lease,
    old_hostname: Option<String>,
    request: Option<&RequestInfo>,
) -> ScriptEvent {
    ScriptEvent {
        action,
        lease,
        old_hostname,
        request: request.cloned(),
        data_missing: false,
    }
}

/// The MAC address argument: `aa:bb:...`, with `TT-` prepended for a hardware type other than
/// Ethernet, as in the lease file.
pub fn mac_text(l: &Lease) -> String {
    if l.htype == 1 && !l.hwaddr.is_empty() {
        hex(&l.hwaddr)
    } else {
        format!("{:02x}-{}", l.htype, hex(&l.hwaddr))
    }
}

/// Everything about the server the environment needs.
#[derive(Clone, Debug, Default)]
pub struct ScriptContext<'a> {
    /// `--domain`, for `DNSMASQ_DOMAIN` when the lease has a name.
    pub domain: Option<&'a str>,
    /// `--log-dhcp` (`DNSMASQ_LOG_DHCP=1`).
    pub log_dhcp: bool,
}

/// The arguments (after the program) and the `DNSMASQ_*` environment for `ev` at `wall`.
pub fn command(
    ev: &ScriptEvent,
    ctx: &ScriptContext<'_>,
    wall: u64,
) -> (Vec<String>, Vec<(&'static str, String)>) {
    let l = &ev.lease;
    let mut args = vec![
        ev.action.as_str().to_owned(),
        mac_text(l),
        l.addr.to_string(),
    ];
    if let Some(h) = &l.hostname {
        args.push(h.clone());
    }
    let mut env = ScriptEnv::default();
    env.expiry(l.expires, wall);
    if let (Some(d), Some(_)) = (ctx.domain, &l.hostname) {
        env.push("DNSMASQ_DOMAIN", d.to_owned());
    }
    if let Some(c) = &l.client_id {
        env.push("DNSMASQ_CLIENT_ID", hex(c));
    }
    env.event(ev.old_hostname.as_ref(), ev.data_missing, ctx.log_dhcp);
    if let Some(r) = &ev.request {
        env.request(&r.interface, r.supplied_hostname.as_ref());
        if l.client_id.is_none()
            && let Some(c) = &r.client_id
        {
            env.push("DNSMASQ_CLIENT_ID", hex(c));
        }
        if let Some(v) = &r.vendor_class {
            env.push("DNSMASQ_VENDOR_CLASS", v.clone());
        }
        env.user_classes(&r.user_classes);
        env.requested_and_relay(&r.requested_options, r.relay);
        for (name, v) in [
            ("DNSMASQ_CIRCUIT_ID", &r.circuit_id),
            ("DNSMASQ_REMOTE_ID", &r.remote_id),
            ("DNSMASQ_SUBSCRIBER_ID", &r.subscriber_id),
        ] {
            if let Some(v) = v {
                env.push(name, hex(v));
            }
        }
        env.tags(&r.tags);
    }
    (args, env.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(last: u8, name: Option<&str>, expires: u64) -> Lease {
        Lease {
            expires,
            htype: 1,
            hwaddr: vec![2, 0, 0, 0, 0, last],
            addr: Ipv4Addr::new(10, 0, 0, last),
            hostname: name.map(str::to_owned),
            client_id: None,
        }
    }

    fn upsert(l: &Lease) -> Vec<u8> {
        let mut v = Vec::new();
        journal::encode_upsert(&l.as_ref(), &mut v);
        v
    }

    fn actions(ev: &[ScriptEvent]) -> Vec<(&'static str, Ipv4Addr)> {
        ev.iter()
            .map(|e| (e.action.as_str(), e.lease.addr))
            .collect()
    }

    #[test]
    fn add_renew_rename_release() {
        let (mut m, start) = LeaseEvents::start(
            &[lease(1, None, 100), lease(2, Some("b"), 5000)],
            OldOn::default(),
            1000,
        );
        assert_eq!(
            actions(&start),
            [
                ("del", Ipv4Addr::new(10, 0, 0, 1)),
                ("old", Ipv4Addr::new(10, 0, 0, 2))
            ]
        );
        assert!(start.iter().all(|e| e.data_missing));
        let mut out = Vec::new();
        m.apply(&upsert(&lease(3, Some("c"), 5000)), None, &mut out);
        assert_eq!(actions(&out), [("add", Ipv4Addr::new(10, 0, 0, 3))]);
        out.clear();
        // A renewal alone is silent without --script-on-renewal.
        m.apply(&upsert(&lease(3, Some("c"), 6000)), None, &mut out);
        assert!(out.is_empty());
        m.old_on.renewal = true;
        m.apply(&upsert(&lease(3, Some("c"), 7000)), None, &mut out);
        assert_eq!(actions(&out), [("old", Ipv4Addr::new(10, 0, 0, 3))]);
        out.clear();
        // The name removed: old, with the former name.
        m.apply(&upsert(&lease(3, None, 7000)), None, &mut out);
        assert_eq!(out[0].old_hostname.as_deref(), Some("c"));
        out.clear();
        let mut rec = Vec::new();
        journal::encode_remove(Ipv4Addr::new(10, 0, 0, 3), &mut rec);
        m.apply(&rec, None, &mut out);
        assert_eq!(actions(&out), [("del", Ipv4Addr::new(10, 0, 0, 3))]);
        assert_eq!(out[0].lease.hwaddr, [2, 0, 0, 0, 0, 3]);
        out.clear();
        m.expire(6000, &mut out);
        assert_eq!(actions(&out), [("del", Ipv4Addr::new(10, 0, 0, 2))]);
        assert!(m.is_empty());
    }

    #[test]
    fn address_taken_by_another_client_is_del_then_add() {
        let (mut m, _) = LeaseEvents::start(&[lease(1, None, 0)], OldOn::default(), 10);
        let mut other = lease(9, None, 0);
        other.addr = Ipv4Addr::new(10, 0, 0, 1);
        let mut out = Vec::new();
        m.apply(&upsert(&other), None, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].action, ScriptAction::Del);
        assert_eq!(out[0].lease.hwaddr, [2, 0, 0, 0, 0, 1]);
        assert_eq!(out[1].action, ScriptAction::Add);
    }

    /// A real udhcpc REQUEST (captured): hostname, client id, parameter list.
    #[test]
    fn environment_from_real_request() {
        let bytes = packet::tests::request(&[
            53, 1, 3, 61, 7, 1, 2, 0, 0, 0, 0, 7, 12, 4, b'h', b'o', b's', b't', 60, 3, b'v', b'c',
            b'1', 77, 6, 2, b'u', b'1', 2, b'u', b'2', 55, 3, 1, 3, 6, 255,
        ]);
        let r = RequestInfo::from_request(&bytes, "veth0").unwrap();
        let ev = ScriptEvent {
            action: ScriptAction::Add,
            lease: lease(7, Some("host"), 1600),
            old_hostname: None,
            request: Some(r),
            data_missing: false,
        };
        let ctx = ScriptContext {
            domain: Some("lan"),
            log_dhcp: false,
        };
        let (args, env) = command(&ev, &ctx, 1000);
        assert_eq!(args, ["add", "02:00:00:00:00:07", "10.0.0.7", "host"]);
        let get = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("DNSMASQ_TIME_REMAINING"), Some("600"));
        assert_eq!(get("DNSMASQ_LEASE_EXPIRES"), Some("1600"));
        assert_eq!(get("DNSMASQ_DOMAIN"), Some("lan"));
        assert_eq!(get("DNSMASQ_SUPPLIED_HOSTNAME"), Some("host"));
        assert_eq!(get("DNSMASQ_INTERFACE"), Some("veth0"));
        assert_eq!(get("DNSMASQ_CLIENT_ID"), Some("01:02:00:00:00:00:07"));
        assert_eq!(get("DNSMASQ_VENDOR_CLASS"), Some("vc1"));
        assert_eq!(get("DNSMASQ_USER_CLASS0"), Some("u1"));
        assert_eq!(get("DNSMASQ_USER_CLASS1"), Some("u2"));
        assert_eq!(get("DNSMASQ_REQUESTED_OPTIONS"), Some("1,3,6"));
        assert_eq!(get("DNSMASQ_RELAY_ADDRESS"), None);
    }
}
