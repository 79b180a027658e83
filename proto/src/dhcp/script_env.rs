//! The `DNSMASQ_*` environment of a `--dhcp-script` run, the parts DHCPv4 and DHCPv6 events
//! share: expiry, event flags, and what the request behind an event told (interface, supplied
//! name, user and vendor classes, requested options, relay, tags). Each family adds its own
//! variables between these calls, in the order dnsmasq sets them.

use std::fmt::{Display, Write as _};

/// `DNSMASQ_USER_CLASS0`.. (as many as the script is given).
const USER_CLASS: [&str; 8] = [
    "DNSMASQ_USER_CLASS0",
    "DNSMASQ_USER_CLASS1",
    "DNSMASQ_USER_CLASS2",
    "DNSMASQ_USER_CLASS3",
    "DNSMASQ_USER_CLASS4",
    "DNSMASQ_USER_CLASS5",
    "DNSMASQ_USER_CLASS6",
    "DNSMASQ_USER_CLASS7",
];

/// `DNSMASQ_VENDOR_CLASS0`.. (DHCPv6; as many as the script is given).
const VENDOR_CLASS: [&str; 8] = [
    "DNSMASQ_VENDOR_CLASS0",
    "DNSMASQ_VENDOR_CLASS1",
    "DNSMASQ_VENDOR_CLASS2",
    "DNSMASQ_VENDOR_CLASS3",
    "DNSMASQ_VENDOR_CLASS4",
    "DNSMASQ_VENDOR_CLASS5",
    "DNSMASQ_VENDOR_CLASS6",
    "DNSMASQ_VENDOR_CLASS7",
];

/// Colon-separated lowercase hex, as dnsmasq writes MACs, client ids and DUIDs.
pub fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 3);
    for (i, x) in b.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// A script run's environment being built, in order.
#[derive(Debug, Default)]
pub struct ScriptEnv(pub Vec<(&'static str, String)>);

impl ScriptEnv {
    /// Adds one variable.
    pub fn push(&mut self, name: &'static str, value: String) {
        self.0.push((name, value));
    }

    /// `DNSMASQ_LEASE_EXPIRES` and `DNSMASQ_TIME_REMAINING` (0 for an infinite lease).
    pub fn expiry(&mut self, expires: u64, wall: u64) {
        self.push("DNSMASQ_LEASE_EXPIRES", expires.to_string());
        let remaining = if expires == 0 {
            0
        } else {
            expires.saturating_sub(wall)
        };
        self.push("DNSMASQ_TIME_REMAINING", remaining.to_string());
    }

    /// `DNSMASQ_OLD_HOSTNAME` (a change removed the name), `DNSMASQ_DATA_MISSING` (an event
    /// made at start from stored leases) and `DNSMASQ_LOG_DHCP` (`--log-dhcp`).
    pub fn event(&mut self, old_hostname: Option<&String>, data_missing: bool, log_dhcp: bool) {
        if let Some(h) = old_hostname {
            self.push("DNSMASQ_OLD_HOSTNAME", h.clone());
        }
        if data_missing {
            self.push("DNSMASQ_DATA_MISSING", "1".to_owned());
        }
        if log_dhcp {
            self.push("DNSMASQ_LOG_DHCP", "1".to_owned());
        }
    }

    /// `DNSMASQ_INTERFACE` the request came in on and `DNSMASQ_SUPPLIED_HOSTNAME`.
    pub fn request(&mut self, interface: &str, supplied_hostname: Option<&String>) {
        self.push("DNSMASQ_INTERFACE", interface.to_owned());
        if let Some(h) = supplied_hostname {
            self.push("DNSMASQ_SUPPLIED_HOSTNAME", h.clone());
        }
    }

    /// `DNSMASQ_USER_CLASS0`.. (the first eight).
    pub fn user_classes(&mut self, classes: &[String]) {
        for (name, v) in USER_CLASS.iter().zip(classes) {
            self.push(name, v.clone());
        }
    }

    /// `DNSMASQ_VENDOR_CLASS0`.. (the first eight).
    pub fn vendor_classes(&mut self, classes: &[String]) {
        for (name, v) in VENDOR_CLASS.iter().zip(classes) {
            self.push(name, v.clone());
        }
    }

    /// `DNSMASQ_REQUESTED_OPTIONS` (comma-separated codes), `DNSMASQ_RELAY_ADDRESS`.
    pub fn requested_and_relay<C: Display>(&mut self, codes: &[C], relay: Option<impl Display>) {
        if !codes.is_empty() {
            let codes: Vec<String> = codes.iter().map(C::to_string).collect();
            self.push("DNSMASQ_REQUESTED_OPTIONS", codes.join(","));
        }
        if let Some(a) = relay {
            self.push("DNSMASQ_RELAY_ADDRESS", a.to_string());
        }
    }

    /// `DNSMASQ_TAGS` (space-separated), when there are any.
    pub fn tags(&mut self, tags: &[String]) {
        if !tags.is_empty() {
            self.push("DNSMASQ_TAGS", tags.join(" "));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_variables_in_order() {
        let mut e = ScriptEnv::default();
        e.expiry(1_000, 400);
        e.event(Some(&"old".to_owned()), true, false);
        e.request("eth0", None);
        let classes: Vec<String> = (0..10).map(|i| format!("c{i}")).collect();
        e.user_classes(&classes);
        e.requested_and_relay(&[1u8, 3, 6], Some("10.0.0.1"));
        e.tags(&["a".to_owned(), "b".to_owned()]);
        let names: Vec<&str> = e.0.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            &names[..5],
            [
                "DNSMASQ_LEASE_EXPIRES",
                "DNSMASQ_TIME_REMAINING",
                "DNSMASQ_OLD_HOSTNAME",
                "DNSMASQ_DATA_MISSING",
                "DNSMASQ_INTERFACE",
            ]
        );
        assert_eq!(e.0[1].1, "600");
        // Eight user classes at most.
        assert_eq!(names[5..].len(), 8 + 3);
        assert_eq!(e.0[12], ("DNSMASQ_USER_CLASS7", "c7".to_owned()));
        assert_eq!(e.0[13], ("DNSMASQ_REQUESTED_OPTIONS", "1,3,6".to_owned()));
        assert_eq!(e.0[15], ("DNSMASQ_TAGS", "a b".to_owned()));
        // An infinite lease has no time remaining.
        let mut e = ScriptEnv::default();
        e.expiry(0, 400);
        assert_eq!(e.0[1].1, "0");
        assert_eq!(hex(&[0x00, 0xab, 0x5]), "00:ab:05");
    }
}
