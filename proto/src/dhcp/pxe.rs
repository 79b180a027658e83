//! PXE: boot file fields (`--dhcp-boot`), the PXE boot menu carried in option 43
//! (`--pxe-service`, `--pxe-prompt`), and the boot item lookup of the PXE boot server port.
//!
//! Sub-options of option 43 follow the PXE 2.1 specification (Intel, 1999), §2.4 table 2-1:
//! 6 discovery control, 8 boot servers, 9 boot menu, 10 menu prompt, 71 boot item, 255 end.
//! Client system architectures are RFC 4578 §2.1 numbers (option 93); a client is a PXE
//! client when its vendor class (option 60) starts with `PXEClient` (PXE 2.1 §2.2) or with a
//! `--dhcp-pxe-vendor` class.

use std::net::Ipv4Addr;

use super::config::TagCond;
use super::matching::Cond;
use super::packet::{OptionTable, code};
use super::server::ConfigError;
use super::tags::{TagSet, Tags};

/// Option 93, client system architecture (RFC 4578 §2.1).
pub const CLIENT_ARCH: u8 = 93;
/// Option 97, client machine identifier (RFC 4578 §2.3), echoed to PXE clients.
pub const CLIENT_UUID: u8 = 97;
/// The PXE vendor class (option 60) prefix and the value servers send back (PXE 2.1 §2.2).
pub const PXE_CLIENT: &[u8] = b"PXEClient";

/// PXE 2.1 §2.4, table 2-1: option 43 sub-option codes.
mod sub {
    /// PXE_DISCOVERY_CONTROL.
    pub const DISCOVERY_CONTROL: u8 = 6;
    /// PXE_BOOT_SERVERS.
    pub const BOOT_SERVERS: u8 = 8;
    /// PXE_BOOT_MENU.
    pub const BOOT_MENU: u8 = 9;
    /// PXE_MENU_PROMPT.
    pub const MENU_PROMPT: u8 = 10;
    /// PXE_BOOT_ITEM.
    pub const BOOT_ITEM: u8 = 71;
}

/// Discovery control bits (PXE 2.1 §2.4, table 2-1, tag 6): bit 0 disables broadcast and
/// bit 1 multicast discovery, so the client asks the listed boot servers directly.
const DISCOVER_LISTED_ONLY: u8 = 0b0000_0011;
/// Discovery control bit 3: boot the file named in the offer, without menu or discovery.
const USE_OFFERED_FILE: u8 = 0b0000_1000;

/// One `--dhcp-boot`: header fields for clients whose tags match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootSpec {
    /// Tag conditions; all must hold.
    pub tags: Vec<TagCond>,
    /// Boot file (`file`).
    pub file: String,
    /// Server host name (`sname`).
    pub server_name: Option<String>,
    /// Next server (`siaddr`); `None`: this server.
    pub server_addr: Option<Ipv4Addr>,
}

/// What a PXE menu item boots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PxeBoot {
    /// A file from this server's (or `server`'s) TFTP; the layer suffix is added when the
    /// name has no extension.
    Basename(String),
    /// A boot server type to discover (0: local boot).
    Type(u16),
}

/// One `--pxe-service` menu item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PxeService {
    /// Tag conditions; all must hold.
    pub tags: Vec<TagCond>,
    /// Client system architecture it is shown to (RFC 4578 §2.1).
    pub csa: u16,
    /// Menu text.
    pub menu: String,
    /// What it boots.
    pub boot: PxeBoot,
    /// Boot (TFTP) server; `None`: this server.
    pub server: Option<Ipv4Addr>,
}

/// One `--pxe-prompt`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PxePrompt {
    /// Tag conditions; all must hold.
    pub tags: Vec<TagCond>,
    /// Prompt text.
    pub text: String,
    /// Seconds before the first item boots; 255 waits for a key.
    pub timeout: u8,
}

#[derive(Debug)]
pub(super) struct CBoot {
    cond: Cond,
    weight: u32,
    pub(super) file: Vec<u8>,
    pub(super) sname: Option<Vec<u8>>,
    pub(super) addr: Option<Ipv4Addr>,
}

#[derive(Debug)]
pub(super) struct CService {
    cond: Cond,
    csa: u16,
    menu: Vec<u8>,
    typ: u16,
    basename: Option<Vec<u8>>,
    pub(super) server: Option<Ipv4Addr>,
}

#[derive(Debug)]
struct CPrompt {
    cond: Cond,
    text: Vec<u8>,
    timeout: u8,
}

/// The compiled PXE configuration.
#[derive(Debug, Default)]
pub(super) struct Pxe {
    boots: Vec<CBoot>,
    services: Vec<CService>,
    prompts: Vec<CPrompt>,
    vendors: Vec<Vec<u8>>,
}

impl Pxe {
    /// Compiles the PXE lines; items with a basename get boot server types 0x8000, 0x8001, ...
    /// in configuration order, as dnsmasq numbers them.
    pub(super) fn compile(
        tags: &mut Tags,
        boots: &[BootSpec],
        services: &[PxeService],
        prompts: &[PxePrompt],
        vendors: &[String],
    ) -> Result<Pxe, ConfigError> {
        let mut out = Pxe::default();
        for b in boots {
            let cond = Cond::compile(tags, &b.tags)?;
            out.boots.push(CBoot {
                weight: cond.pos.count(),
                cond,
                file: b.file.as_bytes().to_vec(),
                sname: b.server_name.as_ref().map(|s| s.as_bytes().to_vec()),
                addr: b.server_addr,
            });
        }
        let mut next_type = 0x8000u16;
        for s in services {
            let (typ, basename) = match &s.boot {
                PxeBoot::Basename(b) => {
                    let t = next_type;
                    next_type = next_type.wrapping_add(1);
                    (t, Some(b.as_bytes().to_vec()))
                }
                PxeBoot::Type(t) => (*t, None),
            };
            out.services.push(CService {
                cond: Cond::compile(tags, &s.tags)?,
                csa: s.csa,
                menu: s.menu.as_bytes().to_vec(),
                typ,
                basename,
                server: s.server,
            });
        }
        for p in prompts {
            out.prompts.push(CPrompt {
                cond: Cond::compile(tags, &p.tags)?,
                text: p.text.as_bytes().to_vec(),
                timeout: p.timeout,
            });
        }
        out.vendors = if vendors.is_empty() {
            vec![PXE_CLIENT.to_vec()]
        } else {
            vendors.iter().map(|v| v.as_bytes().to_vec()).collect()
        };
        Ok(out)
    }

    /// Whether the request comes from a PXE client (its vendor class starts with one of ours).
    pub(super) fn is_client(&self, opts: &OptionTable) -> bool {
        opts.get(code::VENDOR_CLASS)
            .is_some_and(|v| self.vendors.iter().any(|p| v.starts_with(p)))
    }

    /// Whether a PXE menu (services or a prompt) is configured.
    pub(super) fn has_menu(&self) -> bool {
        !self.services.is_empty() || !self.prompts.is_empty()
    }

    /// The `--dhcp-boot` for `tags`: the one with most positive tags that holds, the first of
    /// equals.
    pub(super) fn boot(&self, tags: &TagSet) -> Option<&CBoot> {
        let mut best: Option<&CBoot> = None;
        for b in &self.boots {
            if b.cond.holds(tags) && best.is_none_or(|x| b.weight > x.weight) {
                best = Some(b);
            }
        }
        best
    }

    fn prompt(&self, tags: &TagSet) -> Option<&CPrompt> {
        self.prompts.iter().find(|p| p.cond.holds(tags))
    }

    /// The client's system architecture: option 93's first entry, x86PC (0) without it.
    pub(super) fn client_arch(opts: &OptionTable) -> u16 {
        opts.get(CLIENT_ARCH)
            .filter(|v| v.len() >= 2)
            .map_or(0, |v| u16::from_be_bytes([v[0], v[1]]))
    }

    /// The PXE sub-options of option 43 for a DHCP (or proxy-DHCP) offer, without the END
    /// sub-option: discovery control, boot servers, menu and prompt for the client's
    /// architecture. Without a configured prompt the menu gets `PXE` with timeout 0 for one
    /// item and 255 for several (dnsmasq's default). With no item for the architecture only
    /// the prompt is sent; with a `--dhcp-boot` file and no item the client is told to boot
    /// the offered file (`use_file`).
    pub(super) fn menu_options(
        &self,
        tags: &TagSet,
        csa: u16,
        server_id: Ipv4Addr,
        use_file: bool,
        out: &mut Vec<u8>,
    ) {
        out.clear();
        let items = || {
            self.services
                .iter()
                .filter(move |s| s.csa == csa && s.cond.holds(tags))
        };
        let count = items().count();
        let prompt = self.prompt(tags);
        let push_prompt = |out: &mut Vec<u8>, timeout: u8, text: &[u8]| {
            let text = &text[..text.len().min(250)];
            out.extend_from_slice(&[sub::MENU_PROMPT, 1 + text.len() as u8, timeout]);
            out.extend_from_slice(text);
        };
        if count == 0 {
            if use_file {
                out.extend_from_slice(&[sub::DISCOVERY_CONTROL, 1, USE_OFFERED_FILE]);
            }
            if let Some(p) = prompt {
                push_prompt(out, p.timeout, &p.text);
            }
            return;
        }
        if count == 1 && csa != 0 {
            // One item for an EFI client: no menu, boot at once (dnsmasq 2.90 sends discovery
            // control 8 and the prompt alone; the client asks the boot server as usual).
            out.extend_from_slice(&[sub::DISCOVERY_CONTROL, 1, USE_OFFERED_FILE]);
            match prompt {
                Some(p) => push_prompt(out, p.timeout, &p.text),
                None => push_prompt(out, 0, b"PXE"),
            }
            return;
        }
        out.extend_from_slice(&[sub::DISCOVERY_CONTROL, 1, DISCOVER_LISTED_ONLY]);
        if prompt.is_none() {
            push_prompt(out, if count == 1 { 0 } else { 255 }, b"PXE");
        }
        // Boot servers: our own address for items we serve (the 4011 answer names the TFTP
        // server), the given address for a discovered type; local boot (0) is not listed.
        let start = out.len();
        out.extend_from_slice(&[sub::BOOT_SERVERS, 0]);
        for s in items() {
            let addr = match (&s.basename, s.server) {
                (Some(_), _) => server_id,
                (None, Some(a)) if s.typ != 0 => a,
                _ => continue,
            };
            if out.len() - start + 7 > 2 + 255 {
                break;
            }
            out.extend_from_slice(&s.typ.to_be_bytes());
            out.push(1);
            out.extend_from_slice(&addr.octets());
        }
        if out.len() == start + 2 {
            out.truncate(start);
        } else {
            out[start + 1] = (out.len() - start - 2) as u8;
        }
        // Option 43 as a whole stays within 255 bytes, with the prompt and END after the menu.
        let tail = prompt.map_or(0, |p| 3 + p.text.len().min(250)) + 1;
        let start = out.len();
        out.extend_from_slice(&[sub::BOOT_MENU, 0]);
        for s in items() {
            let text = &s.menu[..s.menu.len().min(250)];
            if out.len() + 3 + text.len() + tail > 255 || out.len() + 3 + text.len() - start > 257 {
                break;
            }
            out.extend_from_slice(&s.typ.to_be_bytes());
            out.push(text.len() as u8);
            out.extend_from_slice(text);
        }
        out[start + 1] = (out.len() - start - 2) as u8;
        if let Some(p) = prompt {
            push_prompt(out, p.timeout, &p.text);
        }
        if out.len() > 254 {
            // Never more than option 43 can carry (with END): drop the menu's tail.
            out.truncate(254);
        }
    }

    /// The boot item (type, layer) a client asks the boot server for: option 43 sub-option 71
    /// (PXE 2.1 §2.2.5, table 2-1).
    pub(super) fn boot_item(opts: &OptionTable) -> Option<(u16, u16)> {
        let mut v = opts.get(code::VENDOR)?;
        while let [c, rest @ ..] = v {
            match *c {
                0 => v = rest,
                255 => return None,
                _ => {
                    let [len, rest @ ..] = rest else { return None };
                    let len = usize::from(*len);
                    let body = rest.get(..len)?;
                    if *c == sub::BOOT_ITEM && len >= 4 {
                        return Some((
                            u16::from_be_bytes([body[0], body[1]]),
                            u16::from_be_bytes([body[2], body[3]]),
                        ));
                    }
                    v = &rest[len..];
                }
            }
        }
        None
    }

    /// The only item for a non-x86PC client, when it has exactly one and it is a file: such
    /// a client gets no menu (see [`Pxe::menu_options`]), so a proxy offer names the file.
    pub(super) fn single_efi_item(&self, tags: &TagSet, csa: u16) -> Option<&CService> {
        let mut items = self
            .services
            .iter()
            .filter(|s| s.csa == csa && s.cond.holds(tags));
        let first = items.next()?;
        (csa != 0 && items.next().is_none() && first.basename.is_some()).then_some(first)
    }

    /// The service with a boot file of boot server type `typ` whose tags hold.
    pub(super) fn service_of_type(&self, tags: &TagSet, typ: u16) -> Option<&CService> {
        self.services
            .iter()
            .find(|s| s.typ == typ && s.basename.is_some() && s.cond.holds(tags))
    }

    /// The option 43 sub-options of a boot server ACK: the boot item, then the prompt.
    pub(super) fn ack_options(&self, tags: &TagSet, typ: u16, layer: u16, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&[sub::BOOT_ITEM, 4]);
        out.extend_from_slice(&typ.to_be_bytes());
        out.extend_from_slice(&layer.to_be_bytes());
        if let Some(p) = self.prompt(tags) {
            let text = &p.text[..p.text.len().min(240)];
            out.extend_from_slice(&[sub::MENU_PROMPT, 1 + text.len() as u8, p.timeout]);
            out.extend_from_slice(text);
        }
    }
}

impl CService {
    /// The file for `layer` (PXE 2.1 §2.2.5: bits 0-14 of the layer; bit 15 asks for
    /// credentials): `basename.LAYER`, or the basename itself when it has an extension.
    pub(super) fn file(&self, layer: u16, out: &mut Vec<u8>) {
        out.clear();
        let Some(b) = &self.basename else { return };
        out.extend_from_slice(b);
        let last = b.rsplit(|c| *c == b'/').next().unwrap_or(b);
        if !last.contains(&b'.') {
            out.push(b'.');
            out.extend_from_slice((layer & 0x7fff).to_string().as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(csa: u16, menu: &str, boot: PxeBoot, server: Option<Ipv4Addr>) -> PxeService {
        PxeService {
            tags: Vec::new(),
            csa,
            menu: menu.into(),
            boot,
            server,
        }
    }

    fn compile(services: &[PxeService], prompts: &[PxePrompt]) -> Pxe {
        Pxe::compile(&mut Tags::default(), &[], services, prompts, &[]).unwrap()
    }

    const SID: Ipv4Addr = Ipv4Addr::new(10, 79, 0, 1);

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Option 43 of dnsmasq 2.90 for `--pxe-prompt="Press F8",5
    /// --pxe-service=x86PC,"Boot BIOS",pxelinux --pxe-service=x86PC,"Local",0` to an x86PC
    /// client (captured from its DHCPOFFER, END removed).
    #[test]
    fn menu_with_prompt_matches_dnsmasq() {
        let p = compile(
            &[
                svc(0, "Boot BIOS", PxeBoot::Basename("pxelinux".into()), None),
                svc(0, "Local", PxeBoot::Type(0), None),
            ],
            &[PxePrompt {
                tags: Vec::new(),
                text: "Press F8".into(),
                timeout: 5,
            }],
        );
        let mut out = Vec::new();
        p.menu_options(&TagSet::default(), 0, SID, false, &mut out);
        let want = hex(
            "06010308078000010a4f00010914800009426f6f742042494f530000054c6f63616c0a09055072657373204638",
        );
        assert_eq!(out, want);
        // An EFI client gets no item: only the prompt.
        p.menu_options(&TagSet::default(), 7, SID, false, &mut out);
        assert_eq!(out, hex("0a09055072657373204638"));
        // One EFI item (dnsmasq 2.90 with `--pxe-service=BC_EFI,"Boot EFI",efi/grubx64.efi`
        // and no prompt): discovery control 8 and the default prompt, no menu.
        let efi = compile(
            &[svc(
                7,
                "Boot EFI",
                PxeBoot::Basename("efi/x.efi".into()),
                None,
            )],
            &[],
        );
        efi.menu_options(&TagSet::default(), 7, SID, false, &mut out);
        assert_eq!(out, hex("0601080a0400505845"));
    }

    /// dnsmasq 2.90 with `--pxe-service=BC_EFI,...` then two x86PC items (one on another
    /// server) and no prompt: default prompt first, timeout 255, our own address listed.
    #[test]
    fn default_prompt_and_numbering_match_dnsmasq() {
        let other = Some(Ipv4Addr::new(10, 79, 0, 5));
        let p = compile(
            &[
                svc(7, "Boot EFI", PxeBoot::Basename("efi/x.efi".into()), None),
                svc(0, "Boot", PxeBoot::Basename("pxelinux".into()), None),
                svc(0, "Other", PxeBoot::Basename("other".into()), other),
            ],
            &[],
        );
        let mut out = Vec::new();
        p.menu_options(&TagSet::default(), 0, SID, false, &mut out);
        let want = hex(
            "0601030a04ff505845080e8001010a4f00018002010a4f0001090f800104426f6f748002054f74686572",
        );
        assert_eq!(out, want);
        let one = compile(
            &[svc(0, "Boot", PxeBoot::Basename("pxelinux".into()), None)],
            &[],
        );
        one.menu_options(&TagSet::default(), 0, SID, false, &mut out);
        assert_eq!(
            out,
            hex("0601030a040050584508078000010a4f00010907800004426f6f74")
        );
    }

    #[test]
    fn boot_item_and_file() {
        let mut t = OptionTable::default();
        let mut req = vec![0u8; 236];
        req.extend_from_slice(&super::super::packet::MAGIC);
        req.extend_from_slice(&[53, 1, 3, 43, 7, 71, 4, 0x80, 0, 0, 0, 255, 255]);
        req[0] = 1;
        req[1] = 1;
        req[2] = 6;
        super::super::packet::parse(&req, &mut t).unwrap();
        assert_eq!(Pxe::boot_item(&t), Some((0x8000, 0)));
        let p = compile(
            &[
                svc(0, "a", PxeBoot::Basename("pxelinux".into()), None),
                svc(7, "b", PxeBoot::Basename("efi/grubx64.efi".into()), None),
            ],
            &[],
        );
        let mut f = Vec::new();
        let s = p.service_of_type(&TagSet::default(), 0x8000).unwrap();
        s.file(0, &mut f);
        assert_eq!(f, b"pxelinux.0");
        s.file(0x8003, &mut f);
        assert_eq!(f, b"pxelinux.3");
        p.service_of_type(&TagSet::default(), 0x8001)
            .unwrap()
            .file(1, &mut f);
        assert_eq!(f, b"efi/grubx64.efi");
        assert!(p.service_of_type(&TagSet::default(), 0).is_none());
        let mut a = Vec::new();
        p.ack_options(&TagSet::default(), 0x8000, 0, &mut a);
        assert_eq!(a, hex("470480000000"));
    }
}
