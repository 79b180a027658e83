//! TFTP packets on the wire (RFC 1350 §5) with option extensions (RFC 2347): parsing what a
//! client sends and writing what the server sends.

use thiserror::Error;

/// Read request (RFC 1350 §5).
pub const OP_RRQ: u16 = 1;
/// Write request.
pub const OP_WRQ: u16 = 2;
/// Data block.
pub const OP_DATA: u16 = 3;
/// Acknowledgement.
pub const OP_ACK: u16 = 4;
/// Error.
pub const OP_ERROR: u16 = 5;
/// Option acknowledgement (RFC 2347).
pub const OP_OACK: u16 = 6;

/// TFTP error codes (RFC 1350 appendix, RFC 2347 for 8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum ErrorCode {
    /// Not defined, see message.
    Undefined = 0,
    /// File not found.
    FileNotFound = 1,
    /// Access violation.
    AccessViolation = 2,
    /// Illegal TFTP operation.
    IllegalOperation = 4,
    /// Unknown transfer ID.
    UnknownTid = 5,
    /// Option negotiation refused (RFC 2347).
    OptionRefused = 8,
}

/// Transfer mode of a request (RFC 1350 §5; "mail" is obsolete and refused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Bytes as they are.
    Octet,
    /// Lines end in CR LF, a bare CR is sent as CR NUL.
    Netascii,
}

/// Options a request carries (RFC 2347), as parsed values; unknown options are skipped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestOptions {
    /// `blksize` (RFC 2348), if present and in 8..=65464.
    pub blksize: Option<u16>,
    /// `timeout` in seconds (RFC 2349), if present and in 1..=255.
    pub timeout: Option<u8>,
    /// `tsize` (RFC 2349), if present (0 in a read request).
    pub tsize: Option<u64>,
    /// `windowsize` (RFC 7440), if present and in 1..=65535.
    pub windowsize: Option<u16>,
}

/// A read or write request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// True for a write request (WRQ).
    pub write: bool,
    /// The file name exactly as sent (without its NUL).
    pub filename: &'a [u8],
    /// The transfer mode.
    pub mode: Mode,
    /// The options.
    pub options: RequestOptions,
}

/// A packet a client sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    /// RRQ or WRQ.
    Request(Request<'a>),
    /// ACK of a block number (0 acknowledges an OACK).
    Ack(u16),
    /// The client gives up.
    Error {
        /// Its code.
        code: u16,
        /// Its message, without the NUL.
        message: &'a [u8],
    },
    /// A DATA packet (only meaningful for writes, which we refuse).
    Data(u16),
}

/// Why a datagram is not a TFTP packet we accept.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum ParseError {
    /// Shorter than its fixed part.
    #[error("packet too short")]
    Short,
    /// An opcode outside 1..=5 (an OACK never comes from a client).
    #[error("unknown opcode {0}")]
    Opcode(u16),
    /// A request whose strings are not NUL-terminated, or an empty file name.
    #[error("malformed request")]
    Malformed,
    /// A mode other than octet or netascii.
    #[error("unsupported transfer mode")]
    Mode,
}

fn ascii_eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

fn number(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    v.iter().try_fold(0u64, |n, d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// Parses one datagram a client sent to the server.
pub fn parse(bytes: &[u8]) -> Result<Packet<'_>, ParseError> {
    let op = u16::from_be_bytes([
        *bytes.first().ok_or(ParseError::Short)?,
        *bytes.get(1).ok_or(ParseError::Short)?,
    ]);
    let body = &bytes[2..];
    let word = || {
        body.get(..2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or(ParseError::Short)
    };
    match op {
        OP_RRQ | OP_WRQ => parse_request(op == OP_WRQ, body).map(Packet::Request),
        OP_ACK => Ok(Packet::Ack(word()?)),
        OP_DATA => Ok(Packet::Data(word()?)),
        OP_ERROR => {
            let code = word()?;
            let rest = &body[2..];
            let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
            Ok(Packet::Error {
                code,
                message: &rest[..end],
            })
        }
        other => Err(ParseError::Opcode(other)),
    }
}

/// RFC 1350 §5 / RFC 2347: `filename NUL mode NUL (optname NUL value NUL)*`.
fn parse_request(write: bool, body: &[u8]) -> Result<Request<'_>, ParseError> {
    let mut fields = body.split(|&b| b == 0);
    // The last field after the final NUL must be empty (every string is terminated); some
    // clients pad with extra NULs, which give further empty fields that we skip.
    if body.last() != Some(&0) {
        return Err(ParseError::Malformed);
    }
    let filename = fields.next().ok_or(ParseError::Malformed)?;
    if filename.is_empty() {
        return Err(ParseError::Malformed);
    }
    let mode = fields.next().ok_or(ParseError::Malformed)?;
    let mode = if ascii_eq(mode, "octet") {
        Mode::Octet
    } else if ascii_eq(mode, "netascii") {
        Mode::Netascii
    } else {
        return Err(ParseError::Mode);
    };
    let mut options = RequestOptions::default();
    while let Some(name) = fields.next() {
        if name.is_empty() {
            continue;
        }
        // RFC 2347: a name without its value ends the list; ignore the stray name.
        let Some(value) = fields.next() else { break };
        let n = number(value);
        // RFC 2347: option names are case-insensitive; out-of-range values are ignored, so
        // the option is simply not acknowledged.
        if ascii_eq(name, "blksize") {
            // RFC 2348: 8..=65464 octets.
            options.blksize = n.filter(|v| (8..=65464).contains(v)).map(|v| v as u16);
        } else if ascii_eq(name, "timeout") {
            // RFC 2349: 1..=255 seconds.
            options.timeout = n.filter(|v| (1..=255).contains(v)).map(|v| v as u8);
        } else if ascii_eq(name, "tsize") {
            options.tsize = n;
        } else if ascii_eq(name, "windowsize") {
            // RFC 7440: 1..=65535 blocks.
            options.windowsize = n.filter(|v| (1..=65535).contains(v)).map(|v| v as u16);
        }
    }
    Ok(Request {
        write,
        filename,
        mode,
        options,
    })
}

/// The options the server acknowledges in an OACK (RFC 2347).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Oack {
    /// Acknowledged block size.
    pub blksize: Option<u16>,
    /// Acknowledged timeout, seconds.
    pub timeout: Option<u8>,
    /// The file's size.
    pub tsize: Option<u64>,
    /// Acknowledged window size.
    pub windowsize: Option<u16>,
}

impl Oack {
    /// True when at least one option is acknowledged (else no OACK is sent, RFC 2347).
    pub fn any(&self) -> bool {
        self.blksize.is_some()
            || self.timeout.is_some()
            || self.tsize.is_some()
            || self.windowsize.is_some()
    }
}

fn push_option(out: &mut Vec<u8>, name: &str, value: u64) {
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    out.extend_from_slice(value.to_string().as_bytes());
    out.push(0);
}

/// Writes an OACK packet into `out` (cleared first).
pub fn write_oack(oack: &Oack, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&OP_OACK.to_be_bytes());
    if let Some(v) = oack.blksize {
        push_option(out, "blksize", v.into());
    }
    if let Some(v) = oack.timeout {
        push_option(out, "timeout", v.into());
    }
    if let Some(v) = oack.tsize {
        push_option(out, "tsize", v);
    }
    if let Some(v) = oack.windowsize {
        push_option(out, "windowsize", v.into());
    }
}

/// Writes an ERROR packet into `out` (cleared first).
pub fn write_error(code: ErrorCode, message: &str, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&OP_ERROR.to_be_bytes());
    out.extend_from_slice(&(code as u16).to_be_bytes());
    out.extend_from_slice(message.as_bytes());
    out.push(0);
}

/// Writes the 4-byte DATA header for wire block number `block` into `out[..4]`; the payload
/// follows. Returns 4.
pub fn write_data_header(block: u16, out: &mut [u8]) -> usize {
    out[..2].copy_from_slice(&OP_DATA.to_be_bytes());
    out[2..4].copy_from_slice(&block.to_be_bytes());
    4
}

/// Writes a request (RRQ/WRQ) packet; used by tests, the load generator and the fuzz checks.
pub fn write_request(req: &Request<'_>, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&(if req.write { OP_WRQ } else { OP_RRQ }).to_be_bytes());
    out.extend_from_slice(req.filename);
    out.push(0);
    out.extend_from_slice(match req.mode {
        Mode::Octet => b"octet",
        Mode::Netascii => b"netascii",
    });
    out.push(0);
    let o = &req.options;
    if let Some(v) = o.blksize {
        push_option(out, "blksize", v.into());
    }
    if let Some(v) = o.timeout {
        push_option(out, "timeout", v.into());
    }
    if let Some(v) = o.tsize {
        push_option(out, "tsize", v);
    }
    if let Some(v) = o.windowsize {
        push_option(out, "windowsize", v.into());
    }
}

/// Parses an OACK a server sent (for clients: the load generator and tests).
pub fn parse_oack(bytes: &[u8]) -> Option<Oack> {
    if bytes.get(..2)? != OP_OACK.to_be_bytes() {
        return None;
    }
    let mut fields = bytes[2..].split(|&b| b == 0);
    let mut o = Oack::default();
    while let (Some(name), Some(value)) = (fields.next(), fields.next()) {
        let v = number(value)?;
        if ascii_eq(name, "blksize") {
            o.blksize = u16::try_from(v).ok();
        } else if ascii_eq(name, "timeout") {
            o.timeout = u8::try_from(v).ok();
        } else if ascii_eq(name, "tsize") {
            o.tsize = Some(v);
        } else if ascii_eq(name, "windowsize") {
            o.windowsize = u16::try_from(v).ok();
        }
    }
    Some(o)
}
