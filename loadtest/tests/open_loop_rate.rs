//! Open-loop pacing: 2000 qps for 2 s sends 4000 queries, answered at 2000/s within a
//! few percent.

mod common;
use common::{echo, load, n};

#[test]
fn rate_is_accurate() {
    let (_e, addr) = echo(&[]);
    let (v, _) = load(
        &addr,
        &[
            "--names",
            "100",
            "--suffix",
            "lab.test",
            "--rate",
            "2000",
            "--duration",
            "2s",
        ],
    );
    let sent = n(&v, "sent") as f64;
    assert!((sent - 4000.0).abs() <= 4000.0 * 0.03, "sent {sent}: {v}");
    let qps = v["qps"].as_f64().unwrap();
    assert!((qps - 2000.0).abs() <= 2000.0 * 0.05, "qps {qps}: {v}");
    assert_eq!(n(&v, "timeouts"), 0);
}

#[test]
fn rate_split_over_threads() {
    let (_e, addr) = echo(&[]);
    let (v, _) = load(
        &addr,
        &[
            "--unique",
            "m.test",
            "--rate",
            "3000",
            "--duration",
            "1s",
            "--threads",
            "2",
        ],
    );
    let sent = n(&v, "sent") as f64;
    assert!((sent - 3000.0).abs() <= 3000.0 * 0.03, "sent {sent}: {v}");
}

#[test]
fn sweep_finds_knee_bounded() {
    // Echo keeps up with tiny rates: every step passes and the knee is the last one.
    let (_e, addr) = echo(&[]);
    let (v, _) = load(
        &addr,
        &[
            "--names",
            "10",
            "--suffix",
            "s.test",
            "--sweep",
            "--sweep-start",
            "500",
            "--sweep-factor",
            "2",
            "--sweep-steps",
            "3",
            "--duration",
            "300ms",
            "--sweep-p99",
            "1s",
        ],
    );
    assert_eq!(v["steps"].as_array().unwrap().len(), 3, "{v}");
    assert_eq!(v["knee_qps"].as_f64(), Some(2000.0), "{v}");
    // A responder that drops 10% fails the 1% loss limit at the first step.
    let (_d, addr) = echo(&["--drop-every", "10"]);
    let (v, _) = load(
        &addr,
        &[
            "--names",
            "10",
            "--suffix",
            "s.test",
            "--sweep",
            "--sweep-start",
            "500",
            "--sweep-steps",
            "3",
            "--duration",
            "300ms",
            "--timeout",
            "200ms",
        ],
    );
    assert!(v["knee_qps"].is_null(), "{v}");
    assert_eq!(v["steps"].as_array().unwrap().len(), 1);
}
