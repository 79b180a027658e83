//! Invariants the `dhcp_options` fuzz target checks, shared with the stable corpus replay
//! (`proto/tests/fuzz_corpus.rs`): the DHCPv4 option decoder (RFC 2132 option overload into
//! `file`/`sname`, RFC 3396 split options joined, option 82 sub-options) and its round trip
//! through the reply encoder.

use std::net::Ipv4Addr;

use super::matching::sub_option;
use super::packet::{MAX_REQUEST, OptionTable, code, parse};
use super::writer::{ReplyHeader, ReplyWriter};

/// Sub-options of option 82 the server reads (RFC 3046 §3: circuit-id, remote-id; RFC 3993:
/// subscriber-id; RFC 4030: authentication; RFC 3527: link selection).
const AGENT_SUBS: [u8; 5] = [1, 2, 5, 6, 8];

/// Decodes `data` as a BOOTREQUEST; when it is accepted, every option is written again with
/// the reply encoder (which splits long values, RFC 3396, and overloads `file`/`sname`), and
/// the encoded packet decodes to the same value for each option the encoder took. Panics on a
/// broken invariant.
pub fn check_options(data: &[u8]) {
    let mut t = OptionTable::default();
    let Ok(req) = parse(data, &mut t) else {
        return;
    };
    if let Some(agent) = t.get(code::RELAY_AGENT) {
        for s in AGENT_SUBS {
            if let Some(v) = sub_option(agent, s) {
                assert!(v.len() < agent.len());
            }
        }
    }
    let h = ReplyHeader {
        htype: req.htype,
        chaddr: req.chaddr,
        xid: req.xid,
        broadcast: req.broadcast,
        ciaddr: req.ciaddr,
        yiaddr: Ipv4Addr::UNSPECIFIED,
        siaddr: Ipv4Addr::UNSPECIFIED,
        giaddr: req.giaddr,
    };
    let mut buf = vec![0u8; MAX_REQUEST];
    let Some(mut w) = ReplyWriter::new(&mut buf, MAX_REQUEST, &h) else {
        return;
    };
    let mut written = Vec::new();
    for c in 1..code::END {
        if c == code::OVERLOAD {
            continue;
        }
        if let Some(v) = t.get(c) {
            written.push((c, v.to_vec(), w.option(c, v)));
        }
    }
    let n = w.finish();
    let mut again = buf[..n].to_vec();
    again[0] = 1;
    let mut t2 = OptionTable::default();
    let r2 = parse(&again, &mut t2).expect("re-encoded options decode");
    assert_eq!(r2.xid, req.xid);
    assert_eq!(r2.chaddr, req.chaddr);
    for (c, v, ok) in written {
        if ok {
            assert_eq!(t2.get(c), Some(&v[..]), "option {c}");
        }
    }
}
