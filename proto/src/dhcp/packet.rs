//! Zero-allocation view of a received BOOTP/DHCPv4 request (RFC 2131 §2, RFC 951).
//!
//! The fixed header is read in place; options are validated and gathered into a reusable
//! [`OptionTable`], which joins split options (RFC 3396 §6) and follows option overload into the
//! `file` and `sname` fields (RFC 2132 §9.3). Anything malformed is a typed [`DropReason`].

use std::net::Ipv4Addr;

use super::stats::DropReason;

/// Length of the fixed BOOTP header before the options (RFC 2131 §2, figure 1).
pub const HEADER_LEN: usize = 236;
/// The DHCP magic cookie 99.130.83.99 (RFC 2131 §3).
pub const MAGIC: [u8; 4] = [99, 130, 83, 99];
/// Largest request accepted; anything longer is dropped.
pub const MAX_REQUEST: usize = 16_384;
/// Longest option 82 accepted (RFC 3046 §2.0: the agent option must fit in 255 bytes).
pub const MAX_OPTION82: usize = 255;

/// Byte range of the `sname` field (RFC 2131 §2).
const SNAME: core::ops::Range<usize> = 44..108;
/// Byte range of the `file` field (RFC 2131 §2).
const FILE: core::ops::Range<usize> = 108..236;

/// Option codes used by the server (RFC 2132 unless noted).
pub mod code {
    /// Subnet mask (§3.3).
    pub const SUBNET_MASK: u8 = 1;
    /// Router (§3.5).
    pub const ROUTER: u8 = 3;
    /// Domain name servers (§3.8).
    pub const DNS: u8 = 6;
    /// Host name (§3.14).
    pub const HOSTNAME: u8 = 12;
    /// Domain name (§3.17).
    pub const DOMAIN: u8 = 15;
    /// Broadcast address (§5.3).
    pub const BROADCAST: u8 = 28;
    /// Vendor-specific information (§8.4).
    pub const VENDOR: u8 = 43;
    /// Requested IP address (§9.1).
    pub const REQUESTED_IP: u8 = 50;
    /// Lease time (§9.2).
    pub const LEASE_TIME: u8 = 51;
    /// Option overload (§9.3).
    pub const OVERLOAD: u8 = 52;
    /// DHCP message type (§9.6).
    pub const MESSAGE_TYPE: u8 = 53;
    /// Server identifier (§9.7).
    pub const SERVER_ID: u8 = 54;
    /// Parameter request list (§9.8).
    pub const PARAM_REQUEST: u8 = 55;
    /// Message (§9.9).
    pub const MESSAGE: u8 = 56;
    /// Maximum DHCP message size (§9.10).
    pub const MAX_SIZE: u8 = 57;
    /// Renewal (T1) time (§9.11).
    pub const T1: u8 = 58;
    /// Rebinding (T2) time (§9.12).
    pub const T2: u8 = 59;
    /// Vendor class identifier (§9.13).
    pub const VENDOR_CLASS: u8 = 60;
    /// Client identifier (§9.14).
    pub const CLIENT_ID: u8 = 61;
    /// User class (RFC 3004 §4).
    pub const USER_CLASS: u8 = 77;
    /// Client FQDN (RFC 4702 §2).
    pub const CLIENT_FQDN: u8 = 81;
    /// Vendor-identifying vendor class (RFC 3925 §3).
    pub const VI_VENDOR_CLASS: u8 = 124;
    /// Vendor-identifying vendor-specific information (RFC 3925 §4).
    pub const VI_VENDOR: u8 = 125;
    /// Rapid commit (RFC 4039 §4).
    pub const RAPID_COMMIT: u8 = 80;
    /// Relay agent information (RFC 3046 §2).
    pub const RELAY_AGENT: u8 = 82;
    /// Classless static routes (RFC 3442).
    pub const CLASSLESS_ROUTES: u8 = 121;
    /// End (§3.2).
    pub const END: u8 = 255;
    /// Pad (§3.1).
    pub const PAD: u8 = 0;
}

/// Per-code spans of joined option values in the table's buffer.
#[derive(Clone, Copy, Default)]
struct Span {
    start: u32,
    len: u32,
    present: bool,
}

/// Reusable table of a request's options, one joined value per code (RFC 3396 §6). Allocates
/// only while it grows to the largest request seen.
pub struct OptionTable {
    spans: [Span; 256],
    buf: Vec<u8>,
}

impl Default for OptionTable {
    fn default() -> Self {
        OptionTable {
            spans: [Span::default(); 256],
            buf: Vec::with_capacity(1500),
        }
    }
}

impl core::fmt::Debug for OptionTable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let codes: Vec<u8> = (0..=255u8)
            .filter(|c| self.spans[*c as usize].present)
            .collect();
        f.debug_struct("OptionTable")
            .field("codes", &codes)
            .finish()
    }
}

impl OptionTable {
    /// The joined value of option `code`, if present.
    pub fn get(&self, code: u8) -> Option<&[u8]> {
        let s = self.spans[code as usize];
        s.present
            .then(|| &self.buf[s.start as usize..(s.start + s.len) as usize])
    }

    /// Whether option `code` is present (possibly empty).
    pub fn has(&self, code: u8) -> bool {
        self.spans[code as usize].present
    }

    /// A 4-byte option as an address (`None` when absent or of another length).
    pub fn addr(&self, code: u8) -> Option<Ipv4Addr> {
        self.get(code)
            .and_then(|v| <[u8; 4]>::try_from(v).ok())
            .map(Ipv4Addr::from)
    }

    /// Validate one region and add each option's length to its code's total (pass 1).
    fn measure(&mut self, region: &[u8], in_options_field: bool) -> Result<Option<u8>, DropReason> {
        let mut overload = None;
        let mut i = 0;
        while i < region.len() {
            let c = region[i];
            match c {
                code::PAD => i += 1,
                code::END => break,
                _ => {
                    let Some(&len) = region.get(i + 1) else {
                        return Err(DropReason::BadOptionLength);
                    };
                    let end = i + 2 + len as usize;
                    if end > region.len() {
                        return Err(DropReason::BadOptionLength);
                    }
                    if c == code::OVERLOAD {
                        // RFC 2132 §9.3: only in the options field, one byte 1..=3.
                        if !in_options_field || overload.is_some() {
                            return Err(DropReason::OverloadLoop);
                        }
                        if len != 1 || !(1..=3).contains(&region[i + 2]) {
                            return Err(DropReason::BadOverload);
                        }
                        overload = Some(region[i + 2]);
                    }
                    let s = &mut self.spans[c as usize];
                    s.present = true;
                    s.len += u32::from(len);
                    i = end;
                }
            }
        }
        Ok(overload)
    }

    /// Copy each option's bytes after those already copied for its code (pass 2).
    fn gather(&mut self, region: &[u8], fill: &mut [u32; 256]) {
        let mut i = 0;
        while i < region.len() {
            let c = region[i];
            match c {
                code::PAD => i += 1,
                code::END => break,
                _ => {
                    let len = region[i + 1] as usize;
                    let at = (self.spans[c as usize].start + fill[c as usize]) as usize;
                    self.buf[at..at + len].copy_from_slice(&region[i + 2..i + 2 + len]);
                    fill[c as usize] += len as u32;
                    i += 2 + len;
                }
            }
        }
    }

    /// Parse the options of `pkt` (which has at least the fixed header and the cookie).
    fn parse(&mut self, pkt: &[u8]) -> Result<(), DropReason> {
        self.spans = [Span::default(); 256];
        let opts = &pkt[HEADER_LEN + 4..];
        let overload = self.measure(opts, true)?;
        // RFC 3396 §6 order: options field, then file, then sname.
        let file = matches!(overload, Some(1 | 3));
        let sname = matches!(overload, Some(2 | 3));
        if file {
            self.measure(&pkt[FILE], false)?;
        }
        if sname {
            self.measure(&pkt[SNAME], false)?;
        }
        let mut total = 0u32;
        for s in self.spans.iter_mut() {
            s.start = total;
            total += s.len;
        }
        self.buf.clear();
        self.buf.resize(total as usize, 0);
        let mut fill = [0u32; 256];
        self.gather(opts, &mut fill);
        if file {
            self.gather(&pkt[FILE], &mut fill);
        }
        if sname {
            self.gather(&pkt[SNAME], &mut fill);
        }
        Ok(())
    }
}

/// DHCP message types (RFC 2132 §9.6), as numbers.
pub mod msg {
    /// DHCPDISCOVER.
    pub const DISCOVER: u8 = 1;
    /// DHCPOFFER.
    pub const OFFER: u8 = 2;
    /// DHCPREQUEST.
    pub const REQUEST: u8 = 3;
    /// DHCPDECLINE.
    pub const DECLINE: u8 = 4;
    /// DHCPACK.
    pub const ACK: u8 = 5;
    /// DHCPNAK.
    pub const NAK: u8 = 6;
    /// DHCPRELEASE.
    pub const RELEASE: u8 = 7;
    /// DHCPINFORM.
    pub const INFORM: u8 = 8;
}

/// The fixed header of a validated BOOTREQUEST (RFC 2131 §2).
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The whole request.
    pub bytes: &'a [u8],
    /// Hardware type (`htype`).
    pub htype: u8,
    /// Relay hop count (`hops`).
    pub hops: u8,
    /// Transaction id (`xid`).
    pub xid: u32,
    /// Broadcast flag (RFC 2131 §2, figure 2).
    pub broadcast: bool,
    /// Client address (`ciaddr`).
    pub ciaddr: Ipv4Addr,
    /// Relay agent address (`giaddr`).
    pub giaddr: Ipv4Addr,
    /// Client hardware address (`chaddr`, `hlen` bytes).
    pub chaddr: &'a [u8],
    /// DHCP message type (option 53); `None` for BOOTP.
    pub msg_type: Option<u8>,
}

fn addr_at(b: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3])
}

/// Validate `bytes` as a BOOTREQUEST and fill `opts` with its options.
pub fn parse<'a>(bytes: &'a [u8], opts: &mut OptionTable) -> Result<Request<'a>, DropReason> {
    if bytes.len() < HEADER_LEN {
        return Err(DropReason::TooShort);
    }
    if bytes.len() > MAX_REQUEST {
        return Err(DropReason::TooLong);
    }
    if bytes[0] != 1 {
        return Err(DropReason::NotRequest);
    }
    let hlen = bytes[2] as usize;
    if hlen == 0 {
        return Err(DropReason::ZeroHlen);
    }
    if hlen > 16 {
        return Err(DropReason::BadHlen);
    }
    let has_cookie = bytes.len() >= HEADER_LEN + 4 && bytes[HEADER_LEN..HEADER_LEN + 4] == MAGIC;
    if has_cookie {
        opts.parse(bytes)?;
    } else {
        // RFC 951 BOOTP without RFC 1497 vendor extensions: no options at all.
        opts.spans = [Span::default(); 256];
    }
    let msg_type = match opts.get(code::MESSAGE_TYPE) {
        None => None,
        Some([t]) => Some(*t),
        Some(_) => return Err(DropReason::BadOptionLength),
    };
    for c in [code::REQUESTED_IP, code::SERVER_ID] {
        if opts.get(c).is_some_and(|v| v.len() != 4) {
            return Err(DropReason::BadOptionLength);
        }
    }
    if opts.get(code::MAX_SIZE).is_some_and(|v| v.len() != 2) {
        return Err(DropReason::BadOptionLength);
    }
    // RFC 2132 §9.14: a client identifier is at least two bytes.
    if opts.get(code::CLIENT_ID).is_some_and(|v| v.len() < 2) {
        return Err(DropReason::BadOptionLength);
    }
    if opts
        .get(code::RELAY_AGENT)
        .is_some_and(|v| v.len() > MAX_OPTION82)
    {
        return Err(DropReason::GiantOption82);
    }
    Ok(Request {
        bytes,
        htype: bytes[1],
        hops: bytes[3],
        xid: u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
        broadcast: bytes[10] & 0x80 != 0,
        ciaddr: addr_at(bytes, 12),
        giaddr: addr_at(bytes, 24),
        chaddr: &bytes[28..28 + hlen],
        msg_type,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal request: header, cookie, then `options` verbatim.
    pub(crate) fn request(options: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; HEADER_LEN];
        p[0] = 1;
        p[1] = 1;
        p[2] = 6;
        p[28..34].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        p.extend_from_slice(&MAGIC);
        p.extend_from_slice(options);
        p
    }

    #[test]
    fn real_dhclient_discover() {
        let b = include_bytes!("testdata/dhclient_discover.bin");
        let mut t = OptionTable::default();
        let r = parse(b, &mut t).unwrap();
        assert_eq!(r.msg_type, Some(msg::DISCOVER));
        assert_eq!(r.chaddr, &[0x52, 0x54, 0, 0x12, 0x34, 0x56]);
        assert_eq!(t.get(code::HOSTNAME), Some(&b"vm"[..]));
        let prl = t.get(code::PARAM_REQUEST).unwrap();
        assert_eq!(&prl[..4], &[1, 28, 2, 3]);
        // Cross-check with dhcproto's decoder.
        use dhcproto::{Decodable, Decoder, v4};
        let m = v4::Message::decode(&mut Decoder::new(b)).unwrap();
        assert_eq!(m.xid(), r.xid);
    }

    #[test]
    fn real_udhcpc_request() {
        let b = include_bytes!("testdata/udhcpc_request.bin");
        let mut t = OptionTable::default();
        let r = parse(b, &mut t).unwrap();
        assert_eq!(r.msg_type, Some(msg::REQUEST));
        assert_eq!(
            t.get(code::CLIENT_ID),
            Some(&[1, 0x52, 0x54, 0, 0xab, 0xcd, 0xef][..])
        );
        assert_eq!(t.addr(code::SERVER_ID), Some(Ipv4Addr::new(10, 77, 0, 1)));
        assert_eq!(
            t.addr(code::REQUESTED_IP),
            Some(Ipv4Addr::new(10, 77, 0, 145))
        );
        assert_eq!(t.get(code::VENDOR_CLASS), Some(&b"udvendor"[..]));
    }

    #[test]
    fn split_options_are_joined_across_overload() {
        // RFC 3396: host name split in the options field and the file field (overload 1).
        let mut p = request(&[53, 1, 1, 12, 2, b'a', b'b', 52, 1, 1, 255]);
        p[108..113].copy_from_slice(&[12, 2, b'c', b'd', 255]);
        let mut t = OptionTable::default();
        parse(&p, &mut t).unwrap();
        assert_eq!(t.get(code::HOSTNAME), Some(&b"abcd"[..]));
        // Not overloaded: the file field is not read.
        let mut p2 = request(&[53, 1, 1, 12, 2, b'a', b'b', 255]);
        p2[108..113].copy_from_slice(&[12, 2, b'c', b'd', 255]);
        parse(&p2, &mut t).unwrap();
        assert_eq!(t.get(code::HOSTNAME), Some(&b"ab"[..]));
    }

    #[test]
    fn malformed_are_typed_drops() {
        let mut t = OptionTable::default();
        assert_eq!(parse(&[1; 10], &mut t).unwrap_err(), DropReason::TooShort);
        assert_eq!(
            parse(&request(&[53, 9, 1]), &mut t).unwrap_err(),
            DropReason::BadOptionLength
        );
        assert_eq!(
            parse(&request(&[53, 2, 1, 1]), &mut t).unwrap_err(),
            DropReason::BadOptionLength
        );
        assert_eq!(
            parse(&request(&[52, 1, 7]), &mut t).unwrap_err(),
            DropReason::BadOverload
        );
        let mut looped = request(&[53, 1, 1, 52, 1, 1, 255]);
        looped[108..111].copy_from_slice(&[52, 1, 1]);
        assert_eq!(
            parse(&looped, &mut t).unwrap_err(),
            DropReason::OverloadLoop
        );
        let mut zero = request(&[53, 1, 1, 255]);
        zero[2] = 0;
        assert_eq!(parse(&zero, &mut t).unwrap_err(), DropReason::ZeroHlen);
        let mut giant = vec![53, 1, 1];
        for _ in 0..3 {
            giant.extend_from_slice(&[82, 200]);
            giant.extend_from_slice(&[1; 200]);
        }
        assert_eq!(
            parse(&request(&giant), &mut t).unwrap_err(),
            DropReason::GiantOption82
        );
        let mut reply = request(&[255]);
        reply[0] = 2;
        assert_eq!(parse(&reply, &mut t).unwrap_err(), DropReason::NotRequest);
    }
}
