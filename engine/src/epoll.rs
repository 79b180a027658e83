//! A thin epoll wrapper with typed tokens.

use std::io;
use std::os::fd::RawFd;

/// What an epoll registration refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token {
    /// The worker's doorbell eventfd.
    Doorbell,
    /// Client UDP listener `i` (portable backend only).
    Udp(u32),
    /// Upstream UDP socket: slot and family (portable backend only).
    Upstream {
        /// Slot index.
        slot: u16,
        /// True for the IPv6 socket of the slot.
        v6: bool,
    },
    /// Client TCP listener `i`.
    TcpListener(u32),
    /// Client TCP connection `i`.
    TcpClient(u32),
    /// Upstream TCP connection `i`.
    TcpUpstream(u32),
    /// A TFTP listener or transfer socket (the TFTP thread's own epoll set).
    Tftp(u32),
}

impl Token {
    fn encode(self) -> u64 {
        match self {
            Token::Doorbell => 0,
            Token::Udp(i) => (1 << 56) | u64::from(i),
            Token::Upstream { slot, v6 } => (2 << 56) | (u64::from(v6) << 16) | u64::from(slot),
            Token::TcpListener(i) => (3 << 56) | u64::from(i),
            Token::TcpClient(i) => (4 << 56) | u64::from(i),
            Token::TcpUpstream(i) => (5 << 56) | u64::from(i),
            Token::Tftp(i) => (6 << 56) | u64::from(i),
        }
    }

    fn decode(v: u64) -> Self {
        let low = (v & 0xffff_ffff) as u32;
        match v >> 56 {
            1 => Token::Udp(low),
            2 => Token::Upstream {
                slot: (v & 0xffff) as u16,
                v6: (v >> 16) & 1 == 1,
            },
            3 => Token::TcpListener(low),
            4 => Token::TcpClient(low),
            5 => Token::TcpUpstream(low),
            6 => Token::Tftp(low),
            _ => Token::Doorbell,
        }
    }
}

/// An epoll instance.
pub struct Epoll {
    fd: RawFd,
}

impl Epoll {
    /// Creates an epoll instance.
    pub fn new() -> io::Result<Self> {
        // SAFETY: plain syscall; we own the returned fd.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Self { fd })
    }

    /// The epoll fd (the io_uring backend polls it).
    pub fn fd(&self) -> RawFd {
        self.fd
    }

    fn ctl(&self, op: i32, fd: RawFd, token: Token, write: bool) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLRDHUP) as u32
                | if write { libc::EPOLLOUT as u32 } else { 0 },
            u64: token.encode(),
        };
        // SAFETY: ev is a valid epoll_event for the duration of the call.
        let rc = unsafe { libc::epoll_ctl(self.fd, op, fd, &mut ev) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Registers `fd` for reading (and writing when `write`).
    pub fn add(&self, fd: RawFd, token: Token, write: bool) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, token, write)
    }

    /// Changes the interest of a registered `fd`.
    pub fn modify(&self, fd: RawFd, token: Token, write: bool) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, token, write)
    }

    /// Removes `fd`.
    pub fn delete(&self, fd: RawFd) -> io::Result<()> {
        // SAFETY: a null event pointer is allowed for EPOLL_CTL_DEL since Linux 2.6.9.
        let rc = unsafe { libc::epoll_ctl(self.fd, libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut()) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits up to `timeout_ms` (-1: forever); fills `tokens` and returns how many are ready.
    pub fn wait(&self, events: &mut [libc::epoll_event], timeout_ms: i32) -> io::Result<usize> {
        // SAFETY: events is a valid writable array of its length.
        let n = unsafe {
            libc::epoll_wait(
                self.fd,
                events.as_mut_ptr(),
                events.len() as i32,
                timeout_ms,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                return Ok(0);
            }
            return Err(e);
        }
        Ok(n as usize)
    }

    /// Decodes the token of a ready event.
    pub fn token(ev: &libc::epoll_event) -> Token {
        Token::decode(ev.u64)
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: we own the fd.
        unsafe {
            libc::close(self.fd);
        }
    }
}
