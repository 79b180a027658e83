//! `--selfmx` and `--localmx` (dnsmasq): an MX record for every local machine — a name of the
//! hosts files or of the DHCP leases — pointing to the machine itself (`--selfmx`) or to one
//! mail host (`--localmx`: the `--mx-target`, else this server's host name). Preference 1, TTL
//! `--local-ttl`, as dnsmasq 2.90 answers. An `--mx-host` record of the same name comes first:
//! the forwarder asks here only when the local records did not answer.

use super::authoritative::write_reply_with;
use super::hosts::{PTR_TO_QNAME, RR_FIXED, write_rr};
use super::packet::Query;

/// RR type MX, RFC 1035 §3.3.9.
pub const TYPE_MX: u16 = 15;
/// Class IN, RFC 1035 §3.2.4.
pub const CLASS_IN: u16 = 1;
/// The preference of every synthesised MX record.
const PREFERENCE: u16 = 1;

/// Where the synthesised MX records point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LocalMx {
    /// `--selfmx`: each machine is its own mail exchange.
    SelfName,
    /// `--localmx`: every machine's mail goes to this host (uncompressed wire form).
    Target(Vec<u8>),
}

impl LocalMx {
    /// Writes the reply to an MX question for a local machine's name: one record, owned by the
    /// question name as the client wrote it. Returns the reply length (0 if `out` cannot hold
    /// even the header); over UDP an answer that does not fit goes out with TC=1.
    pub fn write_reply(
        &self,
        q: &Query<'_>,
        ttl: u32,
        our_udp_size: u16,
        udp: bool,
        out: &mut [u8],
    ) -> Option<usize> {
        // The exchange: the question name itself (a compression pointer, allowed in MX RDATA,
        // RFC 3597 §4) or the target.
        let exchange: &[u8] = match self {
            LocalMx::SelfName => &PTR_TO_QNAME,
            LocalMx::Target(wire) => wire,
        };
        let mut rdata = [0u8; 2 + 255];
        rdata[..2].copy_from_slice(&PREFERENCE.to_be_bytes());
        rdata[2..2 + exchange.len()].copy_from_slice(exchange);
        let rdata = &rdata[..2 + exchange.len()];
        write_reply_with(
            q,
            our_udp_size,
            udp,
            out,
            RR_FIXED + rdata.len(),
            1,
            |buf| {
                write_rr(buf, 0, TYPE_MX, ttl.to_be_bytes(), rdata);
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::local::wire_name;
    use crate::dns::packet::parse_query;
    use hickory_proto::op::Message;
    use hickory_proto::rr::{RData, RecordType};

    /// An MX query in the form dig sends it (ID 0x1c2b, RD, an OPT RR with payload 1232):
    /// header, question, OPT.
    fn query(name: &str) -> Vec<u8> {
        let mut q = vec![0x1c, 0x2b, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1];
        q.extend(wire_name(name).unwrap());
        q.extend([0, 15, 0, 1]);
        q.extend([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
        q
    }

    fn answer(mx: &LocalMx, name: &str, ttl: u32) -> (Message, usize) {
        let bytes = query(name);
        let q = parse_query(&bytes).unwrap();
        let mut out = [0u8; 512];
        let len = mx.write_reply(&q, ttl, 1232, true, &mut out).unwrap();
        (Message::from_vec(&out[..len]).unwrap(), len)
    }

    #[test]
    fn selfmx_points_each_machine_to_itself() {
        let (m, _) = answer(&LocalMx::SelfName, "printer.lab.test", 7);
        assert_eq!(m.metadata.id, 0x1c2b);
        assert!(m.metadata.authoritative);
        assert_eq!(m.answers.len(), 1);
        let rr = &m.answers[0];
        assert_eq!(rr.record_type(), RecordType::MX);
        assert_eq!(rr.ttl, 7);
        assert_eq!(rr.name.to_string(), "printer.lab.test.");
        let RData::MX(mx) = &rr.data else {
            panic!("{rr:?}")
        };
        assert_eq!(mx.preference, 1);
        assert_eq!(mx.exchange.to_string(), "printer.lab.test.");
        assert!(m.edns.is_some(), "the OPT RR is echoed");
    }

    #[test]
    fn localmx_points_every_machine_to_the_target() {
        let target = LocalMx::Target(wire_name("mail.lab.test").unwrap());
        let (m, len) = answer(&target, "six.lab.test", 0);
        let RData::MX(mx) = &m.answers[0].data else {
            panic!("{m:?}")
        };
        assert_eq!(
            (mx.preference, mx.exchange.to_string()),
            (1, "mail.lab.test.".to_string())
        );
        // Header, question, one record with an uncompressed exchange, OPT.
        let question = 14 + 4;
        assert_eq!(len, 12 + question + RR_FIXED + 2 + 15 + 11);
    }

    #[test]
    fn an_answer_that_does_not_fit_is_truncated() {
        let bytes = query("printer.lab.test");
        let q = parse_query(&bytes).unwrap();
        let target = LocalMx::Target(wire_name("mail.lab.test").unwrap());
        // Room for header, question and OPT only.
        let mut out = [0u8; 12 + 18 + 4 + 11 + 5];
        let len = target.write_reply(&q, 0, 1232, true, &mut out).unwrap();
        let m = Message::from_vec(&out[..len]).unwrap();
        assert!(m.metadata.truncation);
        assert!(m.answers.is_empty());
    }
}
