//! PXE menus: `--pxe-service` (x86PC, BC_EFI, local boot) and `--pxe-prompt` reach a BIOS and a
//! UEFI client (udhcpc with options 60, 93 and 97, asking for option 43) in option 43 byte for
//! byte as dnsmasq 2.90 sends them for the same lines, with option 60 `PXEClient` and the UUID
//! echoed. Then the boot server (port 4011, no packaged client asks it, so a scripted PXE
//! client does) answers the menu item with the file to fetch, again as dnsmasq does, and the
//! file comes over TFTP.

use std::net::Ipv4Addr;
use std::time::Duration;

use ringmasq_tests::dhcp_lab::{self, DhcpLab, SERVER_ADDR};
use ringmasq_tests::pxe_client::{PxeClient, Reply};
use ringmasq_tests::pxe_lab::{boot_file, boot_root, client_address, tftp_get};

const UUID: &str = "0x61:000102030405060708090a0b0c0d0e0f10";

fn opts(arch: &str) -> Vec<&str> {
    let vc = if arch == "0000" {
        "PXEClient:Arch:00000:UNDI:002001"
    } else {
        "PXEClient:Arch:00007:UNDI:003016"
    };
    vec![
        "-V",
        vc,
        "-x",
        if arch == "0000" {
            "0x5d:0000"
        } else {
            "0x5d:0007"
        },
        "-x",
        UUID,
        "-O",
        "43",
    ]
}

fn env_value(env: &str, key: &str) -> String {
    env.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .unwrap_or("")
        .to_string()
}

/// What one server told the two clients and the boot server answer for the BIOS item.
#[derive(Debug, PartialEq)]
struct Seen {
    bios43: String,
    uefi43: String,
    vendor: String,
    uuid: String,
    ack_file: String,
    ack_siaddr: Ipv4Addr,
    ack43: Vec<u8>,
    efi_file: String,
    efi_siaddr: Ipv4Addr,
}

fn client() -> PxeClient {
    PxeClient {
        mac: dhcp_lab::parse_mac(dhcp_lab::CLIENT_MAC),
        arch: 0,
        xid: 0x5058_4501,
    }
}

fn ask(lab: &DhcpLab, arch: u16, typ: u16) -> Reply {
    let c = PxeClient { arch, ..client() };
    lab.client
        .run_in(move || {
            c.boot_item(
                Ipv4Addr::new(10, 77, 0, 200),
                Ipv4Addr::new(10, 77, 0, 1),
                typ,
            )
        })
        .unwrap_or_else(|| panic!("no boot server answer for {typ:#x}:\n{}", lab.log()))
}

#[test]
fn menu_and_boot_server_match_dnsmasq() {
    if !dhcp_lab::usable() {
        return;
    }
    let lab = DhcpLab::new("pm");
    let root = lab.dir.join("tftp");
    boot_root(&root);
    let root_arg = format!("--tftp-root={}", root.display());
    let lines = [
        "--enable-tftp",
        root_arg.as_str(),
        "--pxe-prompt=Press F8 for the menu,5",
        "--pxe-service=x86PC,Boot BIOS,pxelinux",
        "--pxe-service=x86PC,Local disk,0",
        "--pxe-service=BC_EFI,Boot EFI,efi/grubx64.efi,10.77.0.9",
    ];
    let mut all = Vec::new();
    for server in ["ringmasq", "dnsmasq"] {
        if server == "dnsmasq" && !dhcp_lab::have_dnsmasq() {
            continue;
        }
        let _ = std::fs::remove_file(lab.lease_file());
        let s = if server == "ringmasq" {
            lab.ringmasq(&lines)
        } else {
            lab.dnsmasq(&lines)
        };
        let (_, bios) = lab.udhcpc_env(&opts("0000"));
        let (_, uefi) = lab.udhcpc_env(&opts("0007"));
        client_address(&lab, "10.77.0.200");
        let ack = ask(&lab, 0, 0x8000);
        let efi = ask(&lab, 7, 0x8001);
        // Local boot (type 0) is not served by a boot server: no answer within the window.
        let c = client();
        let local = lab.client.run_in(move || {
            c.boot_item(
                Ipv4Addr::new(10, 77, 0, 200),
                Ipv4Addr::new(10, 77, 0, 1),
                0,
            )
        });
        assert!(local.is_none(), "{server} answered local boot");
        if server == "ringmasq" {
            let out = lab.dir.join("fetched");
            let (got, text) = tftp_get(&lab.client, SERVER_ADDR, &ack.file, &out);
            assert!(
                got == boot_file("pxelinux.0"),
                "{} bytes\n{text}",
                got.len()
            );
            lab.wait_log("PXE(rmqv0) 10.77.0.200 pxelinux.0");
        }
        lab.client
            .must_ip(&["addr", "del", "10.77.0.200/24", "dev", dhcp_lab::CLIENT_IF]);
        let seen = Seen {
            bios43: env_value(&bios, "opt43"),
            uefi43: env_value(&uefi, "opt43"),
            vendor: env_value(&bios, "vendor"),
            uuid: env_value(&bios, "opt97"),
            ack_file: ack.file.clone(),
            ack_siaddr: ack.siaddr,
            ack43: ack.options.get(&43).cloned().unwrap_or_default(),
            efi_file: efi.file.clone(),
            efi_siaddr: efi.siaddr,
        };
        println!("{server}: {seen:?}");
        assert!(ack.is_pxe() && ack.kind() == Some(5), "{ack:?}");
        all.push((server, seen));
        s.stop(libc::SIGTERM);
        std::thread::sleep(Duration::from_millis(100));
    }
    let ours = &all[0].1;
    // The x86PC menu: discovery control 3, boot server 0x8000 at us, two items, the prompt.
    assert!(ours.bios43.starts_with("060103080780000"), "{ours:?}");
    assert!(ours.bios43.ends_with("ff"), "{ours:?}");
    assert_eq!(ours.vendor, "PXEClient");
    assert_eq!(ours.uuid, "000102030405060708090a0b0c0d0e0f10");
    assert_eq!(ours.ack_file, "pxelinux.0");
    assert_eq!(ours.ack_siaddr, Ipv4Addr::new(10, 77, 0, 1));
    assert_eq!(ours.efi_file, "efi/grubx64.efi");
    assert_eq!(ours.efi_siaddr, Ipv4Addr::new(10, 77, 0, 9));
    for (server, seen) in &all[1..] {
        assert_eq!(seen.bios43, ours.bios43, "{server}");
        assert_eq!(seen.uefi43, ours.uefi43, "{server}");
        assert_eq!(
            (
                &seen.vendor,
                &seen.uuid,
                &seen.ack_file,
                seen.ack_siaddr,
                &seen.ack43
            ),
            (
                &ours.vendor,
                &ours.uuid,
                &ours.ack_file,
                ours.ack_siaddr,
                &ours.ack43
            ),
            "{server}"
        );
        assert_eq!(
            (&seen.efi_file, seen.efi_siaddr),
            (&ours.efi_file, ours.efi_siaddr)
        );
    }
}
