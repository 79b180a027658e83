//! The message of a [`StoredAnswer`](super::StoredAnswer): kept inside the answer (and so inside
//! its cache entry) when it is short, as most are, on the heap when it is not.
//!
//! A cache hit reads the entry, then compares the stored question and copies the message. With
//! the message in its own allocation that was one more cache miss, taken only after the entry's
//! line had arrived (the pointer is in it). Inline, the message sits in the line after the
//! entry's first, which the hardware fetches with it.

use core::ops::{Deref, DerefMut};

/// Longest message kept inline: the rest of two cache lines after the entry's first line
/// (an A or AAAA answer with a few records, or a negative answer with its SOA, fits).
pub const INLINE_CAP: usize = 126;

/// A stored message: inline up to [`INLINE_CAP`] octets, else boxed.
#[derive(Clone)]
pub enum AnswerBytes {
    /// Short: the first `len` octets of `buf`.
    Inline {
        /// Octets used.
        len: u8,
        /// Storage.
        buf: [u8; INLINE_CAP],
    },
    /// Long: on the heap.
    Heap(Box<[u8]>),
}

impl From<Vec<u8>> for AnswerBytes {
    fn from(v: Vec<u8>) -> Self {
        if v.len() <= INLINE_CAP {
            let mut buf = [0u8; INLINE_CAP];
            buf[..v.len()].copy_from_slice(&v);
            AnswerBytes::Inline {
                len: v.len() as u8,
                buf,
            }
        } else {
            AnswerBytes::Heap(v.into_boxed_slice())
        }
    }
}

impl AnswerBytes {
    /// Octets held outside this value (0 when inline), for memory accounting.
    pub fn heap_len(&self) -> usize {
        match self {
            AnswerBytes::Inline { .. } => 0,
            AnswerBytes::Heap(b) => b.len(),
        }
    }
}

impl Deref for AnswerBytes {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            AnswerBytes::Inline { len, buf } => &buf[..usize::from(*len)],
            AnswerBytes::Heap(b) => b,
        }
    }
}

impl DerefMut for AnswerBytes {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u8] {
        match self {
            AnswerBytes::Inline { len, buf } => &mut buf[..usize::from(*len)],
            AnswerBytes::Heap(b) => b,
        }
    }
}

impl PartialEq for AnswerBytes {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for AnswerBytes {}

impl core::fmt::Debug for AnswerBytes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_messages_are_inline_long_ones_boxed_and_both_read_back() {
        for n in [0, 1, 52, INLINE_CAP, INLINE_CAP + 1, 600] {
            let v: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let mut b = AnswerBytes::from(v.clone());
            assert_eq!(&*b, &v[..], "{n} octets");
            assert_eq!(b.heap_len(), if n <= INLINE_CAP { 0 } else { n });
            if n > 0 {
                b[0] = 0xff;
                assert_eq!(b[0], 0xff);
            }
        }
        // Equality is by content, whatever the storage.
        let v = vec![7u8; 10];
        assert_eq!(
            AnswerBytes::from(v.clone()),
            AnswerBytes::Heap(v.into_boxed_slice())
        );
    }
}
