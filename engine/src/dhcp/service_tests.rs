//! The DHCP thread's orderly stop, in-process on the loopback interface.

use super::*;
use ringmasq_proto::dhcp::release;
use std::net::UdpSocket;

fn scratch(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("ringmasq-dhcp-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// RELEASEs already queued on the socket when the stop flag is set are handled, journaled and
/// folded into the lease file before the thread ends; the other lease is kept.
#[test]
fn releases_queued_at_stop_reach_the_lease_file() {
    let dir = scratch("stop");
    let leases = dir.join("leases");
    let far = system_wall() + 3600;
    std::fs::write(
        &leases,
        format!(
            "{far} 02:00:00:00:00:60 127.0.0.60 * 01:02:00:00:00:00:60\n\
             {far} 02:00:00:00:00:61 127.0.0.61 * 01:02:00:00:00:00:61\n\
             {far} 02:00:00:00:00:62 127.0.0.62 * 01:02:00:00:00:00:62\n"
        ),
    )
    .unwrap();
    // A free high port: the test needs no privileges and leaves port 67 alone.
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let args: Vec<std::ffi::OsString> = [
        "--conf-file=/dev/null".to_string(),
        "--port=0".into(),
        "--dhcp-range=127.0.0.50,127.0.0.99,255.0.0.0,1h".into(),
        format!("--dhcp-leasefile={}", leases.display()),
    ]
    .iter()
    .map(Into::into)
    .collect();
    let cfg = ringmasq_config::load(&args).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let service =
        DhcpService::new(&cfg, port, Arc::clone(&stop), Arc::new(Snapshot::empty())).unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    for last in [60u8, 61] {
        // The MAC's last byte is 0x60/0x61, as in the file.
        let hw = u8::from_str_radix(&last.to_string(), 16).unwrap();
        let mac = [2, 0, 0, 0, 0, hw];
        let clid = [1, 2, 0, 0, 0, 0, hw];
        let p = release::packet(
            Ipv4Addr::new(127, 0, 0, last),
            1,
            &mac,
            Some(&clid),
            Ipv4Addr::LOCALHOST,
            u32::from(last),
        );
        client.send_to(&p, ("127.0.0.1", port)).unwrap();
    }
    // The stop comes before the thread ever looks at the socket.
    stop.store(true, Ordering::Relaxed);
    service.run();
    let text = std::fs::read_to_string(&leases).unwrap();
    assert!(!text.contains("127.0.0.60 "), "{text}");
    assert!(!text.contains("127.0.0.61 "), "{text}");
    assert!(text.contains("02:00:00:00:00:62 127.0.0.62 "), "{text}");
    let journal = LeaseStore::journal_path_for(&leases);
    assert_eq!(std::fs::metadata(journal).unwrap().len(), 0);
    std::fs::remove_dir_all(dir).unwrap();
}
