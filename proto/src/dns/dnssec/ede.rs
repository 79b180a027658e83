//! Replies for bogus answers: SERVFAIL carrying an Extended DNS Error option (RFC 8914) that
//! says why validation failed.

use super::Bogus;
use crate::dns::packet::{Query, write_error_reply};

/// RFC 8914 §2: the EDNS option code of Extended DNS Errors.
const OPTION_EDE: u16 = 15;
/// Longest EXTRA-TEXT written.
const MAX_TEXT: usize = 200;

/// Writes SERVFAIL for `query` into `out`; when the query had EDNS, the OPT record carries an
/// EDE option with `bogus`'s code and text. Returns the length written (0 if `out` is too small).
pub fn write_bogus_reply(
    query: &Query<'_>,
    bogus: Bogus,
    out: &mut [u8],
    our_udp_size: u16,
) -> usize {
    let len = write_error_reply(query, 2, out, our_udp_size);
    if len == 0 || query.edns.is_none() {
        return len;
    }
    append_ede(out, len, bogus.ede, bogus.why)
}

/// Appends an EDE option to the OPT record that ends the message `out[..len]` (its RDLENGTH is
/// the last two bytes); returns the new length, or `len` when there is no room.
pub fn append_ede(out: &mut [u8], len: usize, code: u16, text: &str) -> usize {
    let text = &text.as_bytes()[..text.len().min(MAX_TEXT)];
    let add = 4 + 2 + text.len();
    if len < 11 || out.len() < len + add {
        return len;
    }
    let rdlen_at = len - 2;
    let rdlen = u16::from_be_bytes([out[rdlen_at], out[rdlen_at + 1]]) as usize + add;
    out[rdlen_at..len].copy_from_slice(&(rdlen as u16).to_be_bytes());
    out[len..len + 2].copy_from_slice(&OPTION_EDE.to_be_bytes());
    out[len + 2..len + 4].copy_from_slice(&((2 + text.len()) as u16).to_be_bytes());
    out[len + 4..len + 6].copy_from_slice(&code.to_be_bytes());
    out[len + 6..len + add].copy_from_slice(text);
    len + add
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::packet::parse_query;
    use hickory_proto::op::Message;

    #[test]
    fn servfail_with_ede_parses_back() {
        // dig +dnssec www.bogus.test A (EDNS, DO=1), captured.
        let q: &[u8] = &[
            0x12, 0x34, 0x01, 0x20, 0, 1, 0, 0, 0, 0, 0, 1, 3, b'w', b'w', b'w', 5, b'b', b'o',
            b'g', b'u', b's', 4, b't', b'e', b's', b't', 0, 0, 1, 0, 1, 0, 0, 41, 4, 0xd0, 0, 0,
            0x80, 0, 0, 0,
        ];
        let query = parse_query(q).unwrap();
        let mut out = vec![0u8; 512];
        let n = write_bogus_reply(
            &query,
            Bogus::new(6, "signature does not verify"),
            &mut out,
            1232,
        );
        let m = Message::from_vec(&out[..n]).unwrap();
        assert_eq!(
            m.metadata.response_code,
            hickory_proto::op::ResponseCode::ServFail
        );
        let edns = m.edns.as_ref().unwrap();
        let opt = edns.options().as_ref();
        let ede = opt
            .iter()
            .find(|(c, _)| u16::from(*c) == 15)
            .expect("EDE option");
        let hickory_proto::rr::rdata::opt::EdnsOption::Unknown(_, data) = &ede.1 else {
            panic!("EDE kept as raw bytes: {:?}", ede.1);
        };
        assert_eq!(&data[..2], &[0, 6]);
        assert_eq!(&data[2..], b"signature does not verify");
    }
}
