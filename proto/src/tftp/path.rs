//! Where a requested file name may lead: the pure half of TFTP path safety.
//!
//! A request names a file relative to the TFTP root. [`resolve`] turns the name into a
//! relative path made only of plain components, or refuses it; the engine then opens that
//! path beneath the root directory with the kernel forbidding any escape (symlinks included),
//! so both halves must be broken for a file outside the root to be read.

use thiserror::Error;

/// Why a requested file name is refused.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum PathError {
    /// Nothing but separators.
    #[error("empty file name")]
    Empty,
    /// A `..` component.
    #[error("file name leaves the TFTP root")]
    Traversal,
    /// A control character (or DEL) in the name.
    #[error("file name contains a control character")]
    ControlByte,
}

/// Resolves a requested `filename` to a path relative to the TFTP root whose every component
/// is a plain name (no `.`, `..` or empty components).
///
/// As dnsmasq: `\` is taken as `/` (DOS-style PXE clients), `lowercase` (`--tftp-lowercase`)
/// folds ASCII letters, and an absolute name is taken inside the root: a leading `root` prefix
/// (the root's own absolute path) is removed, any other leading `/` is ignored.
pub fn resolve(filename: &[u8], root: &[u8], lowercase: bool) -> Result<Vec<u8>, PathError> {
    if filename.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err(PathError::ControlByte);
    }
    let mut name: Vec<u8> = filename
        .iter()
        .map(|&b| if b == b'\\' { b'/' } else { b })
        .collect();
    if lowercase {
        name.make_ascii_lowercase();
    }
    let root = trim_trailing_slashes(root);
    let mut rest: &[u8] = &name;
    if rest.first() == Some(&b'/')
        && root.len() > 1
        && rest.starts_with(root)
        && rest.get(root.len()).is_none_or(|&b| b == b'/')
    {
        rest = &rest[root.len()..];
    }
    let mut out = Vec::with_capacity(rest.len());
    for part in rest.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => return Err(PathError::Traversal),
            p => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(p);
            }
        }
    }
    if out.is_empty() {
        return Err(PathError::Empty);
    }
    Ok(out)
}

fn trim_trailing_slashes(mut p: &[u8]) -> &[u8] {
    while p.len() > 1 && p.last() == Some(&b'/') {
        p = &p[..p.len() - 1];
    }
    p
}

/// The `--tftp-unique-root=mac` directory name of a hardware address: lower-case hex pairs
/// joined by `-` (`01-02-03-04-aa-bb`), as dnsmasq.
pub fn mac_dir(mac: &[u8]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(name: &str) -> String {
        String::from_utf8(resolve(name.as_bytes(), b"/srv/tftp", false).unwrap()).unwrap()
    }

    #[test]
    fn plain_and_nested_names() {
        assert_eq!(ok("pxelinux.0"), "pxelinux.0");
        assert_eq!(ok("boot/grub/x64.efi"), "boot/grub/x64.efi");
        assert_eq!(ok("./boot//x.efi"), "boot/x.efi");
        assert_eq!(ok("boot\\x.efi"), "boot/x.efi");
    }

    #[test]
    fn absolute_names_stay_inside_the_root() {
        assert_eq!(ok("/pxelinux.0"), "pxelinux.0");
        assert_eq!(ok("/srv/tftp/pxelinux.0"), "pxelinux.0");
        assert_eq!(
            resolve(b"/srv/tftp/", b"/srv/tftp", false),
            Err(PathError::Empty)
        );
        assert_eq!(ok("/etc/passwd"), "etc/passwd");
        assert_eq!(ok("/srv/tftpx/a"), "srv/tftpx/a");
        assert_eq!(ok("\\\\server\\share"), "server/share");
    }

    #[test]
    fn traversal_is_refused_in_every_spelling() {
        for bad in [
            "..",
            "../etc/passwd",
            "a/../../etc/passwd",
            "a/..",
            "..\\..\\etc\\passwd",
            "/srv/tftp/../etc/passwd",
            "./../x",
        ] {
            assert_eq!(
                resolve(bad.as_bytes(), b"/srv/tftp", false),
                Err(PathError::Traversal),
                "{bad}"
            );
        }
        // Names that only look like traversal are plain names.
        assert_eq!(ok("...."), "....");
        assert_eq!(ok("%2e%2e/x"), "%2e%2e/x");
        assert_eq!(ok("..x"), "..x");
    }

    #[test]
    fn control_bytes_and_empty_names_are_refused() {
        assert_eq!(resolve(b"a\nb", b"/r", false), Err(PathError::ControlByte));
        assert_eq!(resolve(b"a\x7f", b"/r", false), Err(PathError::ControlByte));
        assert_eq!(resolve(b"///", b"/r", false), Err(PathError::Empty));
        assert_eq!(resolve(b"./.", b"/r", false), Err(PathError::Empty));
    }

    #[test]
    fn lowercase_folds_ascii_only() {
        assert_eq!(
            resolve("PXELinux.0/Ä".as_bytes(), b"/r", true).unwrap(),
            "pxelinux.0/Ä".as_bytes()
        );
    }

    #[test]
    fn mac_directory_name() {
        assert_eq!(mac_dir(&[1, 2, 3, 4, 0xaa, 0xbb]), "01-02-03-04-aa-bb");
    }
}
