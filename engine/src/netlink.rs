//! Live interface tracking: an rtnetlink socket on the control thread's tokio runtime follows
//! links and addresses coming and going (RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR,
//! RTNLGRP_IPV6_IFADDR). After each burst of notifications the whole table is dumped again and
//! published as one [`Interfaces`] snapshot (arc-swap) with a change counter (tokio watch), so
//! readers never see half an update.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use arc_swap::ArcSwap;
use futures_util::stream::{StreamExt, TryStreamExt};
use ringmasq_proto::iface::{INFINITE, IfAddr, Interface};
use rtnetlink::packet_route::address::{AddressAttribute, AddressFlags};
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags};
use rtnetlink::{Handle, MulticastGroup};
use tokio::sync::watch;

/// The current interfaces, in kernel index order.
pub type Interfaces = Arc<Vec<Interface>>;

/// How long to let a burst of notifications settle before dumping again.
const SETTLE: Duration = Duration::from_millis(30);

/// The published snapshot and its change notifications.
#[derive(Clone)]
pub struct Tracker {
    /// The latest snapshot.
    pub current: Arc<ArcSwap<Vec<Interface>>>,
    /// Bumped on every change.
    pub changed: watch::Receiver<u64>,
}

/// Dumps every link and address now.
pub async fn dump(handle: &Handle) -> Result<Vec<Interface>> {
    let mut out: Vec<Interface> = Vec::new();
    let mut links = handle.link().get().execute();
    while let Some(l) = links.try_next().await.context("rtnetlink link dump")? {
        let flags = l.header.flags;
        let mut i = Interface {
            index: l.header.index,
            up: flags.contains(LinkFlags::Up) && flags.contains(LinkFlags::Running),
            loopback: flags.contains(LinkFlags::Loopback),
            ..Interface::default()
        };
        for a in l.attributes {
            match a {
                LinkAttribute::IfName(n) => i.name = n,
                LinkAttribute::Address(m) => i.mac = m,
                LinkAttribute::Mtu(m) => i.mtu = m,
                _ => {}
            }
        }
        if i.mac.iter().all(|b| *b == 0) {
            i.mac.clear();
        }
        out.push(i);
    }
    let mut addrs = handle.address().get().execute();
    while let Some(m) = addrs.try_next().await.context("rtnetlink address dump")? {
        let h = &m.header;
        let mut flags = AddressFlags::from_bits_retain(u32::from(h.flags.bits()));
        let mut addr: Option<IpAddr> = None;
        let mut local: Option<IpAddr> = None;
        let (mut valid, mut preferred) = (INFINITE, INFINITE);
        for a in &m.attributes {
            match a {
                AddressAttribute::Address(x) => addr = Some(*x),
                AddressAttribute::Local(x) => local = Some(*x),
                AddressAttribute::Flags(f) => flags = *f,
                AddressAttribute::CacheInfo(c) => {
                    valid = c.ifa_valid;
                    preferred = c.ifa_preferred;
                }
                _ => {}
            }
        }
        // IFA_LOCAL is the interface's own address on point-to-point links; IFA_ADDRESS the
        // peer's. Elsewhere they are equal or only IFA_ADDRESS is present.
        let Some(a) = local.or(addr) else { continue };
        let Some(i) = out.iter_mut().find(|i| i.index == h.index) else {
            continue;
        };
        i.addrs.push(IfAddr {
            addr: a,
            prefix_len: h.prefix_len,
            permanent: flags.contains(AddressFlags::Permanent),
            tentative: flags.contains(AddressFlags::Tentative)
                || flags.contains(AddressFlags::Dadfailed),
            deprecated: flags.contains(AddressFlags::Deprecated),
            // IFA_F_TEMPORARY shares its bit with IFA_F_SECONDARY.
            temporary: a.is_ipv6() && flags.contains(AddressFlags::Secondary),
            valid_secs: valid,
            preferred_secs: preferred,
        });
    }
    Ok(out)
}

/// Starts tracking on the current tokio runtime: an initial dump (returned in the tracker),
/// then a task that re-dumps after each burst of notifications and publishes what changed.
pub async fn start() -> Result<Tracker> {
    let (conn, handle, mut messages) = rtnetlink::new_multicast_connection(&[
        MulticastGroup::Link,
        MulticastGroup::Ipv4Ifaddr,
        MulticastGroup::Ipv6Ifaddr,
    ])
    .context("opening the rtnetlink socket")?;
    tokio::spawn(conn);
    let first = dump(&handle).await?;
    log_snapshot(&first);
    let current = Arc::new(ArcSwap::from_pointee(first));
    let (tx, changed) = watch::channel(0u64);
    let published = Arc::clone(&current);
    tokio::spawn(async move {
        let mut generation = 0u64;
        while messages.next().await.is_some() {
            tokio::time::sleep(SETTLE).await;
            while let Ok(Some(_)) = tokio::time::timeout(Duration::ZERO, messages.next()).await {}
            match dump(&handle).await {
                Ok(now) if *published.load_full() != now => {
                    log_snapshot(&now);
                    published.store(Arc::new(now));
                    generation += 1;
                    let _ = tx.send(generation);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("interface tracking: {e:#}"),
            }
        }
        tracing::warn!("interface tracking stopped: the rtnetlink socket closed");
    });
    Ok(Tracker { current, changed })
}

fn log_snapshot(ifaces: &[Interface]) {
    for i in ifaces {
        let addrs: Vec<String> = i
            .addrs
            .iter()
            .map(|a| format!("{}/{}", a.addr, a.prefix_len))
            .collect();
        tracing::debug!(
            "interface {} (index {}, {}, mtu {}): {}",
            i.name,
            i.index,
            if i.up { "up" } else { "down" },
            i.mtu,
            addrs.join(" ")
        );
    }
}
