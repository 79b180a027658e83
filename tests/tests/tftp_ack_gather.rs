//! Gathered ACKs (`--tftp-ack-gather`): sixteen curl clients fetch one 1 MiB file at once from
//! a single TFTP thread, so its ring has enough transfers running (twelve or more) to gather
//! their ACKs per wake-up. Every copy is intact both with the default gathering time and with
//! `--tftp-ack-gather=0` (one wake-up per ACK, also the path of kernels before 6.12). On
//! io_uring the log names the wait the ring uses: gathering on a kernel that has the minimum
//! wait time (Linux 6.12+), the plain wait with `=0`. The epoll loop ignores the option.

use ringmasq_tests::tftp::{TftpServer, pattern};
use ringmasq_tests::{Backend, backend_tests};

const SIZE: usize = 1024 * 1024 + 7;
const CLIENTS: usize = 16;
const GATHERED: &str = "ACKs of concurrent transfers gathered for up to 100 us";
const PLAIN: &str = "one wake-up per ACK";

/// True when the running kernel is Linux 6.12 or later (io_uring's minimum wait time).
fn kernel_has_min_wait() -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release.trim().split(['.', '-']);
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (major, minor) >= (6, 12)
}

/// Runs the burst against a server started with `extra`; returns its log.
fn burst(b: Backend, extra: &[&str], data: &[u8]) -> anyhow::Result<String> {
    let d2 = data.to_vec();
    let mut args = vec!["--threads=1"];
    args.extend_from_slice(extra);
    let s = TftpServer::start(b, &args, move |root| {
        std::fs::write(root.join("image.img"), &d2).unwrap()
    })?;
    let outs = s.curl_burst("image.img", CLIENTS, Some(1468));
    for (i, (out, o)) in outs.iter().enumerate() {
        assert!(
            o.status.success(),
            "{extra:?} client {i}: {:?} {}\n{}",
            o.status,
            String::from_utf8_lossy(&o.stderr),
            s.log()
        );
        let got = std::fs::read(out).unwrap_or_default();
        assert_eq!(got.len(), SIZE, "{extra:?} client {i}: size");
        assert!(got == data, "{extra:?} client {i}: contents differ");
    }
    let sent = s.wait_log_count("TFTP sent", CLIENTS, std::time::Duration::from_secs(5));
    let log = s.log();
    assert_eq!(sent, CLIENTS, "{log}");
    Ok(log)
}

fn gathered_and_plain_waits_serve_intact_copies(b: Backend) -> anyhow::Result<()> {
    let data = pattern(SIZE, 23);
    let gathered = burst(b, &[], &data)?;
    let plain = burst(b, &["--tftp-ack-gather=0"], &data)?;
    match b {
        Backend::Uring if kernel_has_min_wait() => {
            assert!(gathered.contains(GATHERED), "{gathered}");
            assert!(
                plain.contains(PLAIN) && !plain.contains(GATHERED),
                "{plain}"
            );
        }
        Backend::Uring => {
            println!("kernel before 6.12: both runs took the plain wait");
            assert!(gathered.contains(PLAIN), "{gathered}");
            assert!(plain.contains(PLAIN), "{plain}");
        }
        Backend::Epoll => {
            assert!(!gathered.contains("TFTP ring") && !plain.contains("TFTP ring"));
        }
    }
    Ok(())
}

backend_tests!(gathered_and_plain_waits_serve_intact_copies);
