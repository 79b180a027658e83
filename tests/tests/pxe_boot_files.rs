//! PXE boot files by architecture, as a BIOS and a UEFI ROM see them: `--dhcp-match` on option
//! 93 (client-arch 0 and 7) and on option 60 (`PXEClient`), `--dhcp-userclass=set:ipxe,iPXE`
//! for iPXE chainloading, `--dhcp-boot` with tags, server name and next-server address. The
//! clients are udhcpc sending options 60/93/77 (its environment shows `boot_file`, `sname`,
//! `siaddr`); each boot file is then fetched from the client namespace with tftp-hpa. dnsmasq
//! 2.90 with the same lines must pick the same files.

use ringmasq_tests::dhcp_lab::{self, DhcpLab, SERVER_ADDR};
use ringmasq_tests::pxe_lab::{boot_file, boot_root, client_address, tftp_get};

const BIOS: &[&str] = &["-V", "PXEClient:Arch:00000:UNDI:002001", "-x", "0x5d:0000"];
const UEFI: &[&str] = &["-V", "PXEClient:Arch:00007:UNDI:003016", "-x", "0x5d:0007"];
/// RFC 3004 user class "iPXE" (one length-prefixed class), as iPXE sends it.
const IPXE_CLASS: &str = "0x4d:046950584500";

fn env_value<'a>(env: &'a str, key: &str) -> Option<&'a str> {
    env.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

/// (boot_file, sname, siaddr) seen by udhcpc with `extra`.
fn boot(lab: &DhcpLab, extra: &[&str]) -> (String, String, String) {
    let (_, env) = lab.udhcpc_env(extra);
    let v = |k| env_value(&env, k).unwrap_or("").to_string();
    (v("boot_file"), v("sname"), v("siaddr"))
}

#[test]
fn bios_uefi_and_ipxe_clients_get_their_boot_files() {
    if !dhcp_lab::usable() {
        return;
    }
    let lab = DhcpLab::new("pb");
    let root = lab.dir.join("tftp");
    boot_root(&root);
    let root_arg = format!("--tftp-root={}", root.display());
    let lines = [
        "--enable-tftp",
        root_arg.as_str(),
        "--dhcp-match=set:efi,option:client-arch,7",
        "--dhcp-match=set:pxe,option:vendor-class,PXEClient",
        "--dhcp-userclass=set:ipxe,iPXE",
        "--dhcp-boot=tag:pxe,tag:!efi,tag:!ipxe,pxelinux.0,bootsrv,10.77.0.1",
        "--dhcp-boot=tag:efi,tag:!ipxe,efi/grubx64.efi",
        "--dhcp-boot=tag:ipxe,http://10.77.0.1/boot.ipxe",
    ];
    let mut seen = Vec::new();
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
        let bios = boot(&lab, BIOS);
        let uefi = boot(&lab, UEFI);
        let mut ipxe_args = UEFI.to_vec();
        ipxe_args.extend_from_slice(&["-x", IPXE_CLASS]);
        let ipxe = boot(&lab, &ipxe_args);
        // A client that is not PXE gets no boot file.
        let plain = boot(&lab, &[]);
        println!("{server}: bios {bios:?} uefi {uefi:?} ipxe {ipxe:?} plain {plain:?}");
        if server == "ringmasq" {
            // The files are there: fetch them as the ROMs would, from the client namespace.
            client_address(&lab, "10.77.0.200");
            for (name, sname) in [(&bios.0, &bios.1), (&uefi.0, &uefi.1)] {
                assert!(!name.is_empty(), "no boot file\n{}", lab.log());
                let _ = sname;
                let out = lab.dir.join("fetched");
                let (got, text) = tftp_get(&lab.client, SERVER_ADDR, name, &out);
                assert!(
                    got == boot_file(name),
                    "{name}: {} bytes\n{text}",
                    got.len()
                );
            }
            lab.client
                .must_ip(&["addr", "del", "10.77.0.200/24", "dev", dhcp_lab::CLIENT_IF]);
        }
        seen.push((server, bios, uefi, ipxe, plain));
        s.stop(libc::SIGTERM);
    }
    let (_, bios, uefi, ipxe, plain) = &seen[0];
    assert_eq!(
        bios,
        &(
            "pxelinux.0".to_string(),
            "bootsrv".to_string(),
            "10.77.0.1".to_string()
        )
    );
    assert_eq!(uefi.0, "efi/grubx64.efi");
    assert_eq!(uefi.2, "10.77.0.1", "next server defaults to our address");
    assert_eq!(ipxe.0, "http://10.77.0.1/boot.ipxe");
    assert_eq!(plain.0, "");
    for (server, b, u, i, p) in &seen[1..] {
        assert_eq!(
            (&b.0, &b.1, &u.0, &i.0, &p.0),
            (&bios.0, &bios.1, &uefi.0, &ipxe.0, &plain.0),
            "{server} chose other files"
        );
    }
}
