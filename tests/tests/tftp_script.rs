//! `--dhcp-script` gets dnsmasq's `tftp` event after each completed transfer:
//! `SCRIPT tftp SIZE ADDRESS PATH`.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use ringmasq_tests::tftp::{TftpServer, pattern};
use ringmasq_tests::wait::poll_until;
use ringmasq_tests::{Backend, backend_tests};

fn completed_transfer_runs_the_script(b: Backend) -> anyhow::Result<()> {
    let dir = ringmasq_tests::TempDir::new("tftp-script").unwrap();
    let script = dir.join("script.sh");
    let record = dir.join("events.txt");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$@\" >> {}\n", record.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let arg = format!("--dhcp-script={}", script.display());
    let s = TftpServer::start(b, &[&arg], |root| {
        std::fs::write(root.join("boot.img"), pattern(3000, 1)).unwrap()
    })
    .unwrap();
    let out = s.scratch("o").join("b");
    assert!(s.curl("boot.img", None, &out).status.success());
    let want = format!(
        "tftp 3000 127.0.0.1 {}",
        s.root().join("boot.img").display()
    );
    let line = poll_until(
        Duration::from_secs(5),
        Duration::from_millis(50),
        100,
        || {
            std::fs::read_to_string(&record)
                .ok()
                .filter(|t| t.contains(&want))
        },
    );
    assert!(
        line.is_some(),
        "no {want:?} in {:?}",
        std::fs::read_to_string(&record)
    );
    // A refused request runs nothing.
    let _ = s.curl("missing.img", None, &out);
    assert_eq!(std::fs::read_to_string(&record).unwrap().lines().count(), 1);
    Ok(())
}

backend_tests!(completed_transfer_runs_the_script);
