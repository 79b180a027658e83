//! `--json` prints exactly one JSON object on stdout with the documented fields.

mod common;
use common::{echo, load};
use serde_json::Value;

#[test]
fn example_command_line_json_schema() {
    let (_e, addr) = echo(&[]);
    let (v, raw) = load(
        &addr,
        &[
            "--names",
            "1000",
            "--suffix",
            "lab.test",
            "--duration",
            "1s",
            "--max-outstanding",
            "256",
            "--threads",
            "1",
        ],
    );
    assert_eq!(
        raw.trim().lines().count(),
        1,
        "exactly one line of JSON: {raw}"
    );
    let obj = v.as_object().expect("object");
    for k in [
        "sent",
        "answered",
        "timeouts",
        "unexpected",
        "send_errors",
        "recv_errors",
        "overflow",
        "truncated",
    ] {
        assert!(obj[k].is_u64(), "{k} should be an unsigned integer");
    }
    for k in ["qps", "duration_s"] {
        assert!(obj[k].is_number(), "{k} should be a number");
    }
    let lat = obj["latency_us"].as_object().expect("latency_us object");
    for k in ["p50", "p90", "p99", "p999", "max"] {
        assert!(lat[k].is_u64(), "latency_us.{k}");
    }
    assert!(
        lat["p50"].as_u64() <= lat["p99"].as_u64() && lat["p99"].as_u64() <= lat["max"].as_u64()
    );
    let rc = obj["rcodes"].as_object().expect("rcodes object");
    assert!(rc.values().all(Value::is_u64));
    assert!(obj["answered"].as_u64().unwrap() > 1000);
    let d = obj["duration_s"].as_f64().unwrap();
    // The run is bounded by --duration (the last answers may arrive a little later).
    assert!((0.95..3.0).contains(&d), "duration_s {d}");
}
