//! `--quiet-tftp` (dnsmasq): no log line per file sent and none for a request naming a missing
//! file, while problems (here a write request, a path that leaves the root) are still logged.
//! The same sequence without the option logs all four, so the test sees the difference.

use std::time::Duration;

use ringmasq_tests::tftp::{Reply, TftpServer};
use ringmasq_tests::wait::poll_until;
use ringmasq_tests::{Backend, backend_tests};

/// Fetches a file, asks for a missing one, then sends a write request and a request that
/// leaves the root (both logged as problems whatever the option), and returns the log once the
/// last of them is in it (one logger thread writes lines in order).
fn routine_then_problems(b: Backend, extra: &[&str]) -> String {
    let s = TftpServer::start(b, extra, |root| {
        std::fs::write(root.join("pxelinux.0"), b"boot loader").unwrap();
    })
    .unwrap();
    let out = s.scratch("out").join("pxelinux.0");
    let fetched = s.curl("pxelinux.0", None, &out);
    assert!(fetched.status.success(), "{fetched:?}");
    assert_eq!(std::fs::read(&out).unwrap(), b"boot loader");

    let client = s
        .raw_client(Duration::from_secs(5))
        .expect("a raw TFTP client");
    client.rrq("no-such-kernel", &[]).unwrap();
    match client.recv().unwrap() {
        Reply::Error(1, _) => {}
        other => panic!("a missing file gets ERROR 1, got {other:?}"),
    }
    client.request(b"\x00\x02upload.img\x00octet\x00").unwrap();
    match client.recv().unwrap() {
        Reply::Error(..) => {}
        other => panic!("a write request gets an ERROR, got {other:?}"),
    }
    client.rrq("../outside", &[]).unwrap();
    match client.recv().unwrap() {
        Reply::Error(2, _) => {}
        other => panic!("a path out of the root gets ERROR 2, got {other:?}"),
    }
    assert!(
        s.wait_log("\"../outside\"", Duration::from_secs(10)),
        "the refused path was not logged:\n{}",
        s.log()
    );
    // The fetch ends when the server takes curl's last ACK, on whichever TFTP thread ran it:
    // wait until the statistics count it, so its line (if any) has had its turn.
    let counted = poll_until(
        Duration::from_secs(10),
        Duration::from_millis(100),
        100,
        || {
            s.signal(libc::SIGUSR1).unwrap();
            std::thread::sleep(Duration::from_millis(50));
            s.log().contains(" 1 completed,").then_some(())
        },
    );
    assert!(counted.is_some(), "the fetch was not counted:\n{}", s.log());
    if extra.is_empty() {
        assert!(
            s.wait_log("TFTP sent", Duration::from_secs(10)),
            "{}",
            s.log()
        );
    }
    s.log()
}

fn quiet_tftp_logs_only_problems(b: Backend) -> anyhow::Result<()> {
    let sent = "TFTP sent";
    let missing = "no-such-kernel";
    let write = "write request";

    let loud = routine_then_problems(b, &[]);
    assert!(loud.contains(sent), "{loud}");
    assert!(loud.contains(missing), "{loud}");
    assert!(loud.contains(write), "{loud}");

    let quiet = routine_then_problems(b, &["--quiet-tftp"]);
    assert!(!quiet.contains(sent), "{quiet}");
    assert!(!quiet.contains(missing), "{quiet}");
    assert!(quiet.contains(write), "{quiet}");
    Ok(())
}

backend_tests!(quiet_tftp_logs_only_problems);
