//! Responses are matched by ID *and* question: duplicates and answers to a different
//! question are counted as unexpected, and the mangled queries time out.

mod common;
use common::{echo, load, n};

#[test]
fn duplicates_are_unexpected() {
    let (_e, addr) = echo(&["--duplicate-every", "10", "--tcp"]);
    for extra in [&[][..], &["--backend", "mmsg"][..], &["--tcp"][..]] {
        let mut args = vec![
            "--names",
            "100",
            "--suffix",
            "m.test",
            "--count",
            "1000",
            "--max-outstanding",
            "16",
        ];
        args.extend_from_slice(extra);
        let (v, _) = load(&addr, &args);
        assert_eq!(n(&v, "answered"), 1000, "{extra:?} {v}");
        assert_eq!(n(&v, "timeouts"), 0, "{extra:?} {v}");
        // The duplicate of the last answer may still be in flight when the run ends.
        let u = n(&v, "unexpected");
        assert!((99..=100).contains(&u), "{extra:?} {v}");
    }
}

#[test]
fn wrong_question_does_not_match() {
    let (_e, addr) = echo(&["--mangle-every", "10"]);
    let (v, _) = load(
        &addr,
        &[
            "--names",
            "100",
            "--suffix",
            "m.test",
            "--count",
            "1000",
            "--max-outstanding",
            "32",
            "--timeout",
            "300ms",
        ],
    );
    assert_eq!(n(&v, "answered"), 900, "{v}");
    assert_eq!(n(&v, "unexpected"), 100, "{v}");
    assert_eq!(n(&v, "timeouts"), 100, "{v}");
}

#[test]
fn ipv6_loopback_works() {
    let (_e, addr) = {
        let (g, a) = echo_v6();
        (g, a)
    };
    let (v, _) = load(&addr, &["--unique", "v6.test", "--count", "2000"]);
    assert_eq!((n(&v, "sent"), n(&v, "answered")), (2000, 2000), "{v}");
}

fn echo_v6() -> (common::Guard, String) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_ringmasq-echo"))
        .args(["--listen", "[::1]:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let g = common::Guard::new(child);
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).unwrap();
    (
        g,
        line.trim()
            .strip_prefix("listening on ")
            .unwrap()
            .to_string(),
    )
}
