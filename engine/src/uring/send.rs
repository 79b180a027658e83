//! How replies and upstream queries leave a worker's ring: the outbox turned into `Send`
//! entries (a destination address) or `SendMsg` entries (a source address too, IP_PKTINFO),
//! each in a send slot whose memory the kernel reads until the submission returns.

use super::*;

/// One queued send: everything the kernel reads until the `io_uring_enter` that submits it
/// returns.
pub(super) struct SendSlot {
    pub(super) hdr: libc::msghdr,
    pub(super) iov: libc::iovec,
    pub(super) name: libc::sockaddr_storage,
    pub(super) control: [u8; CMSG_SPACE],
    /// The buffer the kernel reads, recycled once the submission returned.
    pub(super) buf: Option<Vec<u8>>,
}

/// Turns the outbox into Send/SendMsg entries (UDP) or TCP actions.
pub(super) fn queue_sends(
    core: &mut WorkerCore,
    r: &mut Ring,
    fixed_for: &dyn Fn(&Destination) -> Option<u32>,
) {
    while !core.outbox.is_empty() {
        let mut scratch = std::mem::take(&mut core.scratch);
        core.outbox.take_pending(&mut scratch);
        // Transmits are read in place and only their buffers taken: moving each ~100-byte
        // Transmit out of the list (a vector copy to the stack, then narrower loads of its
        // fields) stalled on store forwarding, the largest cost of this function.
        for t in scratch.iter_mut() {
            let buf = std::mem::take(&mut t.buf);
            if t.to.is_tcp() {
                // Handed on only for TCP; UDP transmits are not moved through it and back.
                let tcp = Transmit {
                    to: t.to,
                    buf,
                    len: t.len,
                };
                // The clock is read here only: a UDP-only turn does not read it for nothing.
                let _ = core.send_tcp_or_return(tcp, clock::now());
                continue;
            }
            let Some(fixed) = fixed_for(&t.to) else {
                core.outbox.recycle(buf);
                continue;
            };
            queue_udp(core, r, fixed, &t.to, buf, t.len);
        }
        scratch.clear();
        core.scratch = scratch;
    }
}

/// Queues one UDP transmit in a free send slot: a SendMsg entry when it sets its source
/// address (IP_PKTINFO), else a Send entry with the destination address.
fn queue_udp(
    core: &mut WorkerCore,
    r: &mut Ring,
    fixed: u32,
    to: &Destination,
    buf: Vec<u8>,
    len: usize,
) {
    let slot_idx = match r.free_sends.pop() {
        Some(i) => i,
        None => {
            // Every send slot is queued: submit them, which frees them.
            let _ = r.submit(core, 0, Duration::ZERO);
            match r.free_sends.pop() {
                Some(i) => i,
                None => {
                    core.outbox.recycle(buf);
                    return;
                }
            }
        }
    };
    let slot = &mut r.sends[slot_idx as usize];
    let (peer, local, ifindex) = match *to {
        Destination::Client(ep) => (ep.peer, ep.local, ep.ifindex),
        Destination::Upstream { server, .. } => (server, None, 0),
        Destination::UpstreamTcp { server, .. } => (server, None, 0),
    };
    let namelen = to_sockaddr(&peer, &mut slot.name);
    let clen = write_pktinfo(local, ifindex, &mut slot.control);
    if clen == 0 {
        // No source address to set: a plain send with a destination (IORING_OP_SEND with
        // `addr2`, Linux 6.0) spares the kernel copying and checking a msghdr and an iovec.
        let e = opcode::Send::new(Fixed(fixed), buf.as_ptr(), len as u32)
            .dest_addr((&slot.name as *const libc::sockaddr_storage).cast())
            .dest_addr_len(namelen)
            .flags(libc::MSG_DONTWAIT)
            .build()
            .flags(squeue::Flags::SKIP_SUCCESS)
            .user_data(send_user_data(fixed, slot_idx));
        slot.buf = Some(buf);
        finish_queue(core, r, slot_idx, &e);
        return;
    }
    slot.iov = libc::iovec {
        iov_base: buf.as_ptr() as *mut _,
        iov_len: len,
    };
    slot.hdr.msg_name = (&mut slot.name as *mut libc::sockaddr_storage).cast();
    slot.hdr.msg_namelen = namelen;
    slot.hdr.msg_iov = &mut slot.iov;
    slot.hdr.msg_iovlen = 1;
    slot.hdr.msg_control = if clen > 0 {
        slot.control.as_mut_ptr().cast()
    } else {
        std::ptr::null_mut()
    };
    slot.hdr.msg_controllen = clen as _;
    slot.hdr.msg_flags = 0;
    slot.buf = Some(buf);
    // MSG_DONTWAIT: a send that cannot go at once fails (and is counted) instead of waiting in
    // the kernel for socket buffer space, so its memory is free when the submission returns.
    let e = opcode::SendMsg::new(Fixed(fixed), &slot.hdr)
        .flags(libc::MSG_DONTWAIT as u32)
        .build()
        .flags(squeue::Flags::SKIP_SUCCESS)
        .user_data(send_user_data(fixed, slot_idx));
    finish_queue(core, r, slot_idx, &e);
}

/// A send's user data: its kind, the fixed file it leaves from (bits 16..48: a failed send
/// names its socket by it, whatever has happened to the slot since) and its slot.
fn send_user_data(fixed: u32, slot_idx: u16) -> u64 {
    (KIND_SEND << KIND_SHIFT) | (u64::from(fixed) << SEND_FIXED_SHIFT) | u64::from(slot_idx)
}

/// Pushes a send slot's entry; when it does not fit, the slot and its buffer are freed.
fn finish_queue(core: &mut WorkerCore, r: &mut Ring, slot_idx: u16, e: &io_uring::squeue::Entry) {
    if r.push(core, e) {
        r.queued_sends.push(slot_idx);
    } else {
        if let Some(buf) = r.sends[usize::from(slot_idx)].buf.take() {
            core.outbox.recycle(buf);
        }
        r.free_sends.push(slot_idx);
    }
}
