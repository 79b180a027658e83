//! PXE boot options: `-M/--dhcp-boot`, `--pxe-service`, `--pxe-prompt` and
//! `--dhcp-pxe-vendor`, with dnsmasq's syntax.

use std::net::Ipv4Addr;

use crate::dhcp_match::condition;
use crate::dhcp_option::TagCondition;
use crate::value::{ValueError, parse_uint};

/// One `--dhcp-boot=[tag:T,]FILE[,SERVERNAME[,SERVERADDR]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpBoot {
    /// Tag conditions; all must hold.
    pub tags: Vec<TagCondition>,
    /// Boot file name (the `file` header field, at most 127 bytes).
    pub file: String,
    /// Server name (the `sname` header field, at most 63 bytes); `None` when empty.
    pub server_name: Option<String>,
    /// Next server (`siaddr`); `None` means this server's own address.
    pub server_addr: Option<Ipv4Addr>,
}

/// What a `--pxe-service` menu item boots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PxeBoot {
    /// Download this file by TFTP (the PXE layer suffix `.N` is added when it has no
    /// extension).
    Basename(String),
    /// Search the network for a boot server of this type (0: boot from local disk).
    Type(u16),
}

/// One `--pxe-service=[tag:T,]CSA,MENU TEXT[,BASENAME|TYPE][,SERVER ADDRESS]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PxeService {
    /// Tag conditions; all must hold.
    pub tags: Vec<TagCondition>,
    /// Client system architecture (RFC 4578 §2.1, option 93) the item is shown to.
    pub csa: u16,
    /// Menu text.
    pub menu: String,
    /// What the item boots.
    pub boot: PxeBoot,
    /// Boot server address; `None` means this server.
    pub server: Option<Ipv4Addr>,
}

/// One `--pxe-prompt=[tag:T,]PROMPT[,TIMEOUT]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PxePrompt {
    /// Tag conditions; all must hold.
    pub tags: Vec<TagCondition>,
    /// Prompt text.
    pub text: String,
    /// Seconds before the first item boots (255: wait for a key).
    pub timeout: u8,
}

/// The client system architecture names dnsmasq knows, with their RFC 4578 §2.1 numbers.
const CSA_NAMES: &[(&str, u16)] = &[
    ("x86PC", 0),
    ("PC98", 1),
    ("IA64_EFI", 2),
    ("Alpha", 3),
    ("Arc_x86", 4),
    ("Intel_Lean_Client", 5),
    ("IA32_EFI", 6),
    ("BC_EFI", 7),
    ("Xscale_EFI", 8),
    ("x86-64_EFI", 9),
    ("ARM32_EFI", 10),
    ("ARM64_EFI", 11),
];

/// Splits leading `tag:`/`net:` items off a comma-separated value.
fn leading_tags(v: &str) -> Result<(Vec<TagCondition>, Vec<&str>), ValueError> {
    let mut tags = Vec::new();
    let mut rest = Vec::new();
    for item in v.split(',') {
        let t = item.trim();
        if rest.is_empty() && (t.starts_with("tag:") || t.starts_with("net:")) {
            tags.push(condition(t)?);
        } else {
            rest.push(t);
        }
    }
    Ok((tags, rest))
}

fn addr(v: &str) -> Result<Ipv4Addr, ValueError> {
    v.parse().map_err(|_| {
        ValueError::expected(format!(
            "an IPv4 server address, not {v:?} (server names are not looked up)"
        ))
    })
}

fn csa(v: &str) -> Result<u16, ValueError> {
    if let Some((_, n)) = CSA_NAMES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(v))
    {
        return Ok(*n);
    }
    parse_uint(v, u64::from(u16::MAX))
        .map(|n| n as u16)
        .map_err(|_| {
            ValueError::expected("a client system type: x86PC, BC_EFI, x86-64_EFI, ... or a number")
        })
}

impl DhcpBoot {
    /// Parses `[tag:T,...]FILE[,SERVERNAME[,SERVERADDR]]`.
    pub fn parse(v: &str) -> Result<DhcpBoot, ValueError> {
        let (tags, rest) = leading_tags(v)?;
        let shape = || ValueError::expected("[tag:T,]FILE[,SERVERNAME[,SERVERADDR]]");
        let (file, more) = rest.split_first().ok_or_else(shape)?;
        if file.is_empty() || more.len() > 2 {
            return Err(shape());
        }
        if file.len() > 127 {
            return Err(ValueError::expected(
                "a boot file name of at most 127 bytes",
            ));
        }
        let server_name = more
            .first()
            .filter(|s| !s.is_empty())
            .map(|s| s.to_string());
        if server_name.as_ref().is_some_and(|s| s.len() > 63) {
            return Err(ValueError::expected("a server name of at most 63 bytes"));
        }
        let server_addr = match more.get(1).filter(|s| !s.is_empty()) {
            Some(a) => Some(addr(a)?),
            None => None,
        };
        Ok(DhcpBoot {
            tags,
            file: file.to_string(),
            server_name,
            server_addr,
        })
    }
}

impl PxeService {
    /// Parses `[tag:T,...]CSA,MENU[,BASENAME|TYPE][,SERVERADDR]`.
    pub fn parse(v: &str) -> Result<PxeService, ValueError> {
        let (tags, rest) = leading_tags(v)?;
        let shape = || ValueError::expected("[tag:T,]CSA,MENU TEXT[,BASENAME|TYPE][,SERVER]");
        if !(2..=4).contains(&rest.len()) {
            return Err(shape());
        }
        let csa = csa(rest[0])?;
        let menu = rest[1].to_string();
        if menu.len() > 250 {
            return Err(ValueError::expected("a menu text of at most 250 bytes"));
        }
        let boot = match rest.get(2).filter(|s| !s.is_empty()) {
            None => PxeBoot::Type(0),
            Some(b) if b.bytes().all(|c| c.is_ascii_digit()) => PxeBoot::Type(
                parse_uint(b, u64::from(u16::MAX))
                    .map(|n| n as u16)
                    .map_err(|_| ValueError::expected("a boot server type from 0 to 65535"))?,
            ),
            Some(b) if b.len() > 120 => {
                return Err(ValueError::expected("a basename of at most 120 bytes"));
            }
            Some(b) => PxeBoot::Basename(b.to_string()),
        };
        let server = match rest.get(3).filter(|s| !s.is_empty()) {
            Some(a) => Some(addr(a)?),
            None => None,
        };
        Ok(PxeService {
            tags,
            csa,
            menu,
            boot,
            server,
        })
    }
}

impl PxePrompt {
    /// Parses `[tag:T,...]PROMPT[,TIMEOUT]`.
    pub fn parse(v: &str) -> Result<PxePrompt, ValueError> {
        let (tags, rest) = leading_tags(v)?;
        let shape = || ValueError::expected("[tag:T,]PROMPT[,TIMEOUT]");
        let (text, more) = rest.split_first().ok_or_else(shape)?;
        if more.len() > 1 || text.len() > 250 {
            return Err(shape());
        }
        let timeout = match more.first() {
            Some(t) => parse_uint(t, 255)
                .map(|n| n as u8)
                .map_err(|_| ValueError::expected("a timeout from 0 to 255 seconds"))?,
            None => 255,
        };
        Ok(PxePrompt {
            tags,
            text: text.to_string(),
            timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dhcp_boot_forms() {
        let b = DhcpBoot::parse("pxelinux.0").unwrap();
        assert_eq!(b.file, "pxelinux.0");
        assert!(b.tags.is_empty() && b.server_name.is_none() && b.server_addr.is_none());
        let b = DhcpBoot::parse("tag:efi,tag:!ipxe,efi/grubx64.efi,boothost,10.0.0.5").unwrap();
        assert_eq!(b.tags.len(), 2);
        assert!(b.tags[1].negated);
        assert_eq!(b.server_name.as_deref(), Some("boothost"));
        assert_eq!(b.server_addr, Some(Ipv4Addr::new(10, 0, 0, 5)));
        let b = DhcpBoot::parse("net:x,undionly.kpxe,,10.0.0.9").unwrap();
        assert_eq!(b.server_name, None);
        assert_eq!(b.server_addr, Some(Ipv4Addr::new(10, 0, 0, 9)));
        for bad in ["", "tag:x", "f,s,notanaddress", "f,s,1.2.3.4,extra"] {
            assert!(DhcpBoot::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pxe_service_forms() {
        let s = PxeService::parse("x86PC,Boot BIOS,pxelinux").unwrap();
        assert_eq!((s.csa, s.menu.as_str()), (0, "Boot BIOS"));
        assert_eq!(s.boot, PxeBoot::Basename("pxelinux".into()));
        let s = PxeService::parse("tag:a,X86-64_EFI,EFI,efi/grubx64.efi,10.1.2.3").unwrap();
        assert_eq!(s.csa, 9);
        assert_eq!(s.server, Some(Ipv4Addr::new(10, 1, 2, 3)));
        assert_eq!(
            PxeService::parse("BC_EFI,Local").unwrap().boot,
            PxeBoot::Type(0)
        );
        assert_eq!(
            PxeService::parse("7,Net,13").unwrap().boot,
            PxeBoot::Type(13)
        );
        assert_eq!(PxeService::parse("7,Net,13").unwrap().csa, 7);
        for bad in [
            "x86PC",
            "Mars,Menu",
            "x86PC,m,b,host.name",
            "1,2,3,4.4.4.4,5",
        ] {
            assert!(PxeService::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pxe_prompt_forms() {
        let p = PxePrompt::parse("Press F8 for menu.,60").unwrap();
        assert_eq!((p.text.as_str(), p.timeout), ("Press F8 for menu.", 60));
        assert_eq!(PxePrompt::parse("tag:x,Hi").unwrap().timeout, 255);
        assert!(PxePrompt::parse("Hi,256").is_err());
        assert!(PxePrompt::parse("").is_ok_and(|p| p.text.is_empty()));
    }
}
