//! A link narrower than a reply: ringmasq's DNS replies carry Don't Fragment, and on a veth
//! pair with an MTU of 1,000 octets (IPv4 allows links down to 68) a 1,100-octet TXT answer
//! cannot leave whole. The send fails (EMSGSIZE); ringmasq turns fragments back on for that
//! listener, says so in its log, and sends the same answer once more, fragmented: it reaches
//! dig's first and only try, on both backends. Server and client each run in a namespace of
//! their own.

use std::time::Duration;

use ringmasq_tests::binary::ringmasq_bin;
use ringmasq_tests::netns::{Netns, find_tool, is_root, veth};
use ringmasq_tests::process::ChildGuard;
use ringmasq_tests::wait::poll_until;
use ringmasq_tests::{Backend, TempDir};

/// Four 250-octet strings: about 1,050 octets of answer, over 1,000 with the IPv4 and UDP
/// headers, under the default 1,232-octet packet limit.
fn big_txt() -> String {
    let s = "x".repeat(250);
    format!("--txt-record=big.test,{s},{s},{s},{s}")
}

fn small_mtu_link(backend: Backend) -> anyhow::Result<()> {
    if !is_root() || find_tool("dig").is_none() {
        println!("note: needs root and dig; skipping");
        return Ok(());
    }
    let tag = backend.as_arg();
    let server_ns = Netns::unique(&format!("mtu-s-{tag}-")).expect("namespace");
    let client_ns = Netns::unique(&format!("mtu-c-{tag}-")).expect("namespace");
    anyhow::ensure!(veth(&server_ns, "m0", &client_ns, "m1", None), "veth pair");
    server_ns.must_ip(&["link", "set", "m0", "mtu", "1000"]);
    client_ns.must_ip(&["link", "set", "m1", "mtu", "1000"]);
    server_ns.must_ip(&["addr", "add", "10.98.0.1/24", "dev", "m0"]);
    client_ns.must_ip(&["addr", "add", "10.98.0.2/24", "dev", "m1"]);

    let dir = TempDir::new("small-mtu")?;
    let mut cmd = server_ns.command(&ringmasq_bin()?.to_string_lossy());
    cmd.args([
        "-k",
        "--txt-record=small.test,ready",
        "--port=53",
        "--listen-address=10.98.0.1",
        "--bind-interfaces",
        "--no-resolv",
        "--no-hosts",
        "--conf-file=/dev/null",
        &big_txt(),
        &format!("--io-backend={tag}"),
        "--log-facility=-",
    ]);
    let mut server = ChildGuard::spawn("ringmasq", cmd, &dir.join("log"))?;
    let log = || std::fs::read_to_string(dir.join("log")).unwrap_or_default();

    // The listener may take a moment to come up: a small answer says it is there.
    let ready = poll_until(
        Duration::from_secs(10),
        Duration::from_millis(200),
        50,
        || {
            let out = client_ns
                .command("dig")
                .args([
                    "@10.98.0.1",
                    "small.test",
                    "TXT",
                    "+short",
                    "+time=1",
                    "+tries=1",
                ])
                .output()
                .ok()?;
            String::from_utf8_lossy(&out.stdout)
                .contains("ready")
                .then_some(())
        },
    );
    anyhow::ensure!(ready.is_some(), "no answer across the link\n{}", log());

    // dig with a 1,232-octet payload (no TC: the answer fits it) and one try: the reply that
    // failed must be sent again, not left to the client's retry.
    let strings = || -> Option<usize> {
        let out = client_ns
            .command("dig")
            .args([
                "@10.98.0.1",
                "big.test",
                "TXT",
                "+short",
                "+bufsize=1232",
                "+time=3",
                "+tries=1",
                "+ignore",
            ])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let n = text.matches(&"x".repeat(250)).count();
        (n > 0).then_some(n)
    };
    let got = strings();
    anyhow::ensure!(
        got == Some(4),
        "dig's one try across the 1,000-octet link got {got:?} of 4 strings\n{}",
        log()
    );
    // The log is written by the logger thread: the line may follow the reply by a moment.
    anyhow::ensure!(
        poll_until(
            Duration::from_secs(5),
            Duration::from_millis(50),
            100,
            || { log().contains("did not fit its link").then_some(()) }
        )
        .is_some(),
        "no log line about the narrow link:\n{}",
        log()
    );
    // Later answers go out at once, fragmented.
    anyhow::ensure!(strings() == Some(4), "a second query failed\n{}", log());
    server.check_running()?;
    Ok(())
}

ringmasq_tests::backend_tests!(small_mtu_link);
