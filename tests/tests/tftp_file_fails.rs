//! A file that fails while it is being sent: the server has opened it and announced its size,
//! then the file is truncated between two of the server's reads (a fanotify gate holds the
//! reads, so the truncation lands mid-read on every run, not by luck). tftp-hpa's client must
//! get a TFTP ERROR (code 0, RFC 1350 §7) — not a short file passed off as complete, and not
//! silence until it gives up — and receive only the file's true bytes before it. The failure
//! is logged and counted, and the transfer's slot is freed: with `--tftp-max=1`, the next
//! fetch (curl) runs and gets the file as it is now, whole. A netascii request, whose file is
//! read whole before the answer, cut the same way, gets the same ERROR.

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use ringmasq_tests::read_gate::ReadGate;
use ringmasq_tests::tftp::{TftpServer, pattern};
use ringmasq_tests::{Backend, backend_tests};

/// Eight 1 MiB read chunks and a bit: several reads, so one can be held after the first.
const SIZE: usize = 8 * 1024 * 1024 + 321;
/// What the file is cut to: past the first read, not on a block boundary.
const CUT: usize = 1024 * 1024 + 700;

fn a_file_truncated_mid_read_ends_with_an_error(b: Backend) -> anyhow::Result<()> {
    let data = pattern(SIZE, 23);
    let d2 = data.clone();
    let s = TftpServer::start(b, &["--tftp-max=1", "--threads=1"], move |root| {
        std::fs::write(root.join("image.img"), &d2).unwrap();
        std::fs::write(root.join("small.txt"), b"still here\n").unwrap();
    })
    .unwrap();
    let path = s.root().join("image.img");
    let tmp = s.scratch("out");
    let out = tmp.join("hpa");
    let started = Instant::now();
    // Without the server's ERROR tftp-hpa would wait for DATA until it gave up (its timeout is
    // far longer than this limit).
    fetch_cut_gets_error(&s, &path, "image.img", "binary", &out)?;
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the client took {:?}",
        started.elapsed()
    );
    // What arrived (if tftp-hpa kept it) is the file's true start, never the whole size.
    let got = std::fs::read(&out).unwrap_or_default();
    assert!(got.len() < SIZE, "client got {} bytes", got.len());
    assert!(got[..] == data[..got.len()], "client got wrong bytes");
    assert!(
        s.wait_log("could not be read whole", Duration::from_secs(5)),
        "{}",
        s.log()
    );
    s.signal(libc::SIGUSR1).unwrap();
    assert!(
        s.wait_log("1 transfers ended by a read error", Duration::from_secs(5)),
        "{}",
        s.log()
    );
    assert!(s.log().contains("0 completed, 1 failed"), "{}", s.log());
    // The slot is free again (--tftp-max=1): the next fetches run, and the file as it is now
    // (its new size) arrives whole.
    let small = tmp.join("small");
    let o = s.curl("small.txt", None, &small);
    assert!(o.status.success(), "{o:?}\n{}", s.log());
    assert_eq!(std::fs::read(&small)?, b"still here\n");
    let now = tmp.join("now");
    let o = s.curl("image.img", Some(1468), &now);
    assert!(o.status.success(), "{o:?}\n{}", s.log());
    let got = std::fs::read(&now)?;
    assert_eq!(got.len(), CUT);
    assert!(got[..] == data[..CUT], "the cut file differs");
    // netascii: the whole file is read at the request (to convert it); cut during that read,
    // the request is answered with the same ERROR.
    let text = s.root().join("text.txt");
    std::fs::write(&text, "line\n".repeat(SIZE / 5))?;
    let out = tmp.join("ascii");
    fetch_cut_gets_error(&s, &text, "text.txt", "netascii", &out)?;
    Ok(())
}

/// Fetches `name` (the file at `path`) with tftp-hpa in `mode` into `out` while the file is
/// cut to `CUT` bytes mid-read ([`cut_during_fetch`]); asserts the client got the server's
/// ERROR, which tftp-hpa prints as "Error code 0: MESSAGE".
fn fetch_cut_gets_error(
    s: &TftpServer,
    path: &Path,
    name: &str,
    mode: &str,
    out: &Path,
) -> anyhow::Result<()> {
    let (o, reads) = cut_during_fetch(s, path, CUT, || s.tftp_hpa(name, mode, out))?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        said.contains("Error code 0") && said.contains("error reading the file"),
        "{mode}: expected the server's ERROR, got {:?} {said:?} after {reads} reads\n{}",
        o.status,
        s.log()
    );
    Ok(())
}

/// Runs `client` while the reads of `path` are gated: the first read goes through (a full
/// chunk); the file is cut to `cut` bytes while the second waits, after the server has taken
/// the size it announces; every later read goes through until the client is done (bounded by
/// its own timeout). Returns the client's output and the number of reads seen.
fn cut_during_fetch(
    s: &TftpServer,
    path: &Path,
    cut: usize,
    client: impl FnOnce() -> Output + Send,
) -> anyhow::Result<(Output, usize)> {
    let mut gate = ReadGate::new(path)?;
    let r = std::thread::scope(|sc| {
        let client = sc.spawn(client);
        let first = gate.next(Duration::from_secs(20));
        assert!(
            first.is_some(),
            "the server never read the file:\n{}",
            s.log()
        );
        drop(first);
        let second = gate.next(Duration::from_secs(20));
        assert!(second.is_some(), "no second read:\n{}", s.log());
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|f| f.set_len(cut as u64))
            .unwrap();
        drop(second);
        let mut reads = 2;
        while !client.is_finished() {
            if gate.next(Duration::from_millis(100)).is_some() {
                reads += 1;
            }
        }
        (client.join().expect("client thread"), reads)
    });
    Ok(r)
}

backend_tests!(a_file_truncated_mid_read_ends_with_an_error);
