//! A small bounded cache of immutable content (manifests and configs by digest).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::model::{ConfigSummary, Manifest};

/// Entries kept before the cache is emptied and refilled.
const MAX_ENTRIES: usize = 8192;

/// Content addressed by digest never changes, so it can be kept as long as memory allows.
#[derive(Default)]
pub struct Cache {
    manifests: Mutex<HashMap<String, Arc<Manifest>>>,
    configs: Mutex<HashMap<String, Arc<ConfigSummary>>>,
}

impl Cache {
    /// A manifest fetched earlier by this digest.
    pub fn manifest(&self, digest: &str) -> Option<Arc<Manifest>> {
        self.manifests.lock().unwrap().get(digest).cloned()
    }

    /// Keeps a manifest under its digest.
    pub fn put_manifest(&self, m: Arc<Manifest>) {
        let mut map = self.manifests.lock().unwrap();
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(m.digest.clone(), m);
    }

    /// Drops a manifest (after it was deleted).
    pub fn forget(&self, digest: &str) {
        self.manifests.lock().unwrap().remove(digest);
    }

    /// A config parsed earlier.
    pub fn config(&self, digest: &str) -> Option<Arc<ConfigSummary>> {
        self.configs.lock().unwrap().get(digest).cloned()
    }

    /// Keeps a parsed config under its digest.
    pub fn put_config(&self, digest: &str, c: Arc<ConfigSummary>) {
        let mut map = self.configs.lock().unwrap();
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(digest.to_string(), c);
    }
}
