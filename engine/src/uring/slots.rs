//! The ring's registered (fixed) sockets over a worker's life: pool sockets renewed on fresh
//! ports, client listeners added and removed while running, and everything released before
//! the worker ends.

use super::*;
use io_uring::types::{SubmitArgs, Timespec};

/// Ends every request and unregisters the sockets. The kernel tears a ring down asynchronously
/// once its fd closes, keeping registered files and the sockets of pending requests open
/// meanwhile; a server restarted at once would then find its listening addresses still taken.
/// With nothing pending and nothing registered, the sockets close when the worker drops them.
pub(super) fn release_files(ring: &IoUring) {
    let submitter = ring.submitter();
    let _ = submitter.register_sync_cancel(
        Some(Timespec::new().sec(1)),
        io_uring::types::CancelBuilder::any().all(),
    );
    // The cancelled requests end in this thread's task work, which a DEFER_TASKRUN ring runs
    // only inside an io_uring_enter that asks for completions (IORING_ENTER_GETEVENTS): ask for
    // one with a zero timeout, so they let go of the registered sockets here. (The kernel may
    // still hold a listener a few milliseconds past the process's end; the next server's start
    // waits for it, `socket::wait_udp_free`.)
    let zero = Timespec::new();
    let flush = || {
        let _ = submitter.submit_with_args(1, &SubmitArgs::new().timespec(&zero));
    };
    flush();
    let _ = submitter.unregister_files();
    flush();
}

/// Replaces the pool sockets the forwarder is done with by sockets on fresh random ports: the
/// new file takes the old one's fixed slot, the old receive is cancelled and re-armed on the new
/// file under a new generation.
pub(super) fn renew_ports(
    core: &mut WorkerCore,
    r: &mut Ring,
    sockets: &mut WorkerSockets,
    recv: &mut [RecvSocket],
    up_v4_base: u32,
    up_v6_base: u32,
) -> anyhow::Result<()> {
    core.fwd.take_port_renewals(&mut core.renewals);
    let mut renewals = std::mem::take(&mut core.renewals);
    for renewal in renewals.drain(..) {
        let slot = renewal.slot;
        match sockets.renew_pool_slot(renewal) {
            Ok(old) => {
                if old.v4.is_some() {
                    let fd = sockets.upstream_v4[usize::from(slot)].as_raw_fd();
                    swap_file(r, core, recv, (up_v4_base + u32::from(slot)) as usize, fd)?;
                }
                if old.v6.is_some() {
                    let fd = sockets.upstream_v6[usize::from(slot)].as_raw_fd();
                    swap_file(r, core, recv, (up_v6_base + u32::from(slot)) as usize, fd)?;
                }
                // The old files stay open in the kernel until their cancelled receives end.
                drop(old);
            }
            Err(e) => core.renew_failed(&e),
        }
        core.fwd.port_renewed(slot);
    }
    core.renewals = renewals;
    Ok(())
}

/// Adds and removes client UDP listeners as the control thread asked: a new socket takes a
/// free fixed-file slot and gets a receive; a removed one has its receive cancelled and its
/// slot emptied.
pub(super) fn apply_udp_changes(
    core: &mut WorkerCore,
    r: &mut Ring,
    sockets: &mut WorkerSockets,
    recv: &mut [RecvSocket],
    client_slots: usize,
    reply_base: u32,
) -> anyhow::Result<()> {
    for change in std::mem::take(&mut core.udp_changes) {
        match change {
            UdpChange::Add(s) => {
                let (fd, reply_fd) = (s.recv.as_raw_fd(), s.sender().as_raw_fd());
                let Some(i) = sockets.add_udp(s, client_slots) else {
                    tracing::warn!(
                        "worker {}: no free listener slot ({client_slots} in use)",
                        core.id
                    );
                    continue;
                };
                r.ring
                    .submitter()
                    .register_files_update(reply_base + i as u32, &[reply_fd])?;
                swap_file(r, core, recv, i, fd)?;
            }
            UdpChange::Remove(addr) => {
                let Some((i, old)) = sockets.remove_udp(addr) else {
                    continue;
                };
                r.ring
                    .submitter()
                    .register_files_update(reply_base + i as u32, &[-1])?;
                swap_file(r, core, recv, i, -1)?;
                // The file stays open in the kernel until the cancelled receive ends.
                drop(old);
            }
        }
    }
    Ok(())
}

/// Puts `fd` (-1: none) in fixed-file slot `i`: the receive armed on the old file, if any, is
/// cancelled and the slot takes a new generation, so completions of the old receive are told
/// apart and discarded; a slot with a file is re-armed on the next loop turn.
fn swap_file(
    r: &mut Ring,
    core: &mut WorkerCore,
    recv: &mut [RecvSocket],
    i: usize,
    fd: i32,
) -> anyhow::Result<()> {
    r.ring.submitter().register_files_update(i as u32, &[fd])?;
    let slot = &mut recv[i];
    if slot.armed {
        let e = opcode::AsyncCancel::new(slot.user_data(i))
            .build()
            .user_data(KIND_CANCEL << KIND_SHIFT);
        r.push(core, &e);
    }
    slot.generation += 1;
    slot.active = fd >= 0;
    slot.armed = false;
    r.rearm = true;
    Ok(())
}
