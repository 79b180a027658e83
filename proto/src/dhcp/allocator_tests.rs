//! Unit tests of the allocator.

use super::*;
use std::sync::Arc;

fn pool() -> Pool {
    Pool {
        start: Ipv4Addr::new(10, 77, 0, 50),
        end: Ipv4Addr::new(10, 77, 0, 150),
    }
}

fn claim<'a>(key: &'a ClientKey, hw: &'a [u8], wall: u64) -> Claim<'a> {
    Claim {
        key,
        htype: 1,
        hw,
        client_id: None,
        wall,
    }
}

#[test]
fn same_address_as_dnsmasq() {
    // dnsmasq 2.90, --dhcp-range=10.77.0.50,10.77.0.150 (captured, testdata/dnsmasq.leases).
    let a = Allocator::new(1000);
    for (mac, want) in [
        ([0x52, 0x54, 0, 0x12, 0x34, 0x56], 107),
        ([0x52, 0x54, 0, 0xab, 0xcd, 0xef], 145),
    ] {
        let k = ClientKey::from_hw(1, &mac);
        let got = a
            .offer(&claim(&k, &mac, 100), pool(), None, false, 60, &|_| false)
            .unwrap();
        assert_eq!(got, Ipv4Addr::new(10, 77, 0, want));
    }
}

#[test]
fn probes_forward_and_skips_reserved() {
    let a = Allocator::new(1000);
    let mac = [0x52, 0x54, 0, 0x12, 0x34, 0x56];
    let k1 = ClientKey::from_hw(1, &mac);
    let k2 = ClientKey::from_client_id(&[1, 2, 3]);
    let x = a
        .offer(&claim(&k1, &mac, 0), pool(), None, false, 60, &|_| false)
        .unwrap();
    let y = a
        .offer(&claim(&k2, &mac, 0), pool(), None, false, 60, &|r| {
            r == Ipv4Addr::new(10, 77, 0, 108)
        })
        .unwrap();
    assert_eq!(x, Ipv4Addr::new(10, 77, 0, 107));
    assert_eq!(y, Ipv4Addr::new(10, 77, 0, 109));
}

#[test]
fn bind_release_decline_expire() {
    let a = Allocator::new(2);
    let mac = [2, 0, 0, 0, 0, 1];
    let k = ClientKey::from_hw(1, &mac);
    let c = claim(&k, &mac, 1000);
    let addr = a.offer(&c, pool(), None, false, 60, &|_| false).unwrap();
    a.bind(&c, addr, 2000, Some(b"h")).unwrap();
    assert_eq!(
        a.lookup(&k),
        Some(Binding {
            addr,
            expires: 2000,
            bound: true
        })
    );
    assert_eq!(a.snapshot(1000).len(), 1);
    // Another client cannot bind it.
    let k2 = ClientKey::from_hw(1, &[2, 0, 0, 0, 0, 2]);
    assert_eq!(
        a.bind(&claim(&k2, &[2, 0, 0, 0, 0, 2], 1000), addr, 3000, None),
        Err(AllocError::Taken)
    );
    assert!(a.release(&k, addr));
    assert!(a.lookup(&k).is_none());
    // Decline quarantines.
    let addr = a.offer(&c, pool(), None, false, 60, &|_| false).unwrap();
    assert!(a.decline(&k, addr, 1600));
    assert!(a.quarantined(addr, 1599));
    let again = a
        .offer(&c, pool(), Some(addr), false, 60, &|_| false)
        .unwrap();
    assert_ne!(again, addr);
    assert!(!a.quarantined(addr, 1600));
    // Lease max: a third client is refused until expiry frees a slot.
    let k3 = ClientKey::from_hw(1, &[2, 0, 0, 0, 0, 3]);
    a.offer(
        &claim(&k2, &[2, 0, 0, 0, 0, 2], 1000),
        pool(),
        None,
        false,
        60,
        &|_| false,
    )
    .unwrap();
    assert_eq!(
        a.offer(
            &claim(&k3, &[2, 0, 0, 0, 0, 3], 1000),
            pool(),
            None,
            false,
            60,
            &|_| false
        ),
        Err(AllocError::LeaseMax)
    );
    assert!(
        a.offer(
            &claim(&k3, &[2, 0, 0, 0, 0, 3], 5000),
            pool(),
            None,
            false,
            60,
            &|_| false
        )
        .is_ok()
    );
}

#[test]
fn expired_address_of_another_client_is_reused() {
    let a = Allocator::new(10);
    let p = Pool {
        start: Ipv4Addr::new(10, 0, 0, 1),
        end: Ipv4Addr::new(10, 0, 0, 1),
    };
    let (m1, m2) = ([1u8; 6], [2u8; 6]);
    let (k1, k2) = (ClientKey::from_hw(1, &m1), ClientKey::from_hw(1, &m2));
    let x = a
        .offer(&claim(&k1, &m1, 0), p, None, false, 60, &|_| false)
        .unwrap();
    a.bind(&claim(&k1, &m1, 0), x, 100, None).unwrap();
    assert_eq!(
        a.offer(&claim(&k2, &m2, 50), p, None, false, 60, &|_| false),
        Err(AllocError::Exhausted)
    );
    assert_eq!(
        a.offer(&claim(&k2, &m2, 100), p, None, false, 60, &|_| false),
        Ok(x)
    );
    assert!(a.lookup(&k1).is_none());
}

#[test]
fn two_workers_racing_on_one_client_and_many_clients() {
    let a = Arc::new(Allocator::new(100_000));
    let p = Pool {
        start: Ipv4Addr::new(10, 1, 0, 0),
        end: Ipv4Addr::new(10, 1, 3, 255),
    };
    let results: Vec<Vec<Ipv4Addr>> = (0..2)
        .map(|_| {
            let a = a.clone();
            std::thread::spawn(move || {
                (0..512u32)
                    .map(|i| {
                        let mac = [2, 0, 0, 0, (i >> 8) as u8, i as u8];
                        let k = ClientKey::from_hw(1, &mac);
                        let c = claim(&k, &mac, 10);
                        let x = a.offer(&c, p, None, false, 60, &|_| false).unwrap();
                        a.bind(&c, x, 1000, None).unwrap();
                        x
                    })
                    .collect()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    // Both workers saw the same 512 clients: each client got one address, in both.
    assert_eq!(results[0], results[1]);
    let mut all = results[0].clone();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 512, "no address given to two clients");
    assert_eq!(a.len(), 512);
    assert_eq!(a.snapshot(10).len(), 512);
}

/// Hardware addresses as perfdhcp makes them (differing in the last bytes), which hash to
/// neighbouring addresses: the bitmap probe gives exactly what the address-by-address probe
/// gives, pool full and all.
#[test]
fn bitmap_probe_gives_the_same_addresses_as_the_plain_probe() {
    let p = Pool {
        start: Ipv4Addr::new(10, 1, 0, 0),
        end: Ipv4Addr::new(10, 1, 11, 183),
    };
    let fast = Allocator::with_pools(100_000, &[p]);
    let plain = Allocator::new(100_000);
    let reserved = |a: Ipv4Addr| a.octets()[3] == 7;
    for i in 0..3500u32 {
        let mac = [0, 0x0c, 1, (i >> 16) as u8, (i >> 8) as u8, i as u8];
        let k = ClientKey::from_hw(1, &mac);
        let c = claim(&k, &mac, 10);
        let got = fast.offer(&c, p, None, false, 60, &reserved);
        assert_eq!(
            got,
            plain.offer(&c, p, None, false, 60, &reserved),
            "client {i}"
        );
        if i % 3 == 0
            && i < 1500
            && let Ok(a) = got
        {
            // Released addresses become free again for both.
            assert!(fast.bind(&c, a, 1000, None).is_ok() && fast.release(&k, a));
            assert!(plain.bind(&c, a, 1000, None).is_ok() && plain.release(&k, a));
        }
    }
    // 3000 addresses less 12 reserved (x.x.x.7), 500 released: the last clients find none.
    let mac = [9u8; 6];
    let k = ClientKey::from_hw(1, &mac);
    assert!(
        fast.offer(&claim(&k, &mac, 10), p, None, false, 60, &reserved)
            .is_err()
    );
}

#[test]
fn expired_addresses_are_reused_once_the_free_ones_are_gone() {
    let p = Pool {
        start: Ipv4Addr::new(10, 0, 0, 1),
        end: Ipv4Addr::new(10, 0, 0, 3),
    };
    let a = Allocator::with_pools(10, &[p]);
    let mut given = Vec::new();
    for m in 1..=3u8 {
        let mac = [m; 6];
        let k = ClientKey::from_hw(1, &mac);
        let x = a
            .offer(&claim(&k, &mac, 0), p, None, false, 60, &|_| false)
            .unwrap();
        a.bind(&claim(&k, &mac, 0), x, 100, None).unwrap();
        given.push(x);
    }
    // All three expired at 100 but not swept: a new client still gets one.
    let mac = [4u8; 6];
    let k = ClientKey::from_hw(1, &mac);
    let x = a
        .offer(&claim(&k, &mac, 200), p, None, false, 60, &|_| false)
        .unwrap();
    assert!(given.contains(&x));
    // Swept: the bitmap is clear again except for the new client's address.
    a.expire(200);
    assert_eq!(a.len(), 1);
    let free: Vec<_> = (0..3)
        .filter_map(|o| a.occupied.next_free(p, o, o + 1))
        .collect();
    assert_eq!(free.len(), 2);
    assert!(!free.contains(&x));
}

#[test]
fn named_lists_only_live_named_leases() {
    let a = Allocator::new(10);
    for (m, name, exp) in [
        (1u8, Some(&b"b"[..]), 500),
        (2, None, 500),
        (3, Some(b"a"), 50),
    ] {
        let mac = [m; 6];
        let k = ClientKey::from_hw(1, &mac);
        let c = claim(&k, &mac, 10);
        let x = a.offer(&c, pool(), None, false, 60, &|_| false).unwrap();
        a.bind(&c, x, exp, name).unwrap();
    }
    let named = a.named(100);
    assert_eq!(named.len(), 1);
    assert_eq!(named[0].1, "b");
}
