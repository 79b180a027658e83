//! Large files (33 MiB, so 512-byte block numbers wrap past 65535) fetched by curl, tftp-hpa
//! and atftp, with and without blksize/tsize/windowsize; every copy compared with the original.

use std::path::Path;

use ringmasq_tests::tftp::{TftpServer, pattern};
use ringmasq_tests::{Backend, backend_tests};

const SIZE: usize = 33 * 1024 * 1024 + 77;

fn check(out: &Path, want: &[u8], what: &str, o: &std::process::Output) {
    assert!(
        o.status.success(),
        "{what}: {:?} {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    let got = std::fs::read(out).unwrap_or_default();
    assert_eq!(got.len(), want.len(), "{what}: size");
    assert!(got == want, "{what}: contents differ");
}

fn large_files_wrap_block_numbers_and_arrive_intact(b: Backend) -> anyhow::Result<()> {
    let data = pattern(SIZE, 7);
    let d2 = data.clone();
    let s = TftpServer::start(b, &[], move |root| {
        std::fs::write(root.join("big.img"), &d2).unwrap()
    })
    .unwrap();
    let tmp = s.scratch("out");
    // 512-byte blocks: 67,585 blocks, the block number wraps to 0 once.
    let out = tmp.join("hpa");
    check(
        &out,
        &data,
        "tftp-hpa 512",
        &s.tftp_hpa("big.img", "binary", &out),
    );
    let out = tmp.join("curl512");
    check(
        &out,
        &data,
        "curl blksize 512 + tsize",
        &s.curl("big.img", None, &out),
    );
    let out = tmp.join("atftp-tsize");
    check(
        &out,
        &data,
        "atftp tsize",
        &s.atftp("big.img", &[("tsize", 0)], &out),
    );
    let out = tmp.join("curl1468");
    check(
        &out,
        &data,
        "curl blksize 1468",
        &s.curl("big.img", Some(1468), &out),
    );
    let out = tmp.join("atftp-window");
    check(
        &out,
        &data,
        "atftp blksize 1468 windowsize 8",
        &s.atftp(
            "big.img",
            &[("blksize", 1468), ("tsize", 0), ("windowsize", 8)],
            &out,
        ),
    );
    let sent = s.wait_log_count("TFTP sent", 5, std::time::Duration::from_secs(5));
    assert_eq!(sent, 5, "{}", s.log());
    // Five transfers of one file: read from disk once.
    s.signal(libc::SIGUSR1).unwrap();
    assert!(
        s.wait_log("1 file reads from disk", std::time::Duration::from_secs(5)),
        "{}",
        s.log()
    );
    Ok(())
}

backend_tests!(large_files_wrap_block_numbers_and_arrive_intact);
