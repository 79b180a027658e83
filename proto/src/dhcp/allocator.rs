//! The lease allocator shared by all workers.
//!
//! Two [`DashMap`]s: clients (identity → current address) and addresses (address → owner). There
//! is no global lock: an operation locks the client's shard, then the shards of the addresses it
//! touches, always in that order (client before address), so two workers seeing the same client
//! at once serialise on the client's shard and never deadlock. An address is claimed atomically
//! through its address-map entry, so two clients never get the same address.
//!
//! A new client's first candidate address is derived from a hash of its hardware address (the
//! SDBM hash dnsmasq uses), so it gets the same address as from dnsmasq with a fresh lease file
//! and again after its lease is gone; from there the pool is probed forward, over the pool's
//! [`Occupancy`] bitmap when it has one (taken stretches skipped 64 addresses at a time).

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};

use dashmap::DashMap;

use super::lease::{Lease, LeaseRef};
use super::occupancy::Occupancy;

/// Longest client key: kind byte, then a client id (≤255) or htype + hardware address (≤17).
pub const MAX_KEY: usize = 256;

/// A client's identity as a map key: `[0, client-id…]` or `[1, htype, hwaddr…]`.
#[derive(Clone, Copy, Debug)]
pub struct ClientKey {
    buf: [u8; MAX_KEY],
    len: usize,
}

impl ClientKey {
    /// The key of a client identified by its client identifier (option 61), truncated to fit.
    pub fn from_client_id(id: &[u8]) -> Self {
        let mut buf = [0u8; MAX_KEY];
        let n = id.len().min(MAX_KEY - 1);
        buf[1..1 + n].copy_from_slice(&id[..n]);
        ClientKey { buf, len: 1 + n }
    }

    /// The key of a client identified by hardware type and address.
    pub fn from_hw(htype: u8, hw: &[u8]) -> Self {
        let mut buf = [0u8; MAX_KEY];
        buf[0] = 1;
        buf[1] = htype;
        let n = hw.len().min(16);
        buf[2..2 + n].copy_from_slice(&hw[..n]);
        ClientKey { buf, len: 2 + n }
    }

    /// The key of `lease`: its client id when it has one (and `ignore_clid` is off), else its MAC.
    pub fn of_lease(lease: &LeaseRef<'_>, ignore_clid: bool) -> Self {
        match lease.client_id {
            Some(id) if !ignore_clid => Self::from_client_id(id),
            _ => Self::from_hw(lease.htype, lease.hwaddr),
        }
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// An address pool: inclusive range of addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool {
    /// First address.
    pub start: Ipv4Addr,
    /// Last address (inclusive).
    pub end: Ipv4Addr,
}

impl Pool {
    /// Whether `a` is in the pool.
    pub fn contains(&self, a: Ipv4Addr) -> bool {
        (self.start..=self.end).contains(&a)
    }

    fn size(&self) -> u32 {
        u32::from(self.end).saturating_sub(u32::from(self.start)) + 1
    }
}

/// Why the allocator could not give an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AllocError {
    /// No free address in the pool.
    #[error("pool exhausted")]
    Exhausted,
    /// The address is held by another client (or quarantined).
    #[error("address taken")]
    Taken,
    /// `--dhcp-lease-max` reached.
    #[error("lease limit reached")]
    LeaseMax,
}

/// A client's current address as the allocator knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The address.
    pub addr: Ipv4Addr,
    /// Expiry (seconds since the epoch; 0 = never).
    pub expires: u64,
    /// Bound by an ACK (false while only offered).
    pub bound: bool,
}

#[derive(Debug)]
struct ClientSlot {
    addr: Option<Ipv4Addr>,
    expires: u64,
    bound: bool,
    htype: u8,
    hw: [u8; 16],
    hwlen: u8,
    client_id: Option<Box<[u8]>>,
    hostname: Option<Box<[u8]>>,
}

#[derive(Debug)]
enum Owner {
    Client(Box<[u8]>),
    Declined,
}

#[derive(Debug)]
struct AddrSlot {
    owner: Owner,
    expires: u64,
}

fn live(expires: u64, wall: u64) -> bool {
    expires == 0 || expires > wall
}

/// SDBM hash of a hardware address, as dnsmasq uses to pick a client's first candidate address.
pub fn sdbm(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0u32, |j, b| {
        u32::from(*b)
            .wrapping_add(j << 6)
            .wrapping_add(j << 16)
            .wrapping_sub(j)
    })
}

/// The lease allocator (Send + Sync; share it with `Arc`).
#[derive(Debug)]
pub struct Allocator {
    clients: DashMap<Box<[u8]>, ClientSlot>,
    addrs: DashMap<u32, AddrSlot>,
    /// Which addresses of the dynamic pools have an `addrs` entry.
    occupied: Occupancy,
    count: AtomicUsize,
    lease_max: usize,
}

/// How an address is to be claimed.
#[derive(Clone, Copy, Debug)]
pub struct Claim<'a> {
    /// The client's key.
    pub key: &'a ClientKey,
    /// Hardware type and address of the client.
    pub htype: u8,
    /// Hardware address.
    pub hw: &'a [u8],
    /// Client identifier to remember (for the lease file).
    pub client_id: Option<&'a [u8]>,
    /// Current wall-clock seconds.
    pub wall: u64,
}

impl Allocator {
    /// An empty allocator allowing `lease_max` clients.
    pub fn new(lease_max: usize) -> Self {
        Self::with_pools(lease_max, &[])
    }

    /// An empty allocator allowing `lease_max` clients, with an occupancy bitmap for each of
    /// `pools` (offers from other pools probe address by address).
    pub fn with_pools(lease_max: usize, pools: &[Pool]) -> Self {
        Allocator {
            clients: DashMap::new(),
            addrs: DashMap::new(),
            occupied: Occupancy::new(pools),
            count: AtomicUsize::new(0),
            lease_max,
        }
    }

    /// Number of clients with an entry (bound, offered or expired but not yet swept).
    pub fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Whether no client has an entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The client's current address, if it still owns it (even when expired: an expired lease
    /// still owned is renewed rather than moved).
    pub fn lookup(&self, key: &ClientKey) -> Option<Binding> {
        let c = self.clients.get(key.as_bytes())?;
        let addr = c.addr?;
        self.owns(key, addr).then_some(Binding {
            addr,
            expires: c.expires,
            bound: c.bound,
        })
    }

    fn owns(&self, key: &ClientKey, addr: Ipv4Addr) -> bool {
        self.addrs
            .get(&u32::from(addr))
            .is_some_and(|s| matches!(&s.owner, Owner::Client(k) if **k == *key.as_bytes()))
    }

    /// Expiry of the bound, live lease on `addr` (0 = never), for a lease-time query.
    pub fn expiry_of(&self, addr: Ipv4Addr, wall: u64) -> Option<u64> {
        let slot = self.addrs.get(&u32::from(addr))?;
        let Owner::Client(k) = &slot.owner else {
            return None;
        };
        let c = self.clients.get(k)?;
        (c.addr == Some(addr) && c.bound && live(c.expires, wall)).then_some(c.expires)
    }

    /// Whether `addr` is free for `key` at `wall` (unowned, expired, or already its own).
    pub fn available(&self, key: &ClientKey, addr: Ipv4Addr, wall: u64) -> bool {
        match self.addrs.get(&u32::from(addr)) {
            None => true,
            Some(s) => match &s.owner {
                Owner::Client(k) if **k == *key.as_bytes() => true,
                _ => !live(s.expires, wall),
            },
        }
    }

    /// Run `f` with the client's slot locked, creating the slot if needed.
    fn with_client<R>(
        &self,
        c: &Claim<'_>,
        f: impl FnOnce(&mut ClientSlot) -> Result<R, AllocError>,
    ) -> Result<R, AllocError> {
        if let Some(mut slot) = self.clients.get_mut(c.key.as_bytes()) {
            return f(&mut slot);
        }
        if self.count.load(Ordering::Relaxed) >= self.lease_max {
            self.expire(c.wall);
            if self.count.load(Ordering::Relaxed) >= self.lease_max {
                return Err(AllocError::LeaseMax);
            }
        }
        let mut hw = [0u8; 16];
        let n = c.hw.len().min(16);
        hw[..n].copy_from_slice(&c.hw[..n]);
        let mut created = false;
        let mut slot = self
            .clients
            .entry(Box::from(c.key.as_bytes()))
            .or_insert_with(|| {
                created = true;
                ClientSlot {
                    addr: None,
                    expires: 0,
                    bound: false,
                    htype: c.htype,
                    hw,
                    hwlen: n as u8,
                    client_id: c.client_id.map(Box::from),
                    hostname: None,
                }
            });
        if created {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
        f(&mut slot)
    }

    /// Claim `addr` for `key` until `expires`: succeeds when the address is free, expired, or
    /// already the client's. The caller holds the client's slot.
    fn claim(&self, key: &ClientKey, addr: Ipv4Addr, expires: u64, wall: u64) -> bool {
        use dashmap::mapref::entry::Entry;
        match self.addrs.entry(u32::from(addr)) {
            Entry::Vacant(v) => {
                self.occupied.set(addr);
                v.insert(AddrSlot {
                    owner: Owner::Client(Box::from(key.as_bytes())),
                    expires,
                });
                true
            }
            Entry::Occupied(mut o) => {
                let s = o.get_mut();
                let mine = matches!(&s.owner, Owner::Client(k) if **k == *key.as_bytes());
                if mine {
                    s.expires = expires;
                    true
                } else if !live(s.expires, wall) {
                    *s = AddrSlot {
                        owner: Owner::Client(Box::from(key.as_bytes())),
                        expires,
                    };
                    true
                } else {
                    false
                }
            }
        }
    }

    fn unclaim(&self, key: &ClientKey, addr: Ipv4Addr) {
        self.addrs.remove_if(&u32::from(addr), |_, s| {
            let mine = matches!(&s.owner, Owner::Client(k) if **k == *key.as_bytes());
            if mine {
                self.occupied.clear(addr);
            }
            mine
        });
    }

    /// The first address from the hash-derived one onwards (wrapping) that `claim` gives:
    /// through the occupancy bitmap first, which sees only never-used or swept addresses, then
    /// address by address (which also reuses expired, not yet swept ones).
    fn probe(
        &self,
        c: &Claim<'_>,
        pool: Pool,
        first: u32,
        hold: u64,
        reserved: &dyn Fn(Ipv4Addr) -> bool,
    ) -> Option<Ipv4Addr> {
        let size = pool.size();
        if self.occupied.tracks(pool) {
            for (from, to) in [(first, size), (0, first)] {
                let mut at = from;
                while let Some(a) = self.occupied.next_free(pool, at, to) {
                    if !reserved(a) && self.claim(c.key, a, hold, c.wall) {
                        return Some(a);
                    }
                    at = u32::from(a) - u32::from(pool.start) + 1;
                }
            }
        }
        let base = u32::from(pool.start);
        (0..size)
            .map(|i| Ipv4Addr::from(base + (first + i) % size))
            .find(|a| !reserved(*a) && self.claim(c.key, *a, hold, c.wall))
    }

    /// Pick and hold an address to offer: the client's current one if it is in `pool`, else
    /// `requested` if free, else the hash-derived address probed forward (or the lowest free when
    /// `sequential`). `reserved` excludes addresses kept for static hosts or the server itself.
    /// An offered address is held until `wall + hold_secs`; a bound lease is not shortened.
    pub fn offer(
        &self,
        c: &Claim<'_>,
        pool: Pool,
        requested: Option<Ipv4Addr>,
        sequential: bool,
        hold_secs: u32,
        reserved: &dyn Fn(Ipv4Addr) -> bool,
    ) -> Result<Ipv4Addr, AllocError> {
        let hold = c.wall.saturating_add(u64::from(hold_secs));
        self.with_client(c, |slot| {
            if let Some(a) = slot.addr
                && pool.contains(a)
                && self.owns(c.key, a)
            {
                if !slot.bound || !live(slot.expires, c.wall) {
                    slot.bound = false;
                    slot.expires = hold;
                    self.claim(c.key, a, hold, c.wall);
                }
                return Ok(a);
            }
            let mut pick = None;
            if let Some(r) = requested
                && pool.contains(r)
                && !reserved(r)
                && self.claim(c.key, r, hold, c.wall)
            {
                pick = Some(r);
            }
            if pick.is_none() {
                let first = if sequential {
                    0
                } else {
                    sdbm(c.hw) % pool.size()
                };
                pick = self.probe(c, pool, first, hold, reserved);
            }
            let a = pick.ok_or(AllocError::Exhausted)?;
            if let Some(old) = slot.addr.replace(a)
                && old != a
            {
                self.unclaim(c.key, old);
            }
            slot.bound = false;
            slot.expires = hold;
            Ok(a)
        })
    }

    /// Bind `addr` to the client until `expires` (0 = never): the ACK path. Fails with
    /// [`AllocError::Taken`] when another client holds the address.
    pub fn bind(
        &self,
        c: &Claim<'_>,
        addr: Ipv4Addr,
        expires: u64,
        hostname: Option<&[u8]>,
    ) -> Result<(), AllocError> {
        self.with_client(c, |slot| {
            if !self.claim(c.key, addr, expires, c.wall) {
                return Err(AllocError::Taken);
            }
            if let Some(old) = slot.addr.replace(addr)
                && old != addr
            {
                self.unclaim(c.key, old);
            }
            slot.bound = true;
            slot.expires = expires;
            if slot.hostname.as_deref() != hostname {
                slot.hostname = hostname.map(Box::from);
            }
            if slot.client_id.as_deref() != c.client_id {
                slot.client_id = c.client_id.map(Box::from);
            }
            Ok(())
        })
    }

    /// Release the client's lease on `addr` (DHCPRELEASE). False if it does not hold it.
    pub fn release(&self, key: &ClientKey, addr: Ipv4Addr) -> bool {
        let Some(mut slot) = self.clients.get_mut(key.as_bytes()) else {
            return false;
        };
        if slot.addr != Some(addr) || !self.owns(key, addr) {
            return false;
        }
        self.unclaim(key, addr);
        slot.addr = None;
        slot.bound = false;
        true
    }

    /// Quarantine `addr` until `until` (DHCPDECLINE: another host uses it, RFC 2131 §4.3.3),
    /// dropping the client's hold on it.
    pub fn decline(&self, key: &ClientKey, addr: Ipv4Addr, until: u64) -> bool {
        let Some(mut slot) = self.clients.get_mut(key.as_bytes()) else {
            return false;
        };
        if slot.addr != Some(addr) || !self.owns(key, addr) {
            return false;
        }
        self.addrs.entry(u32::from(addr)).insert(AddrSlot {
            owner: Owner::Declined,
            expires: until,
        });
        slot.addr = None;
        slot.bound = false;
        true
    }

    /// Quarantine `addr` until `until` if a client holds it only as an offer (not bound): the
    /// address answered the ping check before the offer went out. The client's hold is dropped.
    pub fn quarantine_offered(&self, addr: Ipv4Addr, until: u64) -> bool {
        let owner = match self.addrs.get(&u32::from(addr)) {
            Some(s) => match &s.owner {
                Owner::Client(k) => k.clone(),
                Owner::Declined => return false,
            },
            None => return false,
        };
        // Client before address, as everywhere.
        let Some(mut slot) = self.clients.get_mut(&owner) else {
            return false;
        };
        if slot.addr != Some(addr) || slot.bound {
            return false;
        }
        let mut s = match self.addrs.get_mut(&u32::from(addr)) {
            Some(s) => s,
            None => return false,
        };
        if !matches!(&s.owner, Owner::Client(k) if *k == owner) {
            return false;
        }
        *s = AddrSlot {
            owner: Owner::Declined,
            expires: until,
        };
        slot.addr = None;
        true
    }

    /// The client `key` (a client identifier) has no entry but the same hardware address
    /// (`hw_key`) has one stored without a client id: that entry becomes the client's, keeping
    /// its address (dnsmasq matches such a lease by MAC). Returns whether an entry moved.
    pub fn adopt(&self, key: &ClientKey, hw_key: &ClientKey) -> bool {
        use dashmap::mapref::entry::Entry;
        if self.clients.contains_key(key.as_bytes()) {
            return false;
        }
        let Some((_, slot)) = self
            .clients
            .remove_if(hw_key.as_bytes(), |_, c| c.client_id.is_none())
        else {
            return false;
        };
        let addr = slot.addr;
        match self.clients.entry(Box::from(key.as_bytes())) {
            Entry::Occupied(_) => {
                // Another worker created the client meanwhile: the MAC entry is dropped.
                if let Some(a) = addr {
                    self.unclaim(hw_key, a);
                }
                self.count.fetch_sub(1, Ordering::Relaxed);
                false
            }
            Entry::Vacant(v) => {
                let _held = v.insert(slot);
                if let Some(a) = addr
                    && let Some(mut s) = self.addrs.get_mut(&u32::from(a))
                    && matches!(&s.owner, Owner::Client(k) if **k == *hw_key.as_bytes())
                {
                    s.owner = Owner::Client(Box::from(key.as_bytes()));
                }
                true
            }
        }
    }

    /// Whether `addr` is quarantined at `wall`.
    pub fn quarantined(&self, addr: Ipv4Addr, wall: u64) -> bool {
        self.addrs
            .get(&u32::from(addr))
            .is_some_and(|s| matches!(s.owner, Owner::Declined) && live(s.expires, wall))
    }

    /// Load a lease from the lease file or journal at start. Returns false when its address is
    /// already held by another client (the later record wins only for its own client).
    pub fn restore(&self, lease: &Lease, ignore_clid: bool, wall: u64) -> bool {
        if lease.expired(wall) {
            return false;
        }
        let r = lease.as_ref();
        let key = ClientKey::of_lease(&r, ignore_clid);
        let c = Claim {
            key: &key,
            htype: lease.htype,
            hw: &lease.hwaddr,
            client_id: lease.client_id.as_deref(),
            wall,
        };
        self.bind(
            &c,
            lease.addr,
            lease.expires,
            lease.hostname.as_deref().map(str::as_bytes),
        )
        .is_ok()
    }

    /// Forget a lease by address (a journal `Remove` record).
    pub fn forget(&self, addr: Ipv4Addr) {
        if let Some((_, s)) = self.addrs.remove_if(&u32::from(addr), |_, _| {
            self.occupied.clear(addr);
            true
        }) && let Owner::Client(k) = s.owner
            && self
                .clients
                .remove_if(&k, |_, c| c.addr == Some(addr))
                .is_some()
        {
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Remove expired clients and addresses (run from the control thread, or inline when the
    /// lease limit is hit). Returns how many clients were removed.
    pub fn expire(&self, wall: u64) -> usize {
        let mut removed = 0;
        self.clients.retain(|k, c| {
            let keep = c.addr.is_some() && live(c.expires, wall);
            if !keep {
                if let Some(a) = c.addr {
                    self.addrs.remove_if(&u32::from(a), |_, s| {
                        let gone = matches!(&s.owner, Owner::Client(o) if **o == **k)
                            && !live(s.expires, wall);
                        if gone {
                            self.occupied.clear(a);
                        }
                        gone
                    });
                }
                removed += 1;
            }
            keep
        });
        self.count.fetch_sub(removed, Ordering::Relaxed);
        self.addrs.retain(|a, s| {
            let keep = !matches!(s.owner, Owner::Declined) || live(s.expires, wall);
            if !keep {
                self.occupied.clear(Ipv4Addr::from(*a));
            }
            keep
        });
        removed
    }

    /// Moves every expiry (leases, offers, declined addresses) by `step` seconds: the system
    /// clock was stepped and each lease keeps its remaining time
    /// ([`super::lease_clock`]). Returns how many clients were moved.
    pub fn shift(&self, step: i64) -> usize {
        let mut moved = 0;
        for mut c in self.clients.iter_mut() {
            if c.expires != 0 {
                c.expires = super::lease_clock::shifted(c.expires, step);
                moved += 1;
            }
        }
        for mut s in self.addrs.iter_mut() {
            s.expires = super::lease_clock::shifted(s.expires, step);
        }
        moved
    }

    /// `(address, name)` of every bound, unexpired lease that has a name, by address: what DNS
    /// publishes, without copying the leases that have none.
    pub fn named(&self, wall: u64) -> Vec<(Ipv4Addr, String)> {
        let mut out: Vec<(Ipv4Addr, String)> = self
            .clients
            .iter()
            .filter_map(|e| {
                let c = e.value();
                let (addr, name) = (c.addr?, c.hostname.as_deref()?);
                (c.bound && live(c.expires, wall))
                    .then(|| (addr, String::from_utf8_lossy(name).into_owned()))
            })
            .collect();
        out.sort_unstable();
        out
    }

    /// Every bound, unexpired lease (for compaction into a full lease file).
    pub fn snapshot(&self, wall: u64) -> Vec<Lease> {
        let mut out = Vec::new();
        for e in self.clients.iter() {
            let c = e.value();
            if let Some(addr) = c.addr
                && c.bound
                && live(c.expires, wall)
            {
                out.push(Lease {
                    expires: c.expires,
                    htype: c.htype,
                    hwaddr: c.hw[..c.hwlen as usize].to_vec(),
                    addr,
                    hostname: c
                        .hostname
                        .as_deref()
                        .map(|h| String::from_utf8_lossy(h).into_owned()),
                    client_id: c.client_id.as_deref().map(<[u8]>::to_vec),
                });
            }
        }
        out.sort_by_key(|l| l.addr);
        out
    }
}

#[cfg(test)]
#[path = "allocator_tests.rs"]
mod tests;
