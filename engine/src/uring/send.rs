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
    /// The fixed file it leaves from.
    pub(super) fixed: u32,
    /// Octets of `buf` sent.
    pub(super) len: u32,
    /// Length of the address in `name`.
    pub(super) namelen: u32,
    /// A `SendMsg` entry (the source address set in `control`), else a `Send` entry.
    pub(super) msg: bool,
    /// Failed as larger than its link (EMSGSIZE): its buffer is kept, past the submission that
    /// freed the other slots, until the loop has turned fragments on and sent it once more.
    pub(super) held: bool,
    /// Already sent once more after EMSGSIZE: a second failure is final.
    pub(super) resent: bool,
}

impl SendSlot {
    /// An empty slot.
    pub(super) fn new() -> Self {
        SendSlot {
            // SAFETY: all-zero C structs are valid values.
            hdr: unsafe { zeroed() },
            iov: unsafe { zeroed() },
            name: unsafe { zeroed() },
            control: [0; CMSG_SPACE],
            buf: None,
            fixed: 0,
            len: 0,
            namelen: 0,
            msg: false,
            held: false,
            resent: false,
        }
    }

    /// The entry that sends what the slot holds (slot `idx`): a `Send` with a destination
    /// address (IORING_OP_SEND with `addr2`, Linux 6.0), which spares the kernel copying and
    /// checking a msghdr and an iovec, or a `SendMsg` when a source address is set
    /// (IP_PKTINFO). MSG_DONTWAIT: a send that cannot go at once fails (and is counted)
    /// instead of waiting in the kernel for socket buffer space, so its memory is free when the
    /// submission returns. Successful sends post no completion. None when it holds no buffer.
    fn entry(&mut self, idx: u16) -> Option<io_uring::squeue::Entry> {
        let user_data = send_user_data(self.fixed, idx);
        let buf = self.buf.as_ref()?;
        if !self.msg {
            return Some(
                opcode::Send::new(Fixed(self.fixed), buf.as_ptr(), self.len)
                    .dest_addr((&self.name as *const libc::sockaddr_storage).cast())
                    .dest_addr_len(self.namelen)
                    .flags(libc::MSG_DONTWAIT)
                    .build()
                    .flags(squeue::Flags::SKIP_SUCCESS)
                    .user_data(user_data),
            );
        }
        self.iov = libc::iovec {
            iov_base: buf.as_ptr() as *mut _,
            iov_len: self.len as usize,
        };
        self.hdr.msg_name = (&mut self.name as *mut libc::sockaddr_storage).cast();
        self.hdr.msg_namelen = self.namelen;
        self.hdr.msg_iov = &mut self.iov;
        self.hdr.msg_iovlen = 1;
        self.hdr.msg_control = self.control.as_mut_ptr().cast();
        self.hdr.msg_flags = 0;
        Some(
            opcode::SendMsg::new(Fixed(self.fixed), &self.hdr)
                .flags(libc::MSG_DONTWAIT as u32)
                .build()
                .flags(squeue::Flags::SKIP_SUCCESS)
                .user_data(user_data),
        )
    }
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
    slot.namelen = to_sockaddr(&peer, &mut slot.name);
    let clen = write_pktinfo(local, ifindex, &mut slot.control);
    slot.msg = clen > 0;
    slot.hdr.msg_controllen = clen as _;
    slot.fixed = fixed;
    slot.len = len as u32;
    slot.held = false;
    slot.resent = false;
    slot.buf = Some(buf);
    if let Some(e) = slot.entry(slot_idx) {
        finish_queue(core, r, slot_idx, &e);
    }
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

/// Marks send slot `idx`, whose send failed as larger than its link (EMSGSIZE), as held, while
/// it is still queued (its buffer not yet recycled) and has not been sent twice already.
pub(super) fn hold_if_queued(sends: &mut [SendSlot], queued: &[u16], idx: u16) {
    if let Some(s) = sends.get_mut(usize::from(idx))
        && !s.resent
        && s.buf.is_some()
        && queued.contains(&idx)
    {
        s.held = true;
    }
}

impl Ring {
    /// Queues a held send once more (its socket now lets replies be fragmented); true when it is
    /// queued, false when it was not held or no longer fits (then it is freed).
    pub(super) fn resend(&mut self, core: &mut WorkerCore, idx: u16) -> bool {
        let Some(s) = self.sends.get_mut(usize::from(idx)) else {
            return false;
        };
        if !s.held {
            return false;
        }
        s.held = false;
        if self.queued_sends.contains(&idx) {
            // Its submission was not seen through (the queue was not empty after it): the slot
            // is freed with the others, and not tried again.
            return false;
        }
        s.resent = true;
        let Some(e) = s.entry(idx) else {
            self.free_sends.push(idx);
            return false;
        };
        finish_queue(core, self, idx, &e);
        self.queued_sends.contains(&idx)
    }

    /// Frees a held slot whose send is not tried again.
    pub(super) fn drop_held(&mut self, core: &mut WorkerCore, idx: u16) {
        let Some(s) = self.sends.get_mut(usize::from(idx)) else {
            return;
        };
        if !std::mem::take(&mut s.held) || self.queued_sends.contains(&idx) {
            return;
        }
        if let Some(buf) = s.buf.take() {
            core.outbox.recycle(buf);
        }
        self.free_sends.push(idx);
    }
}
