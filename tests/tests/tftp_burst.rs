//! A burst: 20 curl clients fetch one 4 MiB image at once from a server with four TFTP threads
//! (`--threads=4`, one ring each on io_uring). Every copy is intact, and the SIGUSR1 line shows
//! the file read from disk once — its size in bytes, not 20 times it — although the transfers
//! ran on several threads and started before the read had finished.

use ringmasq_tests::tftp::{TftpServer, pattern};
use ringmasq_tests::{Backend, backend_tests};

const SIZE: usize = 4 * 1024 * 1024 + 13;
const CLIENTS: usize = 20;

fn twenty_clients_one_read_from_disk(b: Backend) -> anyhow::Result<()> {
    let data = pattern(SIZE, 11);
    let d2 = data.clone();
    let s = TftpServer::start(b, &["--threads=4"], move |root| {
        std::fs::write(root.join("image.img"), &d2).unwrap()
    })
    .unwrap();
    let outs = s.curl_burst("image.img", CLIENTS, Some(1468));
    for (i, (out, o)) in outs.iter().enumerate() {
        assert!(
            o.status.success(),
            "client {i}: {:?} {}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        );
        let got = std::fs::read(out).unwrap_or_default();
        assert_eq!(got.len(), SIZE, "client {i}: size");
        assert!(got == data, "client {i}: contents differ");
    }
    let sent = s.wait_log_count("TFTP sent", CLIENTS, std::time::Duration::from_secs(5));
    assert_eq!(sent, CLIENTS, "{}", s.log());
    s.signal(libc::SIGUSR1).unwrap();
    let want = format!("1 file reads from disk ({SIZE} bytes)");
    assert!(
        s.wait_log(&want, std::time::Duration::from_secs(5)),
        "expected '{want}':\n{}",
        s.log()
    );
    Ok(())
}

backend_tests!(twenty_clients_one_read_from_disk);
