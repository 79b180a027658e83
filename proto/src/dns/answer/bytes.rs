//! The message of a [`StoredAnswer`](super::StoredAnswer): kept inside the answer (and so inside
//! its cache entry) when it is short, as most are, on the heap when it is not.
//!
//! A cache hit reads the entry, then compares the stored question and copies the message. With
//! the message in its own allocation that was one more cache miss, taken only after the entry's
//! line had arrived (the pointer is in it). Inline, the message sits in the lines after the
//! entry's first, which the hardware fetches with it.

use smallvec::SmallVec;

/// Longest message kept inline: with `smallvec`'s `union` layout the whole value is 128 bytes,
/// the two cache lines after the entry's first (an A or AAAA answer with a few records, or a
/// negative answer with its SOA, fits).
pub const INLINE_CAP: usize = 120;

/// A stored message: inline up to [`INLINE_CAP`] octets, else on the heap.
pub type AnswerBytes = SmallVec<[u8; INLINE_CAP]>;

/// The message built in `v`, inline when it fits, else in a heap buffer of exactly its length.
pub fn answer_bytes(mut v: Vec<u8>) -> AnswerBytes {
    if v.len() <= INLINE_CAP {
        SmallVec::from_slice(&v)
    } else {
        v.shrink_to_fit();
        SmallVec::from_vec(v)
    }
}

/// Octets held outside the value (0 when inline), for memory accounting.
pub fn heap_len(b: &AnswerBytes) -> usize {
    if b.spilled() { b.capacity() } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_messages_are_inline_long_ones_boxed_and_both_read_back() {
        assert_eq!(core::mem::size_of::<AnswerBytes>(), 128);
        for n in [0, 1, 52, INLINE_CAP, INLINE_CAP + 1, 600] {
            let mut v: Vec<u8> = Vec::with_capacity(4096);
            v.extend((0..n).map(|i| i as u8));
            let mut b = answer_bytes(v.clone());
            assert_eq!(&*b, &v[..], "{n} octets");
            assert_eq!(heap_len(&b), if n <= INLINE_CAP { 0 } else { n });
            if n > 0 {
                b[0] = 0xff;
                assert_eq!(b[0], 0xff);
            }
        }
        // Equality is by content, whatever the storage.
        let v = vec![7u8; 10];
        assert_eq!(
            answer_bytes(v.clone()),
            SmallVec::<[u8; INLINE_CAP]>::from_vec(v)
        );
    }
}
