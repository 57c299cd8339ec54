//! An insertion-ordered map with O(log n) insert, lookup and removal: group members and project
//! members are listed in the order they were added, and a tenant of 100,000 users must not
//! turn each change into a scan.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

#[derive(Debug, Clone)]
pub(crate) struct Ordered<K, V> {
    next: u64,
    order: BTreeMap<u64, K>,
    entries: HashMap<K, (u64, V)>,
}

impl<K, V> Default for Ordered<K, V> {
    fn default() -> Self {
        Ordered {
            next: 0,
            order: BTreeMap::new(),
            entries: HashMap::new(),
        }
    }
}

impl<K: Clone + Eq + Hash, V> Ordered<K, V> {
    /// Adds `key` at the end, or changes its value where it is; whether it is new.
    pub(crate) fn insert(&mut self, key: K, value: V) -> bool {
        if let Some((_, existing)) = self.entries.get_mut(&key) {
            *existing = value;
            return false;
        }
        let position = self.next;
        self.next = self.next.saturating_add(1);
        self.order.insert(position, key.clone());
        self.entries.insert(key, (position, value));
        true
    }

    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        self.entries.get(key).map(|(_, value)| value)
    }

    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.entries.get_mut(key).map(|(_, value)| value)
    }

    pub(crate) fn contains(&self, key: &K) -> bool {
        self.entries.contains_key(key)
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        let (position, value) = self.entries.remove(key)?;
        self.order.remove(&position);
        Some(value)
    }

    /// The entries in the order they were added.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.order
            .values()
            .filter_map(|key| self.entries.get(key).map(|(_, value)| (key, value)))
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &K> {
        self.order.values()
    }
}

#[cfg(test)]
mod tests {
    use super::Ordered;

    #[test]
    fn keeps_insertion_order_through_updates_and_removals() {
        let mut map = Ordered::default();
        assert!(map.insert("b", 1));
        assert!(map.insert("a", 2));
        assert!(map.insert("c", 3));
        assert!(!map.insert("b", 10), "an update keeps the position");
        assert_eq!(map.remove(&"a"), Some(2));
        assert!(map.insert("a", 4));
        let all: Vec<(&str, i32)> = map.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(all, [("b", 10), ("c", 3), ("a", 4)]);
        assert!(map.contains(&"c") && !map.contains(&"z"));
        *map.get_mut(&"c").unwrap() = 7;
        assert_eq!(map.get(&"c"), Some(&7));
        assert_eq!(map.keys().count(), 3);
    }
}
