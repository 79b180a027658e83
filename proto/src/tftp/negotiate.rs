//! Option negotiation for a read request (RFC 2347): which options the server acknowledges and
//! the transfer parameters that follow.

use super::packet::{Mode, Oack, RequestOptions};

/// RFC 1350 §2: the block size without options.
pub const DEFAULT_BLKSIZE: u16 = 512;
/// dnsmasq's retransmission timeout when the client sets none.
pub const DEFAULT_TIMEOUT_MS: u64 = 2000;
/// The largest window accepted, as dnsmasq.
pub const MAX_WINDOWSIZE: u16 = 32;
/// IPv4 + UDP + TFTP headers: blksize may be at most the MTU minus this (RFC 2348).
pub const V4_OVERHEAD: u16 = 32;
/// IPv6 + UDP + TFTP headers.
pub const V6_OVERHEAD: u16 = 52;

/// The server's limits on negotiation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `--tftp-no-blocksize`: never acknowledge blksize.
    pub no_blocksize: bool,
    /// Largest block size (from `--tftp-mtu` or the interface MTU, minus headers).
    pub max_blksize: u16,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            no_blocksize: false,
            max_blksize: 65464,
        }
    }
}

impl Limits {
    /// The block-size ceiling for a path MTU, `v6` choosing the IPv6 header size.
    pub fn blksize_for_mtu(mtu: u32, v6: bool) -> u16 {
        let overhead = u32::from(if v6 { V6_OVERHEAD } else { V4_OVERHEAD });
        mtu.saturating_sub(overhead).clamp(8, 65464) as u16
    }
}

/// The parameters of one transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// Bytes per DATA block.
    pub blksize: u16,
    /// Blocks sent before waiting for an ACK (RFC 7440).
    pub windowsize: u16,
    /// Initial retransmission timeout, milliseconds.
    pub timeout_ms: u64,
    /// The OACK to send first, if any option was acknowledged.
    pub oack: Option<Oack>,
}

/// Negotiates a read request's options for a file of `size` bytes (as it will be sent).
pub fn negotiate(req: &RequestOptions, mode: Mode, size: u64, limits: &Limits) -> Negotiated {
    let mut oack = Oack::default();
    // RFC 2348: the server may answer with a smaller block size than asked for.
    if !limits.no_blocksize
        && let Some(b) = req.blksize
    {
        oack.blksize = Some(b.min(limits.max_blksize).max(8));
    }
    // RFC 2349 §3.1: timeout is acknowledged as requested.
    oack.timeout = req.timeout;
    // RFC 2349 §3.2 / RFC 7440: tsize and windowsize in octet mode only, as dnsmasq (a
    // netascii size would depend on the conversion; windows with netascii are unusual).
    if mode == Mode::Octet {
        // An empty file's tsize is left out (RFC 2347 lets the server drop any option):
        // curl refuses an OACK with `tsize 0` and would fail to fetch it.
        if req.tsize.is_some() && size > 0 {
            oack.tsize = Some(size);
        }
        oack.windowsize = req.windowsize.map(|w| w.min(MAX_WINDOWSIZE));
    }
    Negotiated {
        blksize: oack.blksize.unwrap_or(DEFAULT_BLKSIZE),
        windowsize: oack.windowsize.unwrap_or(1),
        timeout_ms: oack
            .timeout
            .map_or(DEFAULT_TIMEOUT_MS, |t| u64::from(t) * 1000),
        oack: oack.any().then_some(oack),
    }
}

/// Converts file bytes to netascii (RFC 764 via RFC 1350 §1): LF becomes CR LF, a bare CR
/// becomes CR NUL.
pub fn to_netascii(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 16);
    for &b in data {
        match b {
            b'\n' => out.extend_from_slice(b"\r\n"),
            b'\r' => out.extend_from_slice(b"\r\0"),
            b => out.push(b),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_options_no_oack() {
        let n = negotiate(
            &RequestOptions::default(),
            Mode::Octet,
            100,
            &Limits::default(),
        );
        assert_eq!(n.blksize, 512);
        assert_eq!(n.windowsize, 1);
        assert_eq!(n.timeout_ms, 2000);
        assert_eq!(n.oack, None);
    }

    #[test]
    fn curl_request_is_acknowledged() {
        let req = RequestOptions {
            blksize: Some(1468),
            timeout: Some(6),
            tsize: Some(0),
            windowsize: None,
        };
        let n = negotiate(&req, Mode::Octet, 33_554_432, &Limits::default());
        assert_eq!(n.blksize, 1468);
        assert_eq!(n.timeout_ms, 6000);
        let o = n.oack.unwrap();
        assert_eq!(o.tsize, Some(33_554_432));
        assert_eq!(o.blksize, Some(1468));
        assert_eq!(o.windowsize, None);
    }

    #[test]
    fn limits_cap_blksize_and_window() {
        let req = RequestOptions {
            blksize: Some(9000),
            windowsize: Some(64),
            ..RequestOptions::default()
        };
        let lim = Limits {
            no_blocksize: false,
            max_blksize: Limits::blksize_for_mtu(1500, false),
        };
        let n = negotiate(&req, Mode::Octet, 1, &lim);
        assert_eq!(n.blksize, 1468);
        assert_eq!(n.windowsize, 32);
        assert_eq!(Limits::blksize_for_mtu(1500, true), 1448);
        let lim = Limits {
            no_blocksize: true,
            ..lim
        };
        let n = negotiate(&req, Mode::Octet, 1, &lim);
        assert_eq!(n.blksize, 512);
        assert_eq!(n.oack.unwrap().blksize, None);
    }

    #[test]
    fn netascii_gets_neither_tsize_nor_window() {
        let req = RequestOptions {
            tsize: Some(0),
            windowsize: Some(4),
            ..RequestOptions::default()
        };
        let n = negotiate(&req, Mode::Netascii, 10, &Limits::default());
        assert_eq!(n.oack, None);
        assert_eq!(n.windowsize, 1);
    }

    #[test]
    fn empty_file_gets_no_tsize() {
        let req = RequestOptions {
            tsize: Some(0),
            ..RequestOptions::default()
        };
        assert_eq!(
            negotiate(&req, Mode::Octet, 0, &Limits::default()).oack,
            None
        );
    }

    #[test]
    fn netascii_conversion() {
        assert_eq!(to_netascii(b"a\nb\rc\r\n"), b"a\r\nb\r\0c\r\0\r\n");
    }
}
