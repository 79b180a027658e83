//! The lease file on a 256 KiB tmpfs mounted in the server's own mount namespace: filled up
//! while 20 clients ask for leases, then freed. While the disk is full no ACK leaves (each
//! would be for a lease not on disk), the journal holds no torn bytes and the log says so
//! loudly; once space returns the pending records are written, every client gets its lease
//! on a retransmission, and every ACK a client saw is in the lease file.

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use ringmasq_tests::binary::ringmasq_bin;
use ringmasq_tests::dhcp_lab::{DhcpLab, usable};
use ringmasq_tests::lease_check::{
    LoadRun, WIDE_RANGE, json_count, kill9, leases_after_restart, wide_args, widen,
};

#[test]
fn acks_wait_for_space_and_pending_leases_are_written() {
    if !usable() {
        return;
    }
    let lab = DhcpLab::new("df");
    widen(&lab);
    let store = lab.dir.join("store");
    std::fs::create_dir_all(&store).unwrap();
    let bin = ringmasq_bin().expect("ringmasq binary");
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c"])
        .arg("mount -t tmpfs -o size=256k rmqfull \"$0\" && exec \"$@\"")
        .arg(&store)
        .args(["ip", "netns", "exec", lab.server.name()])
        .arg(bin)
        .args(["-d", "--port=0", "--conf-file=/dev/null", WIDE_RANGE])
        .arg(format!(
            "--dhcp-leasefile={}",
            store.join("leases").display()
        ));
    let server = lab.start("ringmasq", cmd);
    lab.wait_log("0 lease(s) loaded");
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", server.pid())).unwrap();
    assert_eq!(
        comm.trim(),
        "ringmasq",
        "the guard must hold the server's own PID"
    );
    // The tmpfs as the server sees it.
    let root = PathBuf::from(format!("/proc/{}/root{}", server.pid(), store.display()));
    let journal = root.join("leases.journal");
    assert_eq!(std::fs::metadata(&journal).unwrap().len(), 0);

    // Fill the disk.
    let fill = root.join("fill");
    let mut f = std::fs::File::create(&fill).unwrap();
    let block = vec![0u8; 4096];
    let full = (0..1000).any(|_| {
        f.write_all(&block)
            .is_err_and(|e| e.raw_os_error() == Some(libc::ENOSPC))
    });
    assert!(full, "the tmpfs did not fill");
    drop(f);

    let mut load = LoadRun::start(&lab, 20, 100, 11, 9, Duration::from_secs(60));
    lab.wait_log("DHCP lease store write failed");
    // Full for a while: clients keep retransmitting, nothing is acknowledged.
    std::thread::sleep(Duration::from_millis(1500));
    let log = lab.log();
    assert!(
        !log.contains("DHCPACK"),
        "an ACK left while the disk was full:\n{log}"
    );
    assert!(log.contains("No space left on device"), "{log}");
    assert_eq!(
        std::fs::metadata(&journal).unwrap().len(),
        0,
        "torn bytes left in the journal"
    );
    assert!(load.running());

    // Free it: the pending records are written, the clients' retransmissions get ACKs.
    std::fs::remove_file(&fill).unwrap();
    lab.wait_log("DHCP lease store writable again");
    let (json, acks) = load.finish(Duration::from_secs(70));
    println!("after the disk was freed: {json}");
    assert_eq!(acks.len(), 20, "{json}\n{}", lab.log());
    assert_eq!(json_count(&json, "duplicate_addresses"), 0);
    assert!(std::fs::metadata(&journal).unwrap().len() > 0);

    // Compare with the store: copy it out of the namespace, kill -9, restart on the copy.
    for name in ["leases", "leases.journal"] {
        std::fs::copy(root.join(name), lab.lease_file().with_file_name(name)).unwrap();
    }
    kill9(server);
    let in_file = leases_after_restart(&lab, &wide_args(&lab));
    let lost: Vec<&String> = acks.difference(&in_file).collect();
    assert!(lost.is_empty(), "acknowledged leases missing: {lost:?}");
}
