//! `--dhcp-script`: udhcpc obtains, renews (with `--script-on-renewal`) and releases a lease in a
//! namespace; the script hears `add`, `old` and `del` with dnsmasq's arguments and `DNSMASQ_*`
//! environment, in order; a restart replays `old` for stored leases (`DNSMASQ_DATA_MISSING`) and
//! SIGHUP `old` for live ones.

use std::path::Path;
use std::time::Duration;

use ringmasq_tests::dhcp_lab::{CLIENT_MAC, DhcpLab, release_packet, usable};
use ringmasq_tests::wait::poll_until;

/// Writes a script that appends `ARGS | DNSMASQ_*=...` per call to `events`.
fn write_script(dir: &Path, init: &str) -> String {
    let script = dir.join("script.sh");
    let events = dir.join("events");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nif [ \"$1\" = init ]; then\n{init}\nexit 0\nfi\n\
             echo \"$* | $(env | grep ^DNSMASQ_ | sort | tr '\\n' ' ')\" >> {}\n",
            events.display()
        ),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .args(["755"])
        .arg(&script)
        .status()
        .unwrap();
    script.display().to_string()
}

/// The script's event lines once there are at least `n`.
fn events(dir: &Path, n: usize, log: impl Fn() -> String) -> Vec<String> {
    let read = || {
        std::fs::read_to_string(dir.join("events"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    poll_until(
        Duration::from_secs(10),
        Duration::from_millis(30),
        1000,
        || {
            let e = read();
            (e.len() >= n).then_some(e)
        },
    )
    .unwrap_or_else(|| {
        panic!(
            "fewer than {n} script events: {:?}\nlog:\n{}",
            read(),
            log()
        )
    })
}

#[test]
fn dhcp_script_add_old_del_with_environment() {
    if !usable() {
        return;
    }
    let lab = DhcpLab::new("sc");
    let script = write_script(lab.dir.path(), "");
    let opt = format!("--dhcp-script={script}");
    let host = format!("--dhcp-host={CLIENT_MAC},set:scripted");
    let server = lab.ringmasq(&[&opt, "--script-on-renewal", &host]);
    let addr = lab.udhcpc_with(&["-x", "hostname:alpha", "-V", "vendorx"]);
    let e = events(lab.dir.path(), 1, || lab.log());
    let add = &e[0];
    assert!(
        add.starts_with(&format!("add {CLIENT_MAC} {addr} alpha |")),
        "{add}"
    );
    for want in [
        "DNSMASQ_SUPPLIED_HOSTNAME=alpha",
        "DNSMASQ_INTERFACE=rmqv0",
        "DNSMASQ_DOMAIN=lab.test",
        "DNSMASQ_VENDOR_CLASS=vendorx",
        &format!("DNSMASQ_CLIENT_ID=01:{CLIENT_MAC}"),
        "DNSMASQ_REQUESTED_OPTIONS=1,3,6,12,15,28,42",
        "DNSMASQ_LEASE_EXPIRES=",
        "DNSMASQ_TAGS=known scripted",
    ] {
        assert!(add.contains(want), "{want} missing: {add}");
    }
    let remaining: u64 = add
        .split("DNSMASQ_TIME_REMAINING=")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("{add}"));
    assert!((3500..=3600).contains(&remaining), "{remaining}");
    // A renewal a second later moves the expiry: `old` with --script-on-renewal.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(lab.udhcpc_with(&["-x", "hostname:alpha"]), addr);
    let e = events(lab.dir.path(), 2, || lab.log());
    assert!(
        e[1].starts_with(&format!("old {CLIENT_MAC} {addr} alpha |")),
        "{e:?}"
    );
    // A DHCPRELEASE: `del`.
    lab.send_raw(vec![release_packet(CLIENT_MAC, &addr)]);
    let e = events(lab.dir.path(), 3, || lab.log());
    assert!(
        e[2].starts_with(&format!("del {CLIENT_MAC} {addr} alpha |")),
        "{e:?}"
    );
    // A new lease, then a restart: `old` with DNSMASQ_DATA_MISSING for the stored lease.
    let addr = lab.udhcpc();
    events(lab.dir.path(), 4, || lab.log());
    server.stop(libc::SIGKILL);
    let server = lab.ringmasq(&[&opt]);
    let e = events(lab.dir.path(), 5, || lab.log());
    assert!(
        e[3].starts_with(&format!("add {CLIENT_MAC} {addr} |")),
        "{e:?}"
    );
    assert!(
        e[4].starts_with(&format!("old {CLIENT_MAC} {addr} |")),
        "{e:?}"
    );
    assert!(e[4].contains("DNSMASQ_DATA_MISSING=1"), "{e:?}");
    assert!(!e[4].contains("DNSMASQ_INTERFACE"), "{e:?}");
    // SIGHUP: `old` again for every live lease.
    server.signal(libc::SIGHUP);
    let e = events(lab.dir.path(), 6, || lab.log());
    assert!(
        e[5].starts_with(&format!("old {CLIENT_MAC} {addr} |")),
        "{e:?}"
    );
    server.stop(libc::SIGTERM);
}

#[test]
fn leasefile_ro_script_init_is_the_lease_store() {
    if !usable() {
        return;
    }
    let lab = DhcpLab::new("si");
    // `init` prints one stored lease (dnsmasq lease-file format), with udhcpc's client id.
    let init = format!(
        "echo \"$(( $(date +%s) + 3000 )) {CLIENT_MAC} 10.77.0.66 stored 01:{CLIENT_MAC}\""
    );
    let script = write_script(lab.dir.path(), &init);
    let opt = format!("--dhcp-script={script}");
    let server = lab.ringmasq(&[&opt, "--leasefile-ro"]);
    lab.wait_log("1 lease(s) loaded from the lease-change script");
    let e = events(lab.dir.path(), 1, || lab.log());
    assert!(
        e[0].starts_with(&format!("old {CLIENT_MAC} 10.77.0.66 stored |")),
        "{e:?}"
    );
    // The client gets its stored address back; the renewal is reported (the script keeps the
    // expiry), and no lease file is ever written.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(lab.udhcpc_with(&["-x", "hostname:stored"]), "10.77.0.66");
    let e = events(lab.dir.path(), 2, || lab.log());
    assert!(
        e[1].starts_with(&format!("old {CLIENT_MAC} 10.77.0.66 stored |")),
        "{e:?}"
    );
    assert!(!lab.lease_file().exists());
    server.stop(libc::SIGTERM);
    assert!(!lab.lease_file().exists());
}
