//! The signals the control thread handles (SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2) are
//! blocked from the start of the process until the control thread has its handlers, so a signal
//! that arrives while ringmasq is still starting (a service manager's reload or stop) waits for
//! them instead of killing the process with its default action, leaving a stale pid file.
//! Every thread started in between inherits the block; only the control thread lifts it.

const CONTROL_SIGNALS: [libc::c_int; 5] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

fn set_mask(how: libc::c_int) {
    // SAFETY: sigset_t is plain data initialised by sigemptyset before use; pthread_sigmask
    // only reads it and changes the calling thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in CONTROL_SIGNALS {
            libc::sigaddset(&mut set, s);
        }
        libc::pthread_sigmask(how, &set, std::ptr::null_mut());
    }
}

/// Blocks the control signals on the calling thread (and the threads it starts later).
/// Call first thing in `main`, while the process is single-threaded.
pub fn block_control_signals() {
    set_mask(libc::SIG_BLOCK);
}

/// Lets the control signals in on the calling thread, once its handlers are installed; any that
/// arrived meanwhile are delivered now.
pub fn unblock_control_signals() {
    set_mask(libc::SIG_UNBLOCK);
}
