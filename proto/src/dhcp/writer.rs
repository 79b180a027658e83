//! Encoder for BOOTREPLY messages into a caller buffer, without allocating.
//!
//! Header fields follow RFC 2131 §4.3.1 table 3; options longer than 255 bytes are split into
//! consecutive instances (RFC 3396 §7). An option that does not fit in the options field within
//! the client's maximum message size goes into the `file` and then the `sname` header field,
//! announced by option 52 (option overload, RFC 2131 §4.1, RFC 2132 §9.3), unless the caller
//! keeps those fields for a boot file or server name; an option that fits nowhere is left out
//! rather than truncated (RFC 2131 §4.3.1: mandatory ones are written first).

use std::net::Ipv4Addr;

use super::packet::{HEADER_LEN, MAGIC, code};

/// Byte range of the `sname` header field (RFC 2131 §2).
const SNAME: core::ops::Range<usize> = 44..108;
/// Byte range of the `file` header field (RFC 2131 §2).
const FILE: core::ops::Range<usize> = 108..236;

/// One overload area (`file` or `sname`): how much of it options use, if it may be used.
#[derive(Clone, Copy, Debug)]
struct Area {
    range: (usize, usize),
    used: usize,
    allowed: bool,
}

impl Area {
    fn new(r: core::ops::Range<usize>) -> Self {
        Area {
            range: (r.start, r.end),
            used: 0,
            allowed: true,
        }
    }

    /// Room left for options, keeping one byte for END.
    fn room(&self) -> usize {
        (self.range.1 - self.range.0).saturating_sub(self.used + 1)
    }
}

/// Smallest BOOTP message size; replies are padded up to it (RFC 951, RFC 1542 §2.1).
pub const MIN_REPLY: usize = 300;
/// Default maximum DHCP payload: 576-byte datagram minus IP and UDP headers (RFC 2131 §2).
pub const DEFAULT_MAX: usize = 576 - 28;

/// A BOOTREPLY being written into a caller buffer.
pub struct ReplyWriter<'b> {
    buf: &'b mut [u8],
    len: usize,
    limit: usize,
    reserve: usize,
    /// `file`, then `sname` (RFC 3396 §6 order), for option overload.
    areas: [Area; 2],
    /// Where option 52's value byte is, once overload is in use.
    overload_at: Option<usize>,
    /// Options left out because they did not fit.
    pub skipped: u32,
}

/// Fixed header of a reply (RFC 2131 §4.3.1 table 3).
#[derive(Clone, Copy, Debug)]
pub struct ReplyHeader<'a> {
    /// `htype` copied from the request.
    pub htype: u8,
    /// `chaddr` copied from the request.
    pub chaddr: &'a [u8],
    /// `xid` copied from the request.
    pub xid: u32,
    /// Broadcast flag (copied from the request, or set for a NAK through a relay).
    pub broadcast: bool,
    /// `ciaddr` (copied for ACKs to INFORM/RENEW).
    pub ciaddr: Ipv4Addr,
    /// `yiaddr`: the address given.
    pub yiaddr: Ipv4Addr,
    /// `siaddr`: next server.
    pub siaddr: Ipv4Addr,
    /// `giaddr` copied from the request.
    pub giaddr: Ipv4Addr,
}

impl<'b> ReplyWriter<'b> {
    /// Start a reply; `max` is the client's maximum DHCP payload. `None` if `buf` cannot hold a
    /// minimal reply.
    pub fn new(buf: &'b mut [u8], max: usize, h: &ReplyHeader<'_>) -> Option<Self> {
        let limit = max.clamp(DEFAULT_MAX, buf.len());
        if buf.len() < MIN_REPLY {
            return None;
        }
        buf[..MIN_REPLY].fill(0);
        buf[0] = 2;
        buf[1] = h.htype;
        buf[2] = h.chaddr.len() as u8;
        buf[4..8].copy_from_slice(&h.xid.to_be_bytes());
        if h.broadcast {
            buf[10] = 0x80;
        }
        buf[12..16].copy_from_slice(&h.ciaddr.octets());
        buf[16..20].copy_from_slice(&h.yiaddr.octets());
        buf[20..24].copy_from_slice(&h.siaddr.octets());
        buf[24..28].copy_from_slice(&h.giaddr.octets());
        buf[28..28 + h.chaddr.len()].copy_from_slice(h.chaddr);
        // DHCP options, and BOOTP's RFC 1497 vendor extensions, start with the cookie.
        buf[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(&MAGIC);
        let len = HEADER_LEN + 4;
        Some(ReplyWriter {
            buf,
            len,
            limit,
            reserve: 1,
            areas: [Area::new(FILE), Area::new(SNAME)],
            overload_at: None,
            skipped: 0,
        })
    }

    /// Keep the `file` and/or `sname` header fields out of option overload (they carry a boot
    /// file name or server name the caller writes into them).
    pub fn keep_header_fields(&mut self, file: bool, sname: bool) {
        self.areas[0].allowed &= !file;
        self.areas[1].allowed &= !sname;
    }

    /// Write a boot file name into the `file` header field (RFC 2131 §2: NUL-terminated, so at
    /// most 127 bytes are kept) and keep the field out of option overload.
    pub fn boot_file(&mut self, name: &[u8]) {
        let n = name.len().min(FILE.len() - 1);
        self.buf[FILE.start..FILE.start + n].copy_from_slice(&name[..n]);
        self.keep_header_fields(true, false);
    }

    /// Write a server host name into the `sname` header field (at most 63 bytes) and keep the
    /// field out of option overload.
    pub fn server_name(&mut self, name: &[u8]) {
        let n = name.len().min(SNAME.len() - 1);
        self.buf[SNAME.start..SNAME.start + n].copy_from_slice(&name[..n]);
        self.keep_header_fields(false, true);
    }

    /// The header field (`file` or `sname`) that can take `need` more bytes of options,
    /// starting overload (option 52 in the options field) if it has not started yet.
    fn overload_area(&mut self, need: usize) -> Option<usize> {
        let i = self
            .areas
            .iter()
            .position(|a| a.allowed && need <= a.room())?;
        if self.overload_at.is_none() {
            // Option 52 itself (3 bytes) must fit in the options field.
            if self.room() < 3 {
                return None;
            }
            let at = self.len;
            self.part(code::OVERLOAD, &[0]);
            self.overload_at = Some(at + 2);
        }
        Some(i)
    }

    /// Keep `n` bytes (plus the END byte) free for what is written last, e.g. the option 82 echo.
    pub fn reserve(&mut self, n: usize) {
        self.reserve = 1 + n;
    }

    /// Bytes needed to encode a value of `len` bytes, split per RFC 3396 §7.
    pub fn encoded_len(len: usize) -> usize {
        let parts = len.div_ceil(255).max(1);
        len + 2 * parts
    }

    /// Space left for options.
    pub fn room(&self) -> usize {
        self.limit.saturating_sub(self.len + self.reserve)
    }

    /// Write option `code` with `value`, split into 255-byte parts (RFC 3396 §7). Returns false
    /// (and counts it in `skipped`) if it does not fit.
    pub fn option(&mut self, code: u8, value: &[u8]) -> bool {
        let need = Self::encoded_len(value.len());
        if need <= self.room() {
            self.raw(code, value);
            return true;
        }
        let Some(i) = self.overload_area(need) else {
            self.skipped += 1;
            return false;
        };
        // The whole option (all its RFC 3396 parts) goes into this one field.
        let main_len = self.len;
        self.len = self.areas[i].range.0 + self.areas[i].used;
        self.raw(code, value);
        self.areas[i].used = self.len - self.areas[i].range.0;
        self.len = main_len;
        true
    }

    /// Write an option ignoring the reservation (for what the reservation was made for).
    pub fn option_reserved(&mut self, code: u8, value: &[u8]) -> bool {
        let need = Self::encoded_len(value.len());
        if self.len + need + 1 > self.limit {
            self.skipped += 1;
            return false;
        }
        self.raw(code, value);
        true
    }

    fn raw(&mut self, code: u8, value: &[u8]) {
        let mut chunks = value.chunks(255);
        let first = chunks.next().unwrap_or(&[]);
        self.part(code, first);
        for c in chunks {
            self.part(code, c);
        }
    }

    fn part(&mut self, code: u8, v: &[u8]) {
        let at = self.len;
        self.buf[at] = code;
        self.buf[at + 1] = v.len() as u8;
        self.buf[at + 2..at + 2 + v.len()].copy_from_slice(v);
        self.len += 2 + v.len();
    }

    /// A 4-byte address option.
    pub fn addr(&mut self, code: u8, a: Ipv4Addr) -> bool {
        self.option(code, &a.octets())
    }

    /// A 32-bit number option.
    pub fn u32(&mut self, code: u8, v: u32) -> bool {
        self.option(code, &v.to_be_bytes())
    }

    /// Finish with END and pad to [`MIN_REPLY`]; returns the reply length.
    pub fn finish(self) -> usize {
        if let Some(at) = self.overload_at {
            // RFC 2132 §9.3: 1 = `file` holds options, 2 = `sname`, 3 = both; each used field
            // ends with END.
            let mut flag = 0;
            for (bit, a) in [1u8, 2].into_iter().zip(self.areas) {
                if a.used > 0 {
                    flag |= bit;
                    self.buf[a.range.0 + a.used] = code::END;
                }
            }
            self.buf[at] = flag;
        }
        let mut len = self.len;
        self.buf[len] = code::END;
        len += 1;
        if len < MIN_REPLY {
            self.buf[len..MIN_REPLY].fill(0);
            len = MIN_REPLY;
        }
        len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dhcp::packet::{OptionTable, parse};
    use dhcproto::{Decodable, Decoder, v4};

    fn header() -> ReplyHeader<'static> {
        ReplyHeader {
            htype: 1,
            chaddr: &[1, 2, 3, 4, 5, 6],
            xid: 7,
            broadcast: true,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::new(10, 0, 0, 9),
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
        }
    }

    #[test]
    fn long_option_is_split_and_decodes() {
        let mut buf = [0u8; 1500];
        let mut w = ReplyWriter::new(&mut buf, 1400, &header()).unwrap();
        assert!(w.option(code::MESSAGE_TYPE, &[2]));
        let long = vec![b'x'; 300];
        assert!(w.option(code::DOMAIN, &long));
        let n = w.finish();
        let m = v4::Message::decode(&mut Decoder::new(&buf[..n])).unwrap();
        assert_eq!(m.yiaddr(), Ipv4Addr::new(10, 0, 0, 9));
        assert_eq!(m.xid(), 7);
        // Two parts: 255 + 45.
        assert_eq!(buf[240 + 3], code::DOMAIN);
        assert_eq!(buf[240 + 4], 255);
        assert_eq!(buf[240 + 3 + 257], code::DOMAIN);
        assert_eq!(buf[240 + 3 + 258], 45);
    }

    #[test]
    fn options_that_do_not_fit_are_skipped_whole() {
        let mut buf = [0u8; 1500];
        let mut w = ReplyWriter::new(&mut buf, 0, &header()).unwrap();
        assert!(w.option(code::MESSAGE_TYPE, &[2]));
        assert!(!w.option(code::DOMAIN, &[b'y'; 400]));
        assert!(w.option(code::HOSTNAME, b"h"));
        assert_eq!(w.skipped, 1);
        let n = w.finish();
        assert!(n <= DEFAULT_MAX);
    }

    /// Reads a reply back with the request parser (which follows overload, RFC 3396 order).
    fn reparse(reply: &[u8]) -> OptionTable {
        let mut r = reply.to_vec();
        r[0] = 1;
        let mut t = OptionTable::default();
        parse(&r, &mut t).unwrap();
        t
    }

    #[test]
    fn overload_moves_options_into_file_then_sname() {
        let mut buf = [0u8; 1500];
        let mut w = ReplyWriter::new(&mut buf, 0, &header()).unwrap();
        assert!(w.option(code::MESSAGE_TYPE, &[2]));
        // Fill the options field (548 - 240 = 308 bytes) almost to the end.
        assert!(w.option(200, &[1; 255]));
        assert!(w.option(201, &[2; 40]));
        // 100 bytes: only the file field (128) has room; 50 more: file is full, sname.
        assert!(w.option(202, &[3; 100]));
        assert!(w.option(203, &[4; 50]));
        assert!(!w.option(204, &[5; 100]), "fits nowhere");
        let n = w.finish();
        assert!(n <= DEFAULT_MAX);
        let reply = &buf[..n];
        assert_eq!(reply[FILE.start], 202);
        assert_eq!(reply[SNAME.start], 203);
        let t = reparse(reply);
        assert_eq!(t.get(code::OVERLOAD), Some(&[3][..]));
        assert_eq!(t.get(202), Some(&[3; 100][..]));
        assert_eq!(t.get(203), Some(&[4; 50][..]));
        assert_eq!(t.get(200).map(<[u8]>::len), Some(255));
        assert!(t.get(204).is_none());
    }

    #[test]
    fn kept_header_fields_are_not_overloaded() {
        let mut buf = [0u8; 1500];
        let mut w = ReplyWriter::new(&mut buf, 0, &header()).unwrap();
        w.keep_header_fields(true, false);
        assert!(w.option(200, &[1; 255]));
        assert!(w.option(201, &[2; 45]));
        assert!(w.option(202, &[3; 30]));
        assert!(!w.option(203, &[4; 100]), "sname is too small, file kept");
        let n = w.finish();
        assert!(buf[FILE].iter().all(|b| *b == 0));
        let t = reparse(&buf[..n]);
        assert_eq!(t.get(code::OVERLOAD), Some(&[2][..]));
        assert_eq!(t.get(202), Some(&[3; 30][..]));
    }

    proptest::proptest! {
        #[test]
        fn written_options_read_back_with_overload(
            opts in proptest::collection::vec((1u8..=250, 0usize..300), 0..12),
            keep_file in proptest::bool::ANY,
        ) {
            let mut buf = [0u8; 1500];
            let mut w = ReplyWriter::new(&mut buf, 0, &header()).unwrap();
            w.keep_header_fields(keep_file, false);
            let mut seen = std::collections::HashSet::new();
            let mut written = Vec::new();
            for (c, len) in opts {
                // Codes whose lengths the request parser checks are left out: it reads back.
                let checked = [
                    code::OVERLOAD,
                    code::MESSAGE_TYPE,
                    code::REQUESTED_IP,
                    code::SERVER_ID,
                    code::MAX_SIZE,
                    code::CLIENT_ID,
                    code::RELAY_AGENT,
                ];
                if checked.contains(&c) || !seen.insert(c) {
                    continue;
                }
                let v = vec![c; len];
                written.push((c, v.clone(), w.option(c, &v)));
            }
            let n = w.finish();
            proptest::prop_assert!(n <= DEFAULT_MAX);
            let t = reparse(&buf[..n]);
            for (c, v, ok) in written {
                if ok {
                    proptest::prop_assert_eq!(t.get(c), Some(&v[..]));
                } else {
                    proptest::prop_assert!(t.get(c).is_none());
                }
            }
            if keep_file {
                proptest::prop_assert!(buf[FILE].iter().all(|b| *b == 0));
            }
        }
    }
}
