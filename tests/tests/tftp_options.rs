//! The TFTP server options: `--tftp-no-blocksize`, `--tftp-mtu`, `--tftp-port-range`,
//! `--tftp-single-port`, `--tftp-max`, `--tftp-no-fail` and `--enable-tftp=INTERFACE`.

use std::time::Duration;

use ringmasq_tests::tftp::{Reply, TftpServer, pattern};
use ringmasq_tests::{Backend, backend_tests};

fn file(root: &std::path::Path) {
    std::fs::write(root.join("f"), pattern(5000, 5)).unwrap();
}

fn no_blocksize_and_mtu_limit_negotiation(b: Backend) -> anyhow::Result<()> {
    let s = TftpServer::start(b, &["--tftp-no-blocksize"], file).unwrap();
    let mut c = s.raw_client(Duration::from_secs(3)).unwrap();
    c.rrq("f", &[("blksize", 1468)]).unwrap();
    // blksize is not acknowledged, so no OACK at all: 512-byte DATA straight away.
    match c.recv_from().unwrap().0 {
        Reply::Data(1, d) => assert_eq!(d.len(), 512),
        other => panic!("{other:?}"),
    }
    drop(s);
    let s = TftpServer::start(b, &["--tftp-mtu=1000"], file).unwrap();
    let mut c = s.raw_client(Duration::from_secs(3)).unwrap();
    c.rrq("f", &[("blksize", 1468), ("tsize", 0)]).unwrap();
    assert_eq!(
        c.recv_from().unwrap().0,
        Reply::Oack(b"blksize\x00968\x00tsize\x005000\x00".to_vec())
    );
    c.ack(0).unwrap();
    match c.recv_from().unwrap().0 {
        Reply::Data(1, d) => assert_eq!(d.len(), 968),
        other => panic!("{other:?}"),
    }
    Ok(())
}

fn port_range_and_single_port(b: Backend) -> anyhow::Result<()> {
    let s = TftpServer::start(b, &["--tftp-port-range=47100,47101"], file).unwrap();
    let mut ports = Vec::new();
    let mut clients = Vec::new();
    for _ in 0..2 {
        let mut c = s.raw_client(Duration::from_secs(3)).unwrap();
        c.rrq("f", &[]).unwrap();
        let (r, from) = c.recv_from().unwrap();
        assert!(matches!(r, Reply::Data(1, _)), "{r:?}");
        ports.push(from.port());
        clients.push(c);
    }
    ports.sort();
    assert_eq!(ports, [47100, 47101]);
    // Both ports busy: a third transfer is refused with an error.
    let c = s.raw_client(Duration::from_secs(3)).unwrap();
    c.rrq("f", &[]).unwrap();
    assert!(matches!(c.recv().unwrap(), Reply::Error(0, _)));
    drop(clients);
    drop(s);

    let s = TftpServer::start(b, &["--tftp-single-port"], file).unwrap();
    let out = s.scratch("o").join("f");
    let o = s.curl("f", Some(1024), &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(&out).unwrap(), pattern(5000, 5));
    let mut c = s.raw_client(Duration::from_secs(3)).unwrap();
    c.rrq("f", &[]).unwrap();
    let (_, from) = c.recv_from().unwrap();
    assert_eq!(from.port(), 69);
    Ok(())
}

fn max_transfers_no_fail_and_interfaces(b: Backend) -> anyhow::Result<()> {
    let s = TftpServer::start(b, &["--tftp-max=1"], file).unwrap();
    let mut a = s.raw_client(Duration::from_secs(3)).unwrap();
    a.rrq("f", &[]).unwrap();
    assert!(matches!(a.recv_from().unwrap().0, Reply::Data(1, _)));
    // The second request is not read while the first transfer runs (the client would retry).
    let second = s.raw_client(Duration::from_millis(500)).unwrap();
    second.rrq("f", &[]).unwrap();
    assert!(second.recv().is_err());
    drop(s);

    // A missing root stops the start, unless --tftp-no-fail.
    let bad = "--tftp-root=/nonexistent/ringmasq-tftp-root";
    assert!(TftpServer::start(b, &[bad], file).is_err());
    let s = TftpServer::start(b, &[bad, "--tftp-no-fail"], file).unwrap();
    drop(s);

    // --enable-tftp=IF: requests arriving on another interface are ignored.
    let s = TftpServer::start(b, &["--enable-tftp=ringmasq-none0"], file).unwrap();
    let c = s.raw_client(Duration::from_millis(500)).unwrap();
    c.rrq("f", &[]).unwrap();
    assert!(c.recv().is_err());
    drop(s);
    let s = TftpServer::start(b, &["--enable-tftp=lo"], file).unwrap();
    let mut c = s.raw_client(Duration::from_secs(3)).unwrap();
    c.rrq("f", &[]).unwrap();
    assert!(matches!(c.recv_from().unwrap().0, Reply::Data(1, _)));
    Ok(())
}

backend_tests!(
    no_blocksize_and_mtu_limit_negotiation,
    port_range_and_single_port,
    max_transfers_no_fail_and_interfaces
);
