//! Invariants checked by the `dhcp_tools` fuzz target and the stable corpus replay: the parsers
//! of the lease-change script environment and of the lease-time and release tools never panic,
//! and a lease-time query the server recognises always gets an answer the tool can read.

use std::net::{Ipv4Addr, SocketAddrV4};

use super::{lease_time, release, script};

/// Runs every check on `data`.
pub fn check_tool_packets(data: &[u8]) {
    let _ = script::RequestInfo::from_request(data, "fuzz0");
    let lo = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 4000);
    if let Some(addr) = lease_time::local_query(lo, data) {
        assert!(!addr.is_unspecified());
        let xid = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
        let mut out = [0u8; 600];
        let wall = 1_000_000;
        let n = lease_time::answer(data, Some(wall + 60), wall, &mut out);
        assert_eq!(
            lease_time::parse_answer(&out[..n], xid),
            Some(lease_time::LeaseTime::Remaining(60))
        );
    }
    if data.len() >= 8 {
        let xid = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
        let _ = lease_time::parse_answer(data, xid);
    }
    let text = String::from_utf8_lossy(data);
    if let Ok((htype, mac)) = release::parse_mac(&text) {
        let p = release::packet(
            Ipv4Addr::new(10, 0, 0, 1),
            htype,
            &mac,
            None,
            lo.ip().to_owned(),
            1,
        );
        assert!(p.len() >= 240);
    }
    let _ = release::parse_client_id(Some(&text));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..700)) {
            check_tool_packets(&data);
        }

        #[test]
        fn query_round_trip(addr in 1u32.., xid in any::<u32>(), left in 0u32..u32::MAX) {
            let q = lease_time::query(Ipv4Addr::from(addr), xid);
            check_tool_packets(&q);
            let lo = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 4000);
            prop_assert_eq!(lease_time::local_query(lo, &q), Some(Ipv4Addr::from(addr)));
            let mut out = [0u8; 600];
            let n = lease_time::answer(&q, Some(u64::from(left) + 10), 10, &mut out);
            let want = lease_time::LeaseTime::Remaining(left);
            prop_assert_eq!(lease_time::parse_answer(&out[..n], xid), Some(want));
        }
    }
}
