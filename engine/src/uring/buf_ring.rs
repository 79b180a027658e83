//! A provided-buffer ring (IORING_REGISTER_PBUF_RING, Linux 5.19): the kernel picks a free
//! buffer for each received datagram; we hand buffers back after processing them.

use io_uring::types::BufRingEntry;
use io_uring::{IoUring, cqueue};
use std::io;
use std::sync::atomic::{AtomicU16, Ordering};

/// A registered ring of `count` buffers of `size` bytes each, in buffer group `bgid`.
pub struct BufRing {
    ring: *mut BufRingEntry,
    ring_len: usize,
    bufs: *mut u8,
    bufs_len: usize,
    count: u16,
    size: usize,
    mask: u16,
    /// Our copy of the tail; published to the kernel by [`BufRing::publish`].
    tail: u16,
    bgid: u16,
}

fn mmap_anon(len: usize) -> io::Result<*mut u8> {
    // SAFETY: an anonymous private mapping; we check for MAP_FAILED.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(p.cast())
}

impl BufRing {
    /// Maps and registers the ring; every buffer starts out owned by the kernel.
    pub fn new(ring: &IoUring, count: u16, size: usize, bgid: u16) -> io::Result<Self> {
        assert!(count.is_power_of_two() && count <= 32768);
        let ring_len = usize::from(count) * std::mem::size_of::<BufRingEntry>();
        let ring_ptr = mmap_anon(ring_len)?.cast::<BufRingEntry>();
        let bufs_len = usize::from(count) * size;
        let bufs = match mmap_anon(bufs_len) {
            Ok(p) => p,
            Err(e) => {
                // SAFETY: unmapping the region mapped just above.
                unsafe { libc::munmap(ring_ptr.cast(), ring_len) };
                return Err(e);
            }
        };
        let mut this = Self {
            ring: ring_ptr,
            ring_len,
            bufs,
            bufs_len,
            count,
            size,
            mask: count - 1,
            tail: 0,
            bgid,
        };
        // SAFETY: the ring memory is page-aligned, `count` entries long, and stays mapped until
        // Drop, which runs after the IoUring is dropped (the worker drops the ring first).
        unsafe {
            ring.submitter()
                .register_buf_ring_with_flags(ring_ptr as u64, count, bgid, 0)?;
        }
        for bid in 0..count {
            this.push(bid);
        }
        this.publish();
        Ok(this)
    }

    /// The buffer group id for SQEs.
    pub fn bgid(&self) -> u16 {
        self.bgid
    }

    /// Queues buffer `bid` for return to the kernel (visible after [`BufRing::publish`]).
    pub fn push(&mut self, bid: u16) {
        let idx = usize::from(self.tail & self.mask);
        // SAFETY: idx < count, so the entry is inside the mapped ring; the kernel only reads
        // entries between its head and the published tail, and this one is past the tail.
        unsafe {
            let e = &mut *self.ring.add(idx);
            e.set_addr(self.bufs.add(usize::from(bid) * self.size) as u64);
            e.set_len(self.size as u32);
            e.set_bid(bid);
        }
        self.tail = self.tail.wrapping_add(1);
    }

    /// Publishes every pushed buffer to the kernel.
    pub fn publish(&mut self) {
        // SAFETY: the tail field overlays the first entry's reserved field in the mapped ring;
        // a Release store orders the entry writes before the kernel can see the new tail.
        unsafe {
            let tail = BufRingEntry::tail(self.ring) as *const AtomicU16;
            (*tail).store(self.tail, Ordering::Release);
        }
    }

    /// The buffer a completion used, and its id.
    ///
    /// # Safety
    /// `flags` must come from a completion of a buffer-select operation on this group that
    /// reported a buffer, and the buffer must not have been pushed back yet.
    pub unsafe fn get(&self, flags: u32, len: usize) -> Option<(u16, &[u8])> {
        let bid = cqueue::buffer_select(flags)?;
        if bid >= self.count {
            return None;
        }
        let len = len.min(self.size);
        // SAFETY: bid < count, so the slice is inside the buffer mapping; the kernel has
        // finished writing this buffer (it completed) and will not reuse it until pushed back.
        Some((bid, unsafe {
            std::slice::from_raw_parts(self.bufs.add(usize::from(bid) * self.size), len)
        }))
    }
}

impl Drop for BufRing {
    fn drop(&mut self) {
        // SAFETY: unmapping regions mapped in `new`; the ring that used them is gone.
        unsafe {
            libc::munmap(self.ring.cast(), self.ring_len);
            libc::munmap(self.bufs.cast(), self.bufs_len);
        }
    }
}
