//! The service when a file cannot be read whole: every transfer sharing the bytes ends with an
//! ERROR on its own socket, is counted, and frees its slot — with real loopback sockets and a
//! real file; the read itself is driven by hand through its [`Loader`].

use std::net::UdpSocket;
use std::path::PathBuf;

use ringmasq_config::TftpRoot;

use super::*;
use crate::tftp::files::Loader;

struct Lab {
    dir: PathBuf,
    svc: TftpService,
    shared: Arc<Shared>,
    stats: Arc<TftpStats>,
    clients: Vec<UdpSocket>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const NOW: Instant = Instant::from_millis(1000);

/// A service over a root holding a 3 MiB file `f`, and `n` clients that asked for it (octet,
/// no options: 512-byte blocks, lock-step). Returns the lab, the one loader both transfers
/// share, and the transfers in request order.
fn lab(name: &str, n: usize) -> (Lab, Loader, Vec<Owner>) {
    let dir = std::env::temp_dir().join(format!("rmq-tftp-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("f"), vec![7u8; 3 << 20]).unwrap();
    let settings = TftpSettings {
        enabled: true,
        roots: vec![TftpRoot {
            dir: dir.clone(),
            interface: None,
        }],
        ..TftpSettings::default()
    };
    let shared = Arc::new(Shared::default());
    let stats = Arc::new(TftpStats::default());
    let mut svc = TftpService::new(
        &settings,
        &["127.0.0.1:0".parse().unwrap()],
        Arc::new(AtomicBool::new(false)),
        Arc::clone(&stats),
        Arc::clone(&shared),
    )
    .unwrap();
    let to = svc.listeners[0].local_addr().unwrap().as_socket().unwrap();
    let clients: Vec<UdpSocket> = (0..n)
        .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
        .collect();
    let mut out = Vec::new();
    let mut loader = None;
    let mut owners = Vec::new();
    for c in &clients {
        c.send_to(b"\x00\x01f\x00octet\x00", to).unwrap();
        while svc.listener_readable(0, NOW) {}
        svc.take_out(&mut out);
        for o in out.drain(..) {
            match o {
                Out::Load { loader: l, .. } => {
                    assert!(loader.is_none(), "the file is read once for all transfers");
                    loader = Some(l);
                }
                Out::Watch { owner, .. } => owners.push(owner),
                Out::Blocks(_) => panic!("a block was sent before its bytes were read"),
                _ => {}
            }
        }
    }
    assert_eq!(owners.len(), n);
    let lab = Lab {
        dir,
        svc,
        shared,
        stats,
        clients,
    };
    (lab, loader.expect("a read of the file"), owners)
}

/// What the service queued: (transfer, DATA blocks first..=last) and (transfer, ERROR bytes)
/// and the transfers whose sockets it closes.
#[derive(Default, Debug)]
struct Queued {
    blocks: Vec<(Owner, u64, u64)>,
    errors: Vec<(Owner, Vec<u8>)>,
    closed: Vec<Owner>,
}

fn queued(svc: &mut TftpService) -> Queued {
    let mut out = Vec::new();
    svc.take_out(&mut out);
    let mut q = Queued::default();
    for o in out {
        match o {
            Out::Blocks(b) => q.blocks.push((b.owner, b.first, b.last)),
            Out::Packet {
                owner: Some(owner),
                bytes,
                ..
            } => q.errors.push((owner, bytes)),
            Out::Close { owner, .. } => q.closed.push(owner),
            _ => {}
        }
    }
    q
}

fn is_error_0(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0, 5, 0, 0]) && bytes.ends_with(&[0])
}

#[test]
fn a_failed_read_ends_every_transfer_waiting_on_the_shared_bytes() {
    let (mut lab, loader, owners) = lab("fail-all", 3);
    assert_eq!(lab.shared.active.load(Ordering::Relaxed), 3);
    assert!(lab.svc.has_waiting());
    // The file shrank before its first byte was read.
    loader.fail();
    lab.svc.poll_waiting();
    let q = queued(&mut lab.svc);
    assert!(q.blocks.is_empty(), "{q:?}");
    assert_eq!(q.errors.len(), 3, "{q:?}");
    for (owner, bytes) in &q.errors {
        assert!(owners.contains(owner));
        assert!(is_error_0(bytes), "{bytes:?}");
    }
    // The ERROR is queued before the socket's close, so it leaves on it.
    assert_eq!(q.closed.len(), 3);
    assert!(!lab.svc.has_waiting());
    assert_eq!(lab.shared.active.load(Ordering::Relaxed), 0);
    let st = &lab.stats;
    assert_eq!(st.read_errors.load(Ordering::Relaxed), 3);
    assert_eq!(st.failed.load(Ordering::Relaxed), 3);
    assert_eq!(st.errors_sent.load(Ordering::Relaxed), 3);
    assert_eq!(st.completed.load(Ordering::Relaxed), 0);
    // Late packets of an ended transfer are ignored.
    lab.svc.transfer_datagram(owners[0], &[0, 4, 0, 1], NOW);
    assert!(!lab.svc.has_out());
    assert_eq!(lab.clients.len(), 3);
}

#[test]
fn a_read_failing_midway_sends_the_read_blocks_then_an_error() {
    let (mut lab, mut loader, owners) = lab("fail-midway", 2);
    let (a, b) = (owners[0], owners[1]);
    // Two blocks' bytes arrive: both transfers are sent block 1.
    loader.filled(0..1024);
    lab.svc.poll_waiting();
    let q = queued(&mut lab.svc);
    assert_eq!(q.blocks, vec![(a, 1, 1), (b, 1, 1)]);
    lab.svc.transfer_datagram(a, &[0, 4, 0, 1], NOW);
    let q = queued(&mut lab.svc);
    assert_eq!(q.blocks, vec![(a, 2, 2)]);
    // Block 3 is not read yet: a waits for it, and the read then fails.
    lab.svc.transfer_datagram(a, &[0, 4, 0, 2], NOW);
    assert!(queued(&mut lab.svc).blocks.is_empty());
    loader.fail();
    lab.svc.poll_waiting();
    let q = queued(&mut lab.svc);
    assert!(q.blocks.is_empty(), "no short block: {q:?}");
    assert_eq!(q.errors.len(), 1);
    assert_eq!(q.errors[0].0, a);
    assert!(is_error_0(&q.errors[0].1));
    assert_eq!(q.closed, vec![a]);
    // b, still on block 1, gets the bytes that were read, then the error where they end.
    lab.svc.transfer_datagram(b, &[0, 4, 0, 1], NOW);
    assert_eq!(queued(&mut lab.svc).blocks, vec![(b, 2, 2)]);
    lab.svc.transfer_datagram(b, &[0, 4, 0, 2], NOW);
    lab.svc.poll_waiting();
    let q = queued(&mut lab.svc);
    assert!(q.blocks.is_empty(), "{q:?}");
    assert_eq!(q.errors.len(), 1);
    assert_eq!(q.errors[0].0, b);
    assert_eq!(lab.shared.active.load(Ordering::Relaxed), 0);
    assert_eq!(lab.stats.read_errors.load(Ordering::Relaxed), 2);
}
