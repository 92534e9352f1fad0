//! One conversion per message: the Bundle an HL7 v2 message became at
//! intake (converted there to answer content errors) is kept in memory for
//! its delivery, which otherwise converts it again.
//!
//! Kept by the message's bytes, compared whole (never by a hash alone, so
//! one patient's Bundle cannot be taken for another's), up to a number of
//! bytes; the oldest go first. The conversion depends only on the bytes and
//! on the registry, which is fixed for the process, so a kept Bundle is the
//! one delivery would make. A message accepted by another replica, or before
//! a restart, is converted again.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

/// What each kept Bundle costs besides its bytes and the message's (the
/// map's and the queue's entries).
const ENTRY_OVERHEAD: usize = 64;

/// Bundles made at intake, by message bytes, up to a number of bytes.
#[derive(Debug)]
pub struct Rendered {
    capacity: usize,
    kept: Mutex<Kept>,
}

#[derive(Debug, Default)]
struct Kept {
    bytes: usize,
    by_message: HashMap<Arc<[u8]>, Arc<str>>,
    oldest_first: VecDeque<Arc<[u8]>>,
}

impl Rendered {
    /// Keeps up to `capacity` bytes of Bundles; 0 keeps none.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            kept: Mutex::default(),
        }
    }

    /// Whether anything is kept at all (a Bundle need not be written out
    /// for it otherwise).
    pub fn keeps(&self) -> bool {
        self.capacity > 0
    }

    /// Keeps what `message` became, making room by dropping the oldest.
    pub fn keep(&self, message: &[u8], bundle: &str) {
        let size = message.len() + bundle.len() + ENTRY_OVERHEAD;
        if size > self.capacity {
            return;
        }
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.by_message.contains_key(message) {
            return;
        }
        while kept.bytes + size > self.capacity {
            let Some(oldest) = kept.oldest_first.pop_front() else {
                break;
            };
            if let Some(dropped) = kept.by_message.remove(&oldest) {
                kept.bytes -= oldest.len() + dropped.len() + ENTRY_OVERHEAD;
            }
        }
        let message: Arc<[u8]> = Arc::from(message);
        kept.by_message.insert(Arc::clone(&message), Arc::from(bundle));
        kept.oldest_first.push_back(message);
        kept.bytes += size;
    }

    /// The Bundle kept for `message`, if any.
    pub fn get(&self, message: &[u8]) -> Option<String> {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let bundle = kept.by_message.get(message).map(Arc::clone);
        drop(kept);
        bundle.as_deref().map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_bundle_is_found_by_the_whole_message() {
        let rendered = Rendered::new(1 << 20);
        rendered.keep(b"MSH|1", "{\"id\":1}");
        assert_eq!(rendered.get(b"MSH|1").as_deref(), Some("{\"id\":1}"));
        assert_eq!(rendered.get(b"MSH|2"), None);
        assert_eq!(rendered.get(b"MSH|"), None);
    }

    #[test]
    fn the_oldest_go_when_the_bytes_run_out() {
        let entry = 10 + 10 + ENTRY_OVERHEAD;
        let rendered = Rendered::new(2 * entry);
        for n in 0..3 {
            rendered.keep(format!("message {n:02}").as_bytes(), &format!("bundle {n:03}"));
        }
        assert_eq!(rendered.get(b"message 00"), None);
        assert_eq!(rendered.get(b"message 01").as_deref(), Some("bundle 001"));
        assert_eq!(rendered.get(b"message 02").as_deref(), Some("bundle 002"));
        // Kept again, a message is not counted twice.
        rendered.keep(b"message 02", "bundle 002");
        assert_eq!(rendered.get(b"message 01").as_deref(), Some("bundle 001"));
        // Larger than the whole room: not kept, nothing dropped for it.
        rendered.keep(b"huge", &"x".repeat(3 * entry));
        assert_eq!(rendered.get(b"huge"), None);
        assert_eq!(rendered.get(b"message 01").as_deref(), Some("bundle 001"));
    }

    #[test]
    fn nothing_is_kept_without_room() {
        let rendered = Rendered::new(0);
        assert!(!rendered.keeps());
        rendered.keep(b"m", "b");
        assert_eq!(rendered.get(b"m"), None);
    }
}
