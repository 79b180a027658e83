//! Option overload on output (RFC 2131 §4.1, RFC 2132 §9.3): forced options that do not fit in
//! a 576-byte reply's options field travel in the `file` and `sname` fields, and udhcpc and
//! dhclient both read them; with `--dhcp-no-override` those fields are never used and what does
//! not fit is left out.

use ringmasq_tests::dhcp_lab::{self, DhcpLab};

#[test]
fn options_beyond_the_options_field_reach_both_clients() {
    if !dhcp_lab::usable() {
        return;
    }
    let lab = DhcpLab::new("o");
    let root = "r".repeat(200);
    let ext = "e".repeat(100);
    let merit = "m".repeat(40);
    let root_opt = format!("--dhcp-option-force=option:root-path,/{root}");
    let ext_opt = format!("--dhcp-option-force=option:extension-path,/{ext}");
    let merit_opt = format!("--dhcp-option-force=14,/{merit}");
    let server = lab.ringmasq(&[&root_opt, &ext_opt, &merit_opt, "--log-dhcp"]);
    let (_, env) = lab.udhcpc_env(&["-O", "rootpath"]);
    // The reply carried option 52 (both fields used: value 3).
    lab.wait_log("sent size:   1 option:  52");
    assert!(env.contains(&format!("rootpath=/{root}")), "{env}");
    let out = lab.dhclient_conf(
        "request subnet-mask, routers, root-path, extensions-path, merit-dump;\n",
        &["-1"],
    );
    assert!(out.contains("DHCPACK"), "{out}");
    let leases = std::fs::read_to_string(lab.dhclient_leases()).unwrap();
    for want in [
        format!("option root-path \"/{root}\";"),
        format!("option extensions-path \"/{ext}\";"),
        format!("option merit-dump \"/{merit}\";"),
    ] {
        assert!(leases.contains(&want), "{want} missing in\n{leases}");
    }
    server.stop(libc::SIGTERM);
}

#[test]
fn no_override_leaves_out_what_does_not_fit() {
    if !dhcp_lab::usable() {
        return;
    }
    let lab = DhcpLab::new("ov");
    let root = "r".repeat(200);
    let root_opt = format!("--dhcp-option-force=option:root-path,/{root}");
    let ext_opt = format!(
        "--dhcp-option-force=option:extension-path,/{}",
        "e".repeat(100)
    );
    let merit_opt = format!("--dhcp-option-force=14,/{}", "m".repeat(40));
    let server = lab.ringmasq(&[
        &root_opt,
        &ext_opt,
        &merit_opt,
        "--log-dhcp",
        "--dhcp-no-override",
    ]);
    let out = lab.dhclient_conf(
        "request subnet-mask, routers, root-path, extensions-path, merit-dump;\n",
        &["-1"],
    );
    assert!(out.contains("DHCPACK"), "{out}");
    let leases = std::fs::read_to_string(lab.dhclient_leases()).unwrap();
    assert!(
        leases.contains(&format!("option root-path \"/{root}\";")),
        "{leases}"
    );
    let carried = ["option extensions-path", "option merit-dump"]
        .iter()
        .filter(|o| leases.contains(*o))
        .count();
    assert!(carried < 2, "all three fit without overload?\n{leases}");
    lab.wait_log("DHCPACK(");
    let log = lab.log();
    assert!(!log.contains("option:  52"), "option 52 sent:\n{log}");
    server.stop(libc::SIGTERM);
}
