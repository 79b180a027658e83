//! DHCP after `-u nobody` drops privileges: udhcpc gets a lease (port 67, broadcast replies and
//! neighbour entries through the kept capabilities); the lease file and journal belong to
//! nobody while their directory stays root's and unwritable (compaction rewrites in place);
//! kill -9 and a restart keep the lease.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use ringmasq_tests::dhcp_lab::{CLIENT_MAC, DhcpLab, RANGE, usable};

fn uid_of(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .unwrap()
        .to_string()
}

#[test]
fn dhcp_serves_and_keeps_leases_as_nobody() {
    if !usable() {
        return;
    }
    let lab = DhcpLab::new("us");
    std::fs::set_permissions(lab.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let args: Vec<String> = [
        "-k",
        "--log-facility=-",
        "--port=0",
        "--conf-file=/dev/null",
        "--user=nobody",
        "--group=nogroup",
        "--pid-file=",
        RANGE,
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--dhcp-leasefile={}", lab.lease_file().display())])
    .collect();
    let server = lab.ringmasq_args(&args);
    lab.wait_log("running as uid");
    let nobody = uid_of(server.pid());
    assert!(!nobody.contains("\t0\t"), "{nobody}");
    let addr = lab.udhcpc();
    assert!(addr.starts_with("10.77.0."), "{addr}");
    server.stop(libc::SIGKILL);
    let meta = std::fs::metadata(lab.lease_file()).unwrap();
    assert_ne!(meta.uid(), 0);
    let server = lab.ringmasq_args(&args);
    lab.wait_log("1 lease(s) loaded");
    // The start-up compaction rewrote the file in place (the directory is root's).
    let file = std::fs::read_to_string(lab.lease_file()).unwrap();
    assert!(file.contains(&format!("{CLIENT_MAC} {addr} ")), "{file}");
    assert_eq!(lab.udhcpc(), addr);
    server.stop(libc::SIGTERM);
    let file = std::fs::read_to_string(lab.lease_file()).unwrap();
    assert!(file.contains(&format!("{CLIENT_MAC} {addr} ")), "{file}");
}
