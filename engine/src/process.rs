//! Process model: daemonising, the pid file and dropping privileges, as dnsmasq does.
//!
//! The order matters and is kept by `main`: bind every socket, daemonise, write the pid file,
//! then drop privileges (user, group, and all capabilities but the three that DHCP, RA and TFTP
//! will need), and only then start threads, which inherit the reduced credentials.

use anyhow::{Context, Result, bail};
use std::ffi::CString;
use std::path::{Path, PathBuf};

/// Forks into the background: the parent exits, the child starts a new session with its
/// standard streams on /dev/null. Must run before any thread is started.
pub fn daemonize() -> Result<()> {
    // SAFETY: called while the process is single-threaded; fork/setsid/dup2 are plain syscalls.
    unsafe {
        match libc::fork() {
            -1 => bail!("fork failed: {}", std::io::Error::last_os_error()),
            0 => {}
            _ => libc::_exit(0),
        }
        if libc::setsid() < 0 {
            bail!("setsid failed: {}", std::io::Error::last_os_error());
        }
        // Fork again so the daemon can never reacquire a controlling terminal.
        match libc::fork() {
            -1 => bail!("fork failed: {}", std::io::Error::last_os_error()),
            0 => {}
            _ => libc::_exit(0),
        }
        let _ = libc::chdir(c"/".as_ptr());
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            libc::dup2(null, 0);
            libc::dup2(null, 1);
            libc::dup2(null, 2);
            if null > 2 {
                libc::close(null);
            }
        }
    }
    Ok(())
}

/// A pid file removed when dropped.
pub struct PidFile(PathBuf);

impl PidFile {
    /// Writes our pid to `path`, replacing the file atomically.
    pub fn create(path: &Path) -> Result<Self> {
        let tmp = path.with_extension("pid.tmp");
        std::fs::write(&tmp, format!("{}\n", std::process::id()))
            .with_context(|| format!("cannot write pid file {}", path.display()))?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("cannot write pid file {}", path.display()))?;
        Ok(Self(path.to_path_buf()))
    }

    /// Where the pid file is.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Starts a small helper process that keeps the starting credentials and removes the
    /// pid file when this process exits (however it exits). Needed when privileges are about
    /// to be dropped: an unprivileged process can no longer unlink a file in `/run`. The
    /// helper holds no socket and no other descriptor than the pipe it waits on; it ignores
    /// the signals a service manager sends and exits as soon as the pipe reaches end of file.
    /// Must run while the process is single-threaded.
    pub fn remove_at_exit_with_helper(&self) -> Result<()> {
        let path = CString::new(self.0.as_os_str().as_encoded_bytes())
            .context("pid file path contains a NUL byte")?;
        let ours = format!("{}\n", std::process::id());
        let mut fds = [0i32; 2];
        // SAFETY: pipe2 fills the two-element array we own.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            bail!("pipe failed: {}", std::io::Error::last_os_error());
        }
        let [read_end, write_end] = fds;
        // SAFETY: the process is single-threaded here (documented precondition), so the child
        // may run ordinary code; it only uses the values prepared above and then `_exit`s.
        match unsafe { libc::fork() } {
            -1 => bail!("fork failed: {}", std::io::Error::last_os_error()),
            0 => {
                // SAFETY: plain syscalls on descriptors and memory this child owns.
                unsafe {
                    libc::close(write_end);
                    if read_end != 3 {
                        libc::dup2(read_end, 3);
                    }
                    if libc::close_range(4, u32::MAX, 0) != 0 {
                        for fd in 4..4096 {
                            libc::close(fd);
                        }
                    }
                    for sig in [
                        libc::SIGHUP,
                        libc::SIGINT,
                        libc::SIGTERM,
                        libc::SIGUSR1,
                        libc::SIGUSR2,
                        libc::SIGPIPE,
                    ] {
                        libc::signal(sig, libc::SIG_IGN);
                    }
                    libc::prctl(libc::PR_SET_NAME, c"ringmasq-pidrm".as_ptr());
                    let mut byte = 0u8;
                    // Blocks until the daemon exits and its write end closes.
                    while libc::read(3, (&raw mut byte).cast(), 1) != 0 {
                        if *libc::__errno_location() != libc::EINTR {
                            break;
                        }
                    }
                    // Remove the file only if it is still the daemon's (not a newer instance's).
                    let mut buf = [0u8; 32];
                    let fd = libc::open(path.as_ptr(), libc::O_RDONLY);
                    if fd >= 0 {
                        let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
                        libc::close(fd);
                        if n > 0 && buf[..n as usize] == *ours.as_bytes() {
                            libc::unlink(path.as_ptr());
                        }
                    }
                    libc::_exit(0);
                }
            }
            _ => {
                // SAFETY: closing our copy of the read end; the write end stays open (and
                // close-on-exec) for the life of the daemon.
                unsafe { libc::close(read_end) };
                Ok(())
            }
        }
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Problems found while resolving or switching to the configured user and group.
#[derive(Debug, thiserror::Error)]
pub enum PrivilegeError {
    /// `-u` names no known user.
    #[error("unknown user or group: {0}")]
    UnknownUser(String),
    /// `-g` names no known group.
    #[error("unknown user or group: {0}")]
    UnknownGroup(String),
    /// A system call failed while switching identity.
    #[error("failed to change {what}: {source}")]
    Syscall {
        /// What was being changed.
        what: &'static str,
        /// The error from the kernel.
        source: std::io::Error,
    },
    /// After the switch, root could be regained: refuse to run.
    #[error("privileges were not dropped: root can still be regained")]
    NotDropped,
}

/// The user and group to run as after binding (`-u`, `-g`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// The user id to switch to, or `None` to keep the current one (`-g` alone).
    pub uid: Option<libc::uid_t>,
    /// The group id to switch to.
    pub gid: libc::gid_t,
}

/// The group dnsmasq switches to by default, when it exists.
const DEFAULT_GROUP: &str = "dip";

/// Capabilities kept after the switch: binding low ports (DNS, DHCP, TFTP), raw sockets
/// (DHCP, ICMPv6 router advertisements) and network administration (ARP and route updates).
pub const KEPT_CAPABILITIES: [u32; 3] = [
    10, // CAP_NET_BIND_SERVICE
    12, // CAP_NET_ADMIN
    13, // CAP_NET_RAW
];

fn lookup_user(name: &str) -> Option<(libc::uid_t, libc::gid_t)> {
    let c = CString::new(name).ok()?;
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut out: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer refers to memory we own, sized as passed.
    let rc =
        unsafe { libc::getpwnam_r(c.as_ptr(), &mut pw, buf.as_mut_ptr(), buf.len(), &mut out) };
    if rc == 0 && !out.is_null() {
        return Some((pw.pw_uid, pw.pw_gid));
    }
    // A numeric id: its passwd entry's group when it has one, else the same number.
    let uid: libc::uid_t = name.parse().ok()?;
    // SAFETY: as above.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr(), buf.len(), &mut out) };
    Some((
        uid,
        if rc == 0 && !out.is_null() {
            pw.pw_gid
        } else {
            uid
        },
    ))
}

fn lookup_group(name: &str) -> Option<libc::gid_t> {
    let c = CString::new(name).ok()?;
    let mut gr: libc::group = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 64 * 1024];
    let mut out: *mut libc::group = std::ptr::null_mut();
    // SAFETY: every pointer refers to memory we own, sized as passed.
    let rc =
        unsafe { libc::getgrnam_r(c.as_ptr(), &mut gr, buf.as_mut_ptr(), buf.len(), &mut out) };
    if rc == 0 && !out.is_null() {
        return Some(gr.gr_gid);
    }
    name.parse().ok()
}

impl Identity {
    /// Resolves `-u`/`-g`. `None` when there is nothing to change. Without `-g`, the group is
    /// `dip` when it exists (dnsmasq's default), else the user's own group.
    pub fn resolve(
        user: Option<&str>,
        group: Option<&str>,
    ) -> Result<Option<Self>, PrivilegeError> {
        let user = match user {
            Some(u) => {
                Some(lookup_user(u).ok_or_else(|| PrivilegeError::UnknownUser(u.to_string()))?)
            }
            None => None,
        };
        let gid = match group {
            Some(g) => {
                Some(lookup_group(g).ok_or_else(|| PrivilegeError::UnknownGroup(g.to_string()))?)
            }
            None => None,
        };
        Ok(match (user, gid) {
            (None, None) => None,
            (None, Some(gid)) => Some(Self { uid: None, gid }),
            (Some((uid, primary)), gid) => Some(Self {
                uid: Some(uid),
                gid: gid
                    .or_else(|| lookup_group(DEFAULT_GROUP))
                    .unwrap_or(primary),
            }),
        })
    }
}

fn check(rc: libc::c_int, what: &'static str) -> Result<(), PrivilegeError> {
    if rc == 0 {
        Ok(())
    } else {
        Err(PrivilegeError::Syscall {
            what,
            source: std::io::Error::last_os_error(),
        })
    }
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
const CAP_VERSION_3: u32 = 0x2008_0522;

fn set_capabilities(keep: &[u32]) -> Result<(), PrivilegeError> {
    let mut data = [CapData::default(); 2];
    for &cap in keep {
        let word = &mut data[(cap / 32) as usize];
        word.effective |= 1 << (cap % 32);
        word.permitted |= 1 << (cap % 32);
    }
    let header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    // SAFETY: capset(2) reads one header and two data structs, laid out as the kernel's.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &header, data.as_ptr()) };
    check(rc as libc::c_int, "capabilities")
}

/// Switches to `id`, keeping only [`KEPT_CAPABILITIES`] (when the user changes). Supplementary
/// groups are cleared. Must run before any thread starts: capabilities are per thread, and
/// threads created afterwards inherit the reduced set. Does nothing unless running as root,
/// as dnsmasq.
pub fn drop_privileges(id: &Identity) -> Result<bool, PrivilegeError> {
    // SAFETY: plain credential syscalls with values we own; the process is single-threaded.
    unsafe {
        if libc::geteuid() != 0 {
            return Ok(false);
        }
        if id.uid.is_some_and(|u| u != 0) {
            check(
                libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0),
                "keep-capabilities flag",
            )?;
        }
        check(libc::setgroups(0, std::ptr::null()), "supplementary groups")?;
        check(libc::setresgid(id.gid, id.gid, id.gid), "group")?;
        if let Some(uid) = id.uid {
            check(libc::setresuid(uid, uid, uid), "user")?;
            if uid != 0 {
                set_capabilities(&KEPT_CAPABILITIES)?;
                check(
                    libc::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0),
                    "keep-capabilities flag",
                )?;
                // Paranoia: root must be out of reach now.
                if libc::setuid(0) == 0 {
                    return Err(PrivilegeError::NotDropped);
                }
            }
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_root_and_numeric_ids() {
        assert_eq!(Identity::resolve(None, None).unwrap(), None);
        let id = Identity::resolve(Some("root"), Some("root"))
            .unwrap()
            .unwrap();
        assert_eq!(
            id,
            Identity {
                uid: Some(0),
                gid: 0
            }
        );
        let id = Identity::resolve(Some("4242"), Some("4343"))
            .unwrap()
            .unwrap();
        assert_eq!(
            id,
            Identity {
                uid: Some(4242),
                gid: 4343
            }
        );
        let id = Identity::resolve(None, Some("0")).unwrap().unwrap();
        assert_eq!(id, Identity { uid: None, gid: 0 });
    }

    #[test]
    fn unknown_names_are_errors() {
        let e = Identity::resolve(Some("no-such-user-ringmasq"), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown user or group: no-such-user-ringmasq"
        );
        let e = Identity::resolve(None, Some("no-such-group-ringmasq")).unwrap_err();
        assert!(matches!(e, PrivilegeError::UnknownGroup(_)));
    }

    #[test]
    fn nobody_gets_dip_or_its_own_group() {
        let Some((uid, primary)) = lookup_user("nobody") else {
            return;
        };
        let id = Identity::resolve(Some("nobody"), None).unwrap().unwrap();
        assert_eq!(id.uid, Some(uid));
        assert_eq!(id.gid, lookup_group("dip").unwrap_or(primary));
    }
}
