//! The clients waiting for a question's answer.

use super::*;

/// Who asked for a question to be forwarded.
#[derive(Clone, Copy)]
pub(super) enum Asker {
    /// A client, answered when the answer comes.
    Client(ClientEndpoint),
    /// Nobody waits: a stale cache entry is being refreshed (RFC 8767).
    Refresh,
    /// The DNSSEC validator, for a DS or DNSKEY record set.
    Validator,
}

/// A client waiting for an answer.
pub(super) struct Waiter {
    pub(super) client: ClientEndpoint,
    pub(super) id: u16,
    pub(super) flags: u16,
    pub(super) edns: Option<Edns>,
    pub(super) head: [u8; HEAD_MAX],
    pub(super) head_len: usize,
}

impl Waiter {
    pub(super) fn new(client: ClientEndpoint, q: &Query<'_>) -> Self {
        let mut head = [0u8; HEAD_MAX];
        let qb = &q.bytes[q.question.clone()];
        let qlen = qb.len().min(HEAD_MAX - 12);
        head[..12].copy_from_slice(&q.bytes[..12]);
        head[12..12 + qlen].copy_from_slice(&qb[..qlen]);
        Self {
            client,
            id: q.id,
            flags: q.flags,
            edns: q.edns,
            head,
            head_len: 12 + qlen,
        }
    }

    /// A query view over the saved header and question, for writing this client's answer.
    pub(super) fn query<'a>(&'a self, key: &QuestionKey) -> Query<'a> {
        Query {
            bytes: &self.head[..self.head_len],
            id: self.id,
            flags: self.flags,
            key: key.clone(),
            question: 12..self.head_len,
            edns: self.edns,
        }
    }
}
