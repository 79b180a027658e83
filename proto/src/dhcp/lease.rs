//! One DHCPv4 lease as stored in the lease file and the journal.

use std::net::Ipv4Addr;

/// An owned lease: what dnsmasq's lease file holds for an IPv4 lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// Expiry in seconds since the epoch; 0 means never (infinite lease).
    pub expires: u64,
    /// ARP hardware type (1 = Ethernet).
    pub htype: u8,
    /// Hardware address (up to 16 bytes).
    pub hwaddr: Vec<u8>,
    /// The leased address.
    pub addr: Ipv4Addr,
    /// Client host name, if known.
    pub hostname: Option<String>,
    /// Client identifier (option 61 contents), if any.
    pub client_id: Option<Vec<u8>>,
}

impl Lease {
    /// A borrowed view of this lease.
    pub fn as_ref(&self) -> LeaseRef<'_> {
        LeaseRef {
            expires: self.expires,
            htype: self.htype,
            hwaddr: &self.hwaddr,
            addr: self.addr,
            hostname: self.hostname.as_deref().map(str::as_bytes),
            client_id: self.client_id.as_deref(),
        }
    }

    /// Whether the lease has expired at `wall_secs`.
    pub fn expired(&self, wall_secs: u64) -> bool {
        self.expires != 0 && self.expires <= wall_secs
    }
}

/// A borrowed lease, built from a request without allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseRef<'a> {
    /// Expiry in seconds since the epoch; 0 means never.
    pub expires: u64,
    /// ARP hardware type.
    pub htype: u8,
    /// Hardware address.
    pub hwaddr: &'a [u8],
    /// The leased address.
    pub addr: Ipv4Addr,
    /// Host name bytes, if known.
    pub hostname: Option<&'a [u8]>,
    /// Client identifier, if any.
    pub client_id: Option<&'a [u8]>,
}

impl LeaseRef<'_> {
    /// An owned copy (host names that are not UTF-8 are replaced lossily).
    pub fn to_owned(&self) -> Lease {
        Lease {
            expires: self.expires,
            htype: self.htype,
            hwaddr: self.hwaddr.to_vec(),
            addr: self.addr,
            hostname: self
                .hostname
                .map(|h| String::from_utf8_lossy(h).into_owned()),
            client_id: self.client_id.map(<[u8]>::to_vec),
        }
    }
}
