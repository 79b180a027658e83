//! Cache-line prefetch hints, for the memory a batch of queries is about to read (see
//! `ringmasq_proto::dns::forward`'s prepared queries).

/// The cache line size assumed when a region is fetched line by line.
const LINE: usize = 64;

/// Asks the CPU to bring the line holding `addr` into its caches. A hint, not a read: it never
/// faults and changes nothing, whatever the address. A no-op where no stable intrinsic exists.
#[inline(always)]
pub fn line(addr: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is an architectural hint: it neither faults nor reads memory in the
    // program's sense, for any address; SSE, which it needs, is part of the x86-64 baseline.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(addr.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}

/// [`line`] for every line of the `size` bytes from `addr`.
#[inline]
pub fn region(addr: *const u8, size: usize) {
    let skew = addr as usize % LINE;
    let start = addr.wrapping_sub(skew);
    for k in 0..(skew + size).div_ceil(LINE) {
        line(start.wrapping_add(k * LINE));
    }
}
