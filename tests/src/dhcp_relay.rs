//! A small DHCP relay agent (RFC 1542 §4.1, RFC 3046) for the relay scenarios, run on a
//! thread inside a relay namespace: client broadcasts arriving on its client-side interface go
//! to the server with `giaddr` set and an option 82 added; the server's replies (to
//! `giaddr`:67) have option 82 recorded and stripped (RFC 3046 §2.2) and are broadcast on the
//! client side.

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::netns::Netns;

/// What the relay saw of the server's replies.
#[derive(Debug, Default)]
pub struct RelayLog {
    /// Requests relayed to the server.
    pub requests: usize,
    /// Option 82 of each reply from the server (`None` when a reply had none).
    pub echoed: Vec<Option<Vec<u8>>>,
}

/// The running relay; stopped and joined when dropped.
#[derive(Debug)]
pub struct TestRelay {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// What it has seen so far.
    pub log: Arc<Mutex<RelayLog>>,
}

fn bind_to_device(s: &UdpSocket, dev: &str) {
    // SAFETY: setsockopt with a byte string and its length on a socket we own.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            dev.as_ptr().cast(),
            dev.len() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_BINDTODEVICE {dev}");
}

fn set_reuse(s: &UdpSocket) {
    let one: libc::c_int = 1;
    // SAFETY: setsockopt with a c_int we own.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            (&one as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// The options of a BOOTP message after the cookie, as `(start, code, value)` without PAD,
/// up to END; `None` if malformed.
fn options(p: &[u8]) -> Option<Vec<(usize, u8, &[u8])>> {
    let mut out = Vec::new();
    let mut i = 240;
    while i < p.len() {
        match p[i] {
            0 => i += 1,
            255 => return Some(out),
            c => {
                let len = usize::from(*p.get(i + 1)?);
                out.push((i, c, p.get(i + 2..i + 2 + len)?));
                i += 2 + len;
            }
        }
    }
    Some(out)
}

/// `p` with option 82 inserted before END (RFC 3046 §2.1: the agent adds it last).
fn add_agent_option(p: &[u8], agent: &[u8]) -> Option<Vec<u8>> {
    let opts = options(p)?;
    let end = opts.last().map_or(240, |(i, _, v)| i + 2 + v.len());
    let mut out = p[..end].to_vec();
    out.push(82);
    out.push(agent.len() as u8);
    out.extend_from_slice(agent);
    out.push(255);
    if out.len() < 300 {
        out.resize(300, 0);
    }
    Some(out)
}

/// `p` without option 82, and the option's value.
fn strip_agent_option(p: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let opts = options(p)?;
    let mut out = p[..240].to_vec();
    let mut agent = None;
    for (_, c, v) in opts {
        if c == 82 {
            agent = Some(v.to_vec());
        } else {
            out.push(c);
            out.push(v.len() as u8);
            out.extend_from_slice(v);
        }
    }
    out.push(255);
    if out.len() < 300 {
        out.resize(300, 0);
    }
    Some((out, agent))
}

impl TestRelay {
    /// Starts relaying in namespace `ns`: clients on `client_if` (whose address is `giaddr`),
    /// the server at `server`:67; `agent` is the option 82 value added to each request.
    pub fn start(
        ns: &Netns,
        client_if: &str,
        giaddr: Ipv4Addr,
        server: Ipv4Addr,
        agent: Vec<u8>,
    ) -> TestRelay {
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(RelayLog::default()));
        let path = PathBuf::from("/var/run/netns").join(ns.name());
        let (stop2, log2, dev) = (Arc::clone(&stop), Arc::clone(&log), client_if.to_string());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let f = std::fs::File::open(&path).expect("open relay namespace");
            // SAFETY: setns(2) on a namespace file we hold open; moves only this thread.
            let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns");
            // Port 67 on every address: client broadcasts and the server's replies to giaddr.
            let s = UdpSocket::bind("0.0.0.0:67").expect("bind relay :67");
            set_reuse(&s);
            s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
            // Replies go out on the client side as broadcasts.
            let out = UdpSocket::bind("0.0.0.0:0").expect("bind relay sender");
            bind_to_device(&out, &dev);
            out.set_broadcast(true).unwrap();
            ready_tx.send(()).unwrap();
            let mut buf = [0u8; 1500];
            while !stop2.load(Ordering::Relaxed) {
                let Ok((n, _)) = s.recv_from(&mut buf) else {
                    continue;
                };
                let p = &buf[..n];
                if n < 240 {
                    continue;
                }
                if p[0] == 1 {
                    let mut q = p.to_vec();
                    q[3] = q[3].saturating_add(1);
                    q[24..28].copy_from_slice(&giaddr.octets());
                    if let Some(q) = add_agent_option(&q, &agent) {
                        let _ = s.send_to(&q, SocketAddrV4::new(server, 67));
                        log2.lock().unwrap().requests += 1;
                    }
                } else if p[0] == 2
                    && let Some((r, a)) = strip_agent_option(p)
                {
                    log2.lock().unwrap().echoed.push(a);
                    let _ = out.send_to(&r, SocketAddrV4::new(Ipv4Addr::BROADCAST, 68));
                }
            }
        });
        ready_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("relay ready");
        TestRelay {
            stop,
            thread: Some(thread),
            log,
        }
    }
}

impl Drop for TestRelay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_option_added_and_stripped() {
        let mut p = vec![0u8; 240];
        p.extend_from_slice(&[53, 1, 1, 0, 12, 2, b'h', b'i', 255]);
        let q = add_agent_option(&p, &[1, 2, b'c', b'1']).unwrap();
        assert_eq!(
            &q[240..255],
            &[53, 1, 1, 0, 12, 2, b'h', b'i', 82, 4, 1, 2, b'c', b'1', 255]
        );
        let (r, a) = strip_agent_option(&q).unwrap();
        assert_eq!(a, Some(vec![1, 2, b'c', b'1']));
        assert_eq!(&r[240..248], &[53, 1, 1, 12, 2, b'h', b'i', 255]);
    }
}
