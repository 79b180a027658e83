//! A client's host name: its `dhcp-host` name, else the name it sent (option 81, RFC 4702, or
//! option 12, RFC 2132 §3.14) unless `--dhcp-ignore-names` applies, else one made from its MAC
//! address under `--dhcp-generate-names`; and the option 81 the server answers with.

use std::borrow::Cow;

use super::packet::{OptionTable, code};
use super::server::{Ctx, Server};
use super::writer::ReplyWriter;

/// Option 81 flags (RFC 4702 §2.1).
mod fqdn_flag {
    /// S: the server performs the A RR update.
    pub const S: u8 = 0x01;
    /// O: the server overrode the client's S bit.
    pub const O: u8 = 0x02;
    /// E: the name is in canonical wire format (RFC 1035 §3.1).
    pub const E: u8 = 0x04;
    /// N: the server performs no DNS updates.
    pub const N: u8 = 0x08;
}

/// A host name label: letters, digits and inner hyphens, 1 to 63 bytes (RFC 1123 §2.1).
pub fn valid_label(n: &[u8]) -> bool {
    !n.is_empty()
        && n.len() <= 63
        && n.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && n[0] != b'-'
        && n[n.len() - 1] != b'-'
}

/// The first label of the name in an option 81 value: wire format when the E flag is set
/// (RFC 4702 §2.3.1), else ASCII (deprecated, §2.3.2).
fn fqdn_label(v: &[u8]) -> Option<&[u8]> {
    let (&flags, rest) = v.split_first()?;
    let name = rest.get(2..)?;
    if flags & fqdn_flag::E != 0 {
        let len = usize::from(*name.first()?);
        name.get(1..1 + len)
    } else {
        name.split(|b| *b == b'.').next()
    }
}

/// The name the client sent, up to its first dot: option 81 first, then option 12.
pub fn client_name(opts: &OptionTable) -> Option<&[u8]> {
    let from_fqdn = opts.get(code::CLIENT_FQDN).and_then(fqdn_label);
    let from_12 = || {
        let n = opts.get(code::HOSTNAME)?;
        let n = n.split(|b| *b == b'.').next().unwrap_or(&[]);
        Some(n.strip_suffix(&[0]).unwrap_or(n))
    };
    from_fqdn
        .filter(|n| !n.is_empty())
        .or_else(from_12)
        .filter(|n| valid_label(n))
}

/// `--dhcp-generate-names`: the MAC address in hex, bytes separated by dashes.
pub fn generated_name(chaddr: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(chaddr.len() * 3);
    for (i, b) in chaddr.iter().enumerate() {
        if i > 0 {
            out.push(b'-');
        }
        out.extend_from_slice(format!("{b:02x}").as_bytes());
    }
    out
}

impl Server {
    /// The client's host name (see the module documentation), if it has one.
    pub(super) fn hostname<'a>(
        &'a self,
        ctx: &Ctx<'_>,
        opts: &'a OptionTable,
    ) -> Option<Cow<'a, [u8]>> {
        if let Some(n) = ctx.host.and_then(|h| self.hosts[h].name.as_deref()) {
            return Some(Cow::Borrowed(n));
        }
        if !self.ignore_names.iter().any(|c| c.holds(&ctx.tags))
            && let Some(n) = client_name(opts)
        {
            return Some(Cow::Borrowed(n));
        }
        self.generate_names
            .iter()
            .any(|c| c.holds(&ctx.tags))
            .then(|| Cow::Owned(generated_name(ctx.req.chaddr)))
    }

    /// Option 81 in a reply to a client that sent one (RFC 4702 §4). By default the server
    /// tells the client not to update DNS itself (N set, S clear, O set when the client asked
    /// the server to update): the lease name is already in this server's DNS. With
    /// `--dhcp-client-update` the client's wish stands (S as sent, N and O clear). RCODE1 and
    /// RCODE2 are 255 (§3.1); the name is the client's name qualified with `--domain`, in the
    /// encoding the client used.
    pub(super) fn write_fqdn(
        &self,
        ctx: &Ctx<'_>,
        opts: &OptionTable,
        sub: &mut Vec<u8>,
        w: &mut ReplyWriter<'_>,
    ) {
        let Some(&sent) = opts.get(code::CLIENT_FQDN).and_then(|v| v.first()) else {
            return;
        };
        let wire = sent & fqdn_flag::E != 0;
        let mut flags = sent & fqdn_flag::E;
        if self.cfg.client_update {
            flags |= sent & fqdn_flag::S;
        } else {
            flags |= fqdn_flag::N;
            if sent & fqdn_flag::S != 0 {
                flags |= fqdn_flag::O;
            }
        }
        sub.clear();
        sub.extend_from_slice(&[flags, 255, 255]);
        if let Some(name) = self.hostname(ctx, opts) {
            let domain = self.cfg.domain.as_deref().filter(|d| !d.is_empty());
            if wire {
                sub.push(name.len() as u8);
                sub.extend_from_slice(&name);
                for label in domain.into_iter().flat_map(|d| d.split('.')) {
                    if !label.is_empty() && label.len() <= 63 {
                        sub.push(label.len() as u8);
                        sub.extend_from_slice(label.as_bytes());
                    }
                }
                sub.push(0);
            } else {
                sub.extend_from_slice(&name);
                if let Some(d) = domain {
                    sub.push(b'.');
                    sub.extend_from_slice(d.as_bytes());
                }
            }
        }
        w.option(code::CLIENT_FQDN, sub);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_generated_names() {
        assert_eq!(
            fqdn_label(&[0x04, 0, 0, 3, b'p', b'c', b'1', 0]),
            Some(&b"pc1"[..])
        );
        assert_eq!(
            fqdn_label(&[0x00, 0, 0, b'p', b'c', b'.', b'x']),
            Some(&b"pc"[..])
        );
        assert_eq!(fqdn_label(&[0x04, 0]), None);
        assert_eq!(
            generated_name(&[0x52, 0x54, 0, 0xab, 1, 2]),
            b"52-54-00-ab-01-02"
        );
        assert!(valid_label(b"a-1") && !valid_label(b"-a") && !valid_label(b"a_b"));
    }
}
