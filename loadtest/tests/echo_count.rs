//! Against the echo responder every query is answered: sent == answered exactly.

mod common;
use common::{echo, load, n};

fn exact(extra: &[&str], backend: &str) {
    exact_with_echo(&["--tcp"], extra, backend);
}

fn exact_with_echo(echo_args: &[&str], extra: &[&str], backend: &str) {
    let (_e, addr) = echo(echo_args);
    let mut args = vec![
        "--names",
        "1000",
        "--suffix",
        "lab.test",
        "--count",
        "20000",
        "--max-outstanding",
        "256",
    ];
    args.extend_from_slice(extra);
    let (v, _) = load(&addr, &args);
    assert_eq!(n(&v, "sent"), 20_000, "{v}");
    assert_eq!(n(&v, "answered"), 20_000, "{v}");
    assert_eq!(n(&v, "timeouts"), 0, "{v}");
    assert_eq!(n(&v, "unexpected"), 0, "{v}");
    assert_eq!(v["rcodes"]["NOERROR"], 20_000);
    assert_eq!(v["backend"], backend);
}

/// Whether the generator gets io_uring here (a test that needs it is skipped quietly when
/// not; the fallback tests still run).
fn uring_available() -> bool {
    let (_e, addr) = echo(&[]);
    let (v, _) = load(
        &addr,
        &["--names", "10", "--suffix", "x.test", "--count", "1"],
    );
    let yes = v["backend"] == "io_uring";
    if !yes {
        eprintln!("io_uring unavailable; skipped");
    }
    yes
}

#[test]
fn uring_counts_exactly() {
    if !uring_available() {
        return;
    }
    exact(&["--backend", "uring"], "io_uring");
}

/// Equal-size queries leave as segmented sends (UDP GSO); a plain echo sees separate
/// datagrams, the GRO echo coalesced runs it answers segmented: every count exact both ways.
#[test]
fn uring_segmented_sends_count_exactly() {
    if !uring_available() {
        return;
    }
    exact_with_echo(&[], &["--backend", "uring"], "io_uring");
    exact_with_echo(&["--gro"], &["--backend", "uring"], "io_uring");
    exact_with_echo(&["--gro"], &["--backend", "uring", "--no-gso"], "io_uring");
    exact_with_echo(&[], &["--backend", "uring", "--no-gso"], "io_uring");
}

#[test]
fn mmsg_counts_exactly() {
    exact(&["--backend", "mmsg"], "mmsg");
}

#[test]
fn tcp_counts_exactly() {
    exact(&["--tcp"], "tcp");
}

#[test]
fn two_threads_many_sockets_count_exactly() {
    exact(
        &[
            "--threads",
            "2",
            "--sockets",
            "3",
            "--unique",
            "miss.test",
            "--hit-ratio",
            "0.5",
        ],
        "io_uring",
    );
}

#[test]
fn query_file_counts_exactly() {
    let dir = std::env::temp_dir().join(format!("ringmasq-load-q-{}", std::process::id()));
    std::fs::write(
        &dir,
        "# dnsperf format\nwww.example.com A\nexample.com MX\n\nexample.org AAAA\n",
    )
    .unwrap();
    let (_e, addr) = echo(&[]);
    let (v, _) = load(
        &addr,
        &["--queries", dir.to_str().unwrap(), "--count", "3000"],
    );
    std::fs::remove_file(&dir).unwrap();
    assert_eq!(
        (n(&v, "sent"), n(&v, "answered"), n(&v, "unexpected")),
        (3000, 3000, 0),
        "{v}"
    );
}

/// The io_uring echo (the floor for a server built like ringmasq's workers) answers every
/// query too, from both generator backends.
#[test]
fn io_uring_echo_counts_exactly() {
    if !uring_available() {
        return;
    }
    exact_with_echo(&["--io-uring"], &["--backend", "uring"], "io_uring");
    exact_with_echo(&["--io-uring"], &["--backend", "mmsg"], "mmsg");
}
