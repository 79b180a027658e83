//! A black-hole upstream: a bound UDP socket (and TCP listener) that never answers.

use std::net::{SocketAddr, TcpListener, UdpSocket};

use crate::error::{HarnessError, Result};
use crate::port::LOCALHOST;

/// Holds a UDP socket and a TCP listener on the same loopback port and never reads them, so
/// queries sent there vanish without an ICMP error.
#[derive(Debug)]
pub struct BlackHole {
    udp: UdpSocket,
    _tcp: TcpListener,
}

impl BlackHole {
    /// Binds a black hole on a free 127.0.0.1 port.
    pub fn new() -> Result<Self> {
        for _ in 0..32 {
            let udp = UdpSocket::bind(SocketAddr::from((LOCALHOST, 0)))
                .map_err(|e| HarnessError::io("bind black hole", e))?;
            let addr = udp
                .local_addr()
                .map_err(|e| HarnessError::io("local_addr", e))?;
            if let Ok(tcp) = TcpListener::bind(addr) {
                return Ok(Self { udp, _tcp: tcp });
            }
        }
        Err(HarnessError::NoFreePort("black hole".into()))
    }

    /// The black hole's address.
    pub fn addr(&self) -> SocketAddr {
        self.udp.local_addr().expect("bound socket has an address")
    }

    /// `ADDR#PORT` for `--server=`.
    pub fn server_spec(&self) -> String {
        let a = self.addr();
        format!("{}#{}", a.ip(), a.port())
    }
}
