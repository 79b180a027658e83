//! Cache tests: time is an argument, so expiry, stale serving and eviction run instantly.

use super::*;
use crate::dns::answer::{NormalizeOptions, normalize_response};
use crate::dns::packet::captures::*;
use crate::dns::packet::parse_query;

fn answer(r: &str, q: &str) -> (QuestionKey, StoredAnswer) {
    let qb = hex(q);
    let key = parse_query(&qb).unwrap().key;
    let a = normalize_response(&hex(r), &key, &NormalizeOptions::default())
        .unwrap()
        .0;
    (key, a)
}

fn cfg(max_entries: usize) -> CacheConfig {
    CacheConfig {
        max_entries,
        use_stale_secs: None,
        no_negcache: false,
    }
}

const T0: Instant = Instant(1_000_000);

fn secs(s: u64) -> Instant {
    T0.saturating_add(Duration::from_secs(s))
}

#[test]
fn hit_then_expiry() {
    let c = DnsCache::new(cfg(150));
    let (k, a) = answer(WWW_A_R, WWW_A_Q);
    assert!(matches!(c.lookup(&k, false, T0), Lookup::Miss));
    assert!(c.insert(k.clone(), false, a, T0));
    assert_eq!(c.len(), 1);
    let Lookup::Fresh(e) = c.lookup(&k, false, secs(100)) else {
        panic!("expected hit")
    };
    assert_eq!(e.elapsed_secs(secs(100)), 100);
    assert_eq!(e.expires, secs(3600));
    // The DO bit is part of the key.
    assert!(matches!(c.lookup(&k, true, secs(1)), Lookup::Miss));
    // Fresh until the last millisecond of the TTL, gone after (and removed).
    assert!(matches!(
        c.lookup(&k, false, Instant(secs(3600).0 - 1)),
        Lookup::Fresh(_)
    ));
    assert!(matches!(c.lookup(&k, false, secs(3600)), Lookup::Miss));
    assert_eq!(c.len(), 0);
    let s = c.stats();
    assert_eq!(
        (s.hits, s.misses, s.insertions, s.size, s.capacity),
        (2, 3, 1, 0, 150)
    );
}

#[test]
fn replay_from_cache_counts_ttl_down() {
    let c = DnsCache::new(cfg(150));
    let (k, a) = answer(ALIAS_A_R, ALIAS_A_Q);
    c.insert(k.clone(), false, a, T0);
    let qb = hex(ALIAS_A_Q);
    let q = parse_query(&qb).unwrap();
    let now = T0.saturating_add(Duration::from_millis(1_234_567));
    let Lookup::Fresh(e) = c.lookup(&q.key, false, now) else {
        panic!()
    };
    let mut out = [0u8; 1232];
    let n = e
        .answer
        .write_reply(&q, e.elapsed_secs(now), None, 1232, true, &mut out);
    let m = hickory_proto::op::Message::from_vec(&out[..n]).unwrap();
    assert!(m.answers.iter().all(|r| r.ttl == 3600 - 1234));
    assert_eq!(m.metadata.id, q.id);
}

#[test]
fn negative_caching_and_no_negcache() {
    let (k, a) = answer(NX_R, NX_Q);
    let c = DnsCache::new(cfg(150));
    assert!(c.insert(k.clone(), false, a.clone(), T0));
    // SOA MINIMUM 300 -> cached for 300 s.
    assert!(matches!(c.lookup(&k, false, secs(299)), Lookup::Fresh(e) if e.answer.is_negative()));
    assert!(matches!(c.lookup(&k, false, secs(300)), Lookup::Miss));
    let c = DnsCache::new(CacheConfig {
        no_negcache: true,
        ..cfg(150)
    });
    assert!(!c.insert(k, false, a, T0));
    assert_eq!(c.len(), 0);
}

#[test]
fn uncacheable_and_disabled() {
    let (k, a) = answer(WWW_A_R, WWW_A_Q);
    let off = DnsCache::new(cfg(0));
    assert!(!off.insert(k.clone(), false, a.clone(), T0));
    assert!(matches!(off.lookup(&k, false, T0), Lookup::Miss));
    assert_eq!(off.stats().misses, 1);
    // TTL 0 after clamping: not cached.
    let opts = NormalizeOptions {
        max_cache_ttl: Some(0),
        ..Default::default()
    };
    let zero = normalize_response(&hex(WWW_A_R), &k, &opts).unwrap().0;
    let c = DnsCache::new(cfg(10));
    assert!(!c.insert(k.clone(), false, zero, T0));
    assert!(c.insert(k.clone(), false, a, T0));
    c.clear();
    assert!(c.is_empty());
}

#[test]
fn stale_serving_window() {
    let (k, a) = answer(WWW_A_R, WWW_A_Q);
    let c = DnsCache::new(CacheConfig {
        use_stale_secs: Some(60),
        ..cfg(150)
    });
    c.insert(k.clone(), false, a.clone(), T0);
    assert!(matches!(c.lookup(&k, false, secs(3599)), Lookup::Fresh(_)));
    let Lookup::Stale(e) = c.lookup(&k, false, secs(3630)) else {
        panic!("expected stale")
    };
    // Stale replies carry TTL 0.
    let qb = hex(WWW_A_Q);
    let q = parse_query(&qb).unwrap();
    let mut out = [0u8; 512];
    let n = e
        .answer
        .write_reply(&q, e.elapsed_secs(secs(3630)), None, 1232, true, &mut out);
    let m = hickory_proto::op::Message::from_vec(&out[..n]).unwrap();
    assert!(m.answers.iter().all(|r| r.ttl == 0));
    assert!(matches!(c.lookup(&k, false, secs(3660)), Lookup::Miss));
    assert_eq!(c.stats().stale_hits, 1);

    // 0 = no limit.
    let c = DnsCache::new(CacheConfig {
        use_stale_secs: Some(0),
        ..cfg(150)
    });
    c.insert(k.clone(), false, a, T0);
    assert!(matches!(
        c.lookup(&k, false, secs(10_000_000)),
        Lookup::Stale(_)
    ));
}

fn key_n(i: u32) -> QuestionKey {
    let label = format!("h{i}");
    let mut w = vec![label.len() as u8];
    w.extend_from_slice(label.as_bytes());
    w.extend_from_slice(b"\x07example\x03com\x00");
    QuestionKey::new(&w, 1, 1)
}

#[test]
fn eviction_keeps_hot_entries_and_bounds_memory() {
    let (_, a) = answer(WWW_A_R, WWW_A_Q);
    let c = DnsCache::new(cfg(200));
    let hot: Vec<QuestionKey> = (0..20).map(key_n).collect();
    for k in &hot {
        c.insert(k.clone(), false, a.clone(), T0);
    }
    for round in 0..50u32 {
        for k in &hot {
            assert!(
                matches!(c.lookup(k, false, secs(1)), Lookup::Fresh(_)),
                "hot entry lost in round {round}"
            );
        }
        // A scan of 100 one-off names per round.
        for i in 0..100 {
            let k = key_n(1000 + round * 100 + i);
            c.insert(k, false, a.clone(), secs(1));
        }
    }
    let s = c.stats();
    assert!(s.size <= 400, "size {} not bounded", s.size);
    assert!(s.evictions > 4000, "evictions {}", s.evictions);
    assert_eq!(s.insertions, 20 + 50 * 100);
}

#[test]
fn shared_between_threads() {
    let (k, a) = answer(WWW_A_R, WWW_A_Q);
    let c = Arc::new(DnsCache::new(cfg(1000)));
    c.insert(k.clone(), false, a, T0);
    let hs: Vec<_> = (0..4)
        .map(|t| {
            let c = c.clone();
            let k = k.clone();
            std::thread::spawn(move || {
                for i in 0..1000u32 {
                    assert!(matches!(c.lookup(&k, false, secs(1)), Lookup::Fresh(_)));
                    let (_, a) = answer(NX_R, NX_Q);
                    c.insert(key_n(t * 10_000 + i), false, a, secs(1));
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(c.stats().hits, 4000);
    assert_eq!(c.stats().insertions, 4001);
}

#[test]
fn local_front_serves_hits_and_follows_clear_and_expiry() {
    let c = DnsCache::new(cfg(150));
    let mut local = LocalCache::new(8);
    let (k, a) = answer(WWW_A_R, WWW_A_Q);
    assert!(matches!(local.lookup(&c, &k, false, T0), LocalLookup::Miss));
    c.insert(k.clone(), false, a, T0);
    for s in [1, 2, 3] {
        assert!(
            matches!(local.lookup(&c, &k, false, secs(s)), LocalLookup::Fresh(e) if e.expires == secs(3600))
        );
    }
    assert!(matches!(
        local.lookup(&c, &k, true, secs(1)),
        LocalLookup::Miss
    ));
    let st = c.stats();
    assert_eq!((st.hits, st.misses), (3, 2));
    // Expiry is checked on the local copy too.
    assert!(matches!(
        local.lookup(&c, &k, false, secs(3600)),
        LocalLookup::Miss
    ));
    // clear() empties the local slots.
    let (_, a) = answer(WWW_A_R, WWW_A_Q);
    c.insert(k.clone(), false, a, secs(4000));
    assert!(matches!(
        local.lookup(&c, &k, false, secs(4001)),
        LocalLookup::Fresh(_)
    ));
    c.clear();
    assert!(matches!(
        local.lookup(&c, &k, false, secs(4002)),
        LocalLookup::Miss
    ));
}

#[test]
fn local_front_slot_collisions_and_stale() {
    let c = DnsCache::new(CacheConfig {
        use_stale_secs: Some(0),
        ..cfg(150)
    });
    let mut local = LocalCache::new(1);
    let (_, a) = answer(WWW_A_R, WWW_A_Q);
    let (k1, k2) = (key_n(1), key_n(2));
    c.insert(k1.clone(), false, a.clone(), T0);
    // The stored question differs from k1's; a slot hit must still be checked against the key.
    let (kw, aw) = answer(WWW_A_R, WWW_A_Q);
    c.insert(kw.clone(), false, aw, T0);
    for _ in 0..3 {
        assert!(
            matches!(local.lookup(&c, &kw, false, secs(1)), LocalLookup::Fresh(e) if e.answer.answers(&kw))
        );
        assert!(matches!(
            local.lookup(&c, &k2, false, secs(1)),
            LocalLookup::Miss
        ));
    }
    assert!(matches!(
        local.lookup(&c, &kw, false, secs(99_999)),
        LocalLookup::Stale(_)
    ));
}

/// A one-record A answer (TTL 3600) for `key_n(i)`, built byte by byte.
fn answer_n(i: u32) -> (QuestionKey, StoredAnswer) {
    let key = key_n(i);
    let mut r = vec![0, 0, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
    r.extend_from_slice(key.name_wire());
    r.extend_from_slice(&[0, 1, 0, 1]);
    r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, 1]);
    let a = normalize_response(&r, &key, &NormalizeOptions::default())
        .unwrap()
        .0;
    (key, a)
}

#[test]
fn local_front_keeps_four_names_per_set_and_drops_the_oldest_fill() {
    let c = DnsCache::new(cfg(150));
    // One set of four ways: every key lands in it.
    let mut local = LocalCache::new(1);
    let answers: Vec<(QuestionKey, StoredAnswer)> = (0..5).map(answer_n).collect();
    let keys: Vec<QuestionKey> = answers.iter().map(|(k, _)| k.clone()).collect();
    let fill = |c: &DnsCache, at| {
        for (k, a) in &answers {
            c.insert(k.clone(), false, a.clone(), at);
        }
    };
    fill(&c, T0);
    for k in &keys[..4] {
        assert!(
            matches!(local.lookup(&c, k, false, secs(1)), LocalLookup::Fresh(e) if e.inserted == T0)
        );
    }
    // Newer answers in the shared cache: the front still serves its own copies (inserted at T0),
    // which shows the four names were all kept, none displaced by another.
    fill(&c, secs(2));
    for _ in 0..3 {
        for k in &keys[..4] {
            assert!(
                matches!(local.lookup(&c, k, false, secs(3)), LocalLookup::Fresh(e) if e.inserted == T0)
            );
        }
    }
    // A fifth name displaces the oldest fill (keys[0]), which is then read from the shared cache.
    assert!(
        matches!(local.lookup(&c, &keys[4], false, secs(3)), LocalLookup::Fresh(e) if e.inserted == secs(2))
    );
    assert!(
        matches!(local.lookup(&c, &keys[0], false, secs(3)), LocalLookup::Fresh(e) if e.inserted == secs(2))
    );
    assert!(
        matches!(local.lookup(&c, &keys[3], false, secs(3)), LocalLookup::Fresh(e) if e.inserted == T0)
    );
    // DO bit set: a different slot, never served from the DO-clear one.
    assert!(matches!(
        local.lookup(&c, &keys[3], true, secs(3)),
        LocalLookup::Miss
    ));
}

#[test]
fn an_entry_is_two_cache_lines_with_the_hot_fields_in_the_first() {
    // The layout the hit path is tuned for (see `CacheEntry` and `StoredAnswer`): times and
    // answer fields in the first 64 octets, a short message inline in the next 128.
    assert_eq!(core::mem::align_of::<CacheEntry>(), 64);
    assert_eq!(core::mem::size_of::<CacheEntry>(), 192);
}
