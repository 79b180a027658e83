//! Against a responder that drops every 10th query, timeouts are counted exactly and
//! their slots are reclaimed (the run finishes with a small window).

mod common;
use common::{echo, load, n};

fn check(extra: &[&str]) {
    let (_e, addr) = echo(&["--drop-every", "10", "--tcp"]);
    let mut args = vec![
        "--names",
        "50",
        "--suffix",
        "lab.test",
        "--count",
        "1000",
        "--timeout",
        "1s",
    ];
    args.extend_from_slice(extra);
    let (v, _) = load(&addr, &args);
    assert_eq!(n(&v, "sent"), 1000, "{v}");
    assert_eq!(n(&v, "timeouts"), 100, "{v}");
    assert_eq!(n(&v, "answered"), 900, "{v}");
    assert_eq!(n(&v, "unexpected"), 0, "{v}");
}

#[test]
fn udp_default_backend() {
    // A window of 32 means the 100 dropped slots must be reclaimed for the run to finish.
    check(&["--max-outstanding", "32"]);
}

#[test]
fn udp_mmsg_backend() {
    check(&["--max-outstanding", "32", "--backend", "mmsg"]);
}

#[test]
fn tcp_backend() {
    check(&["--max-outstanding", "32", "--tcp"]);
}
