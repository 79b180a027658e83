//! Proxy-DHCP: dnsmasq 2.90 hands out addresses on the link, ringmasq (in a third namespace on
//! the same bridged link) runs `--dhcp-range=10.77.0.0,proxy` with a PXE menu and TFTP. A PXE
//! client (scripted: it must merge two offers and ask port 4011, which udhcpc and dhclient do
//! not) gets its address from dnsmasq and only the boot part from ringmasq (no address in
//! ringmasq's offer), asks ringmasq's boot server for the menu item, and fetches the file by
//! TFTP with tftp-hpa. A plain DHCP client (udhcpc) is left to dnsmasq.

use std::net::Ipv4Addr;
use std::time::Duration;

use ringmasq_tests::dhcp_lab::{self, DhcpLab};
use ringmasq_tests::pxe_client::PxeClient;
use ringmasq_tests::pxe_lab::{PROXY_ADDR, ProxySegment, boot_file, boot_root, tftp_get};

#[test]
fn proxy_dhcp_beside_another_server() {
    if !dhcp_lab::usable() || !dhcp_lab::have_dnsmasq() {
        return;
    }
    let lab = DhcpLab::new("px");
    let seg = ProxySegment::new(&lab, "px");
    let root = lab.dir.join("tftp");
    boot_root(&root);
    let dnsmasq = lab.dnsmasq(&[]);
    let args: Vec<String> = [
        "-d",
        "--port=0",
        "--conf-file=/dev/null",
        "--dhcp-range=10.77.0.0,proxy",
        "--enable-tftp",
        "--pxe-prompt=Booting,0",
        "--pxe-service=x86PC,Network boot,pxelinux",
        "--pxe-service=BC_EFI,EFI boot,efi/grubx64.efi",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        format!("--tftp-root={}", root.display()),
        format!(
            "--dhcp-leasefile={}",
            lab.dir.join("proxy.leases").display()
        ),
    ])
    .collect();
    let proxy = seg.ringmasq(&lab, &args);
    // A plain client: its address comes from dnsmasq; ringmasq stays silent.
    let addr = lab.udhcpc();
    assert!(addr.starts_with("10.77.0."), "{addr}");
    for (arch, item, file) in [
        (0u16, 0x8000u16, "pxelinux.0"),
        (7, 0x8001, "efi/grubx64.efi"),
    ] {
        let c = PxeClient {
            mac: dhcp_lab::parse_mac(dhcp_lab::CLIENT_MAC),
            arch,
            xid: 0x7072_0000 + u32::from(arch),
        };
        let cc = c.clone();
        let offers = lab
            .client
            .run_in(move || cc.discover(dhcp_lab::CLIENT_IF, Duration::from_secs(2)));
        let address = offers
            .iter()
            .find(|o| o.yiaddr != Ipv4Addr::UNSPECIFIED)
            .unwrap_or_else(|| panic!("no address offer: {offers:?}"));
        let boot = offers
            .iter()
            .find(|o| o.is_pxe())
            .unwrap_or_else(|| panic!("no proxy offer: {offers:?}"));
        assert_eq!(address.server_id(), Some(Ipv4Addr::new(10, 77, 0, 1)));
        assert_eq!(boot.server_id(), Some(PROXY_ADDR.parse().unwrap()));
        assert_eq!(
            boot.yiaddr,
            Ipv4Addr::UNSPECIFIED,
            "proxy offers no address"
        );
        assert!(!boot.options.contains_key(&51), "proxy offers no lease");
        assert_eq!(boot.options.get(&97).map(|v| v.len()), Some(17));
        let menu = boot.menu();
        if arch == 0 {
            // BIOS: a one-item menu; the ROM asks the boot server for it.
            assert_eq!(menu.len(), 1, "{menu:?}");
            assert_eq!(menu[0].0, item);
            assert_eq!(boot.pxe_sub(6), Some(vec![3]));
        } else {
            // EFI with one item: no menu, the file is in the offer (discovery control 8).
            assert!(menu.is_empty(), "{menu:?}");
            assert_eq!(boot.pxe_sub(6), Some(vec![8]));
            assert_eq!(boot.file, file);
            assert_eq!(boot.siaddr, PROXY_ADDR.parse::<Ipv4Addr>().unwrap());
        }
        let yiaddr = address.yiaddr;
        let cc = c.clone();
        let ack = lab
            .client
            .run_in(move || cc.request(dhcp_lab::CLIENT_IF, yiaddr, Ipv4Addr::new(10, 77, 0, 1)))
            .expect("ACK from the address server");
        assert_eq!(ack.yiaddr, yiaddr);
        let cidr = format!("{yiaddr}/24");
        lab.client
            .must_ip(&["addr", "add", &cidr, "dev", dhcp_lab::CLIENT_IF]);
        let cc = c.clone();
        let proxy_ip: Ipv4Addr = PROXY_ADDR.parse().unwrap();
        let bs = lab
            .client
            .run_in(move || cc.boot_item(yiaddr, proxy_ip, item))
            .expect("boot server ACK");
        assert_eq!(bs.kind(), Some(5));
        assert_eq!(bs.file, file);
        assert_eq!(bs.siaddr, proxy_ip);
        assert_eq!(bs.pxe_sub(71), Some([item.to_be_bytes(), [0, 0]].concat()));
        let out = lab.dir.join("fetched");
        let (got, text) = tftp_get(&lab.client, &bs.siaddr.to_string(), &bs.file, &out);
        assert!(
            got == boot_file(file),
            "{file}: {} bytes\n{text}",
            got.len()
        );
        lab.client
            .must_ip(&["addr", "del", &cidr, "dev", dhcp_lab::CLIENT_IF]);
    }
    let log = std::fs::read_to_string(lab.dir.join("proxy.log")).unwrap_or_default();
    assert!(log.contains("PXE(rmqp1)"), "{log}");
    assert!(
        !log.contains("DHCPACK"),
        "the proxy acknowledged an address:\n{log}"
    );
    drop(proxy);
    dnsmasq.stop(libc::SIGTERM);
}
