//! DHCP tags (dnsmasq's `set:`/`tag:` network ids), interned to small numbers at configuration
//! time so a request's tags are a fixed-size bit set.

use std::collections::HashMap;

use super::server::ConfigError;

/// Most distinct tags a configuration may use.
pub const MAX_TAGS: usize = 256;

/// A set of interned tags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TagSet([u64; MAX_TAGS / 64]);

impl TagSet {
    /// Add tag `t`.
    pub fn insert(&mut self, t: u16) {
        self.0[usize::from(t) / 64] |= 1 << (t % 64);
    }

    /// Whether tag `t` is set.
    pub fn contains(&self, t: u16) -> bool {
        self.0[usize::from(t) / 64] & (1 << (t % 64)) != 0
    }

    /// Add every tag of `other`.
    pub fn union(&mut self, other: &TagSet) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a |= b;
        }
    }

    /// Whether every tag of `other` is set here.
    pub fn contains_all(&self, other: &TagSet) -> bool {
        self.0.iter().zip(other.0).all(|(a, b)| a & b == b)
    }

    /// Whether any tag of `other` is set here.
    pub fn intersects(&self, other: &TagSet) -> bool {
        self.0.iter().zip(other.0).any(|(a, b)| a & b != 0)
    }

    /// Number of tags set.
    pub fn count(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }

    /// Number of tags set both here and in `other`.
    pub fn common(&self, other: &TagSet) -> u32 {
        self.0
            .iter()
            .zip(other.0)
            .map(|(a, b)| (a & b).count_ones())
            .sum()
    }
}

/// The tag names of a configuration.
#[derive(Debug, Default)]
pub struct Tags {
    ids: HashMap<String, u16>,
}

impl Tags {
    /// The id of `name`, interning it.
    pub fn intern(&mut self, name: &str) -> Result<u16, ConfigError> {
        if let Some(id) = self.ids.get(name) {
            return Ok(*id);
        }
        if self.ids.len() >= MAX_TAGS {
            return Err(ConfigError::TooManyTags { max: MAX_TAGS });
        }
        let id = self.ids.len() as u16;
        self.ids.insert(name.to_owned(), id);
        Ok(id)
    }

    /// The set of `names`, interning them.
    pub fn set_of<'a, S: AsRef<str> + 'a>(
        &mut self,
        names: impl Iterator<Item = &'a S>,
    ) -> Result<TagSet, ConfigError> {
        let mut s = TagSet::default();
        for n in names {
            s.insert(self.intern(n.as_ref())?);
        }
        Ok(s)
    }

    /// The names of the tags in `set`, sorted.
    pub fn names_in(&self, set: &TagSet) -> Vec<String> {
        let mut out: Vec<String> = self
            .ids
            .iter()
            .filter(|(_, id)| set.contains(**id))
            .map(|(n, _)| n.clone())
            .collect();
        out.sort();
        out
    }

    /// The id of `name` if the configuration uses it.
    pub fn id(&self, name: &str) -> Option<u16> {
        self.ids.get(name).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets() {
        let mut t = Tags::default();
        let a = t.set_of(["x", "y"].iter()).unwrap();
        let b = t.set_of(["y"].iter()).unwrap();
        assert!(a.contains_all(&b));
        assert!(!b.contains_all(&a));
        assert!(a.intersects(&b));
        assert_eq!(a.count(), 2);
        assert_eq!(a.common(&b), 1);
        assert_eq!(t.id("y"), Some(1));
        assert!(t.id("z").is_none());
        assert_eq!(t.names_in(&a), ["x", "y"]);
    }
}
