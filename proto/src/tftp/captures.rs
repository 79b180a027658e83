//! Requests captured from real clients on this machine (a UDP listener on 127.0.0.1 recording
//! what each client sent first), as hex.

/// `curl tftp://127.0.0.1/pxelinux.0 --tftp-blksize 1468` (curl 7.88.1).
pub const CURL_BLKSIZE_1468: &str = "00017078656c696e75782e30006f63746574007473697a65003000626c6b73697a6500313436380074696d656f7574003600";
/// `curl tftp://127.0.0.1/x.img` (curl 7.88.1, defaults).
pub const CURL_DEFAULT: &str =
    "0001782e696d67006f63746574007473697a65003000626c6b73697a65003531320074696d656f7574003600";
/// `tftp -m binary 127.0.0.1 -c get pxelinux.0` (tftp-hpa 5.2).
pub const TFTP_HPA_PLAIN: &str = "00017078656c696e75782e30006f6374657400";
/// `atftp --option "blksize 1468" --option "tsize 0" --option "windowsize 8" -g -r boot/grubx64.efi`.
pub const ATFTP_WINDOW: &str = "0001626f6f742f677275627836342e656669006f63746574007473697a65003000626c6b73697a6500313436380077696e646f7773697a65003800";

/// Decodes a capture.
pub fn bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}
