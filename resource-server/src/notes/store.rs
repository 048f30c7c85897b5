//! The in-memory note store, bounded so that no caller can exhaust memory.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::NoteText;

/// Bounds on the store. With the defaults and 1000-character notes the worst
/// case is about 10 000 × 100 × 4 KB = 4 GB of text in theory, but subjects
/// are only created by holders of valid tokens, so in practice the number of
/// users the auth server knows bounds it first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Notes kept per subject; adding one more is refused, not evicted, so no
    /// note disappears silently.
    pub notes_per_subject: usize,
    /// Distinct subjects with notes.
    pub subjects: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            notes_per_subject: 100,
            subjects: 10_000,
        }
    }
}

/// A stored note, as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// Random, unguessable id (UUID v4).
    pub id: String,
    /// The text, as written.
    pub text: String,
    /// Creation time, Unix seconds.
    pub created_at: i64,
}

/// Why a note could not be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// This subject already has the maximum number of notes.
    #[error("you already have the maximum of {0} notes")]
    SubjectFull(usize),
    /// The store holds notes for the maximum number of subjects.
    #[error("the note store is full")]
    StoreFull,
}

/// Notes by token subject (`sub`), in creation order.
#[derive(Debug, Default)]
pub struct NoteStore {
    limits: Limits,
    notes: Mutex<HashMap<String, Vec<Note>>>,
}

impl NoteStore {
    /// An empty store with the given bounds.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            notes: Mutex::default(),
        }
    }

    /// Stores a note for `subject` and returns it.
    pub fn add(&self, subject: &str, text: NoteText) -> Result<Note, StoreError> {
        let mut notes = self.lock();
        let count = notes.get(subject).map_or(0, Vec::len);
        if count >= self.limits.notes_per_subject {
            return Err(StoreError::SubjectFull(self.limits.notes_per_subject));
        }
        if count == 0 && notes.len() >= self.limits.subjects {
            return Err(StoreError::StoreFull);
        }
        let note = Note {
            id: uuid::Uuid::new_v4().to_string(),
            text: text.as_str().to_owned(),
            created_at: unix_now(),
        };
        notes
            .entry(subject.to_owned())
            .or_default()
            .push(note.clone());
        Ok(note)
    }

    /// The subject's notes, oldest first.
    pub fn list(&self, subject: &str) -> Vec<Note> {
        self.lock().get(subject).cloned().unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Note>>> {
        // No code path panics while holding the lock, and a map of notes has
        // no invariant a panic could break, so a poisoned lock is still usable.
        self.notes.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> NoteText {
        NoteText::parse(s.into()).expect("valid text")
    }

    #[test]
    fn notes_are_kept_per_subject_in_order() {
        let store = NoteStore::default();
        let first = store.add("alice", text("one")).expect("stored");
        store.add("alice", text("two")).expect("stored");
        store.add("bob", text("bob's")).expect("stored");

        let alice = store.list("alice");
        assert_eq!(
            alice.iter().map(|n| n.text.as_str()).collect::<Vec<_>>(),
            ["one", "two"]
        );
        assert_eq!(alice[0], first);
        assert_ne!(alice[0].id, alice[1].id);
        assert!(store.list("carol").is_empty());
    }

    #[test]
    fn limits_refuse_instead_of_evicting() {
        let store = NoteStore::new(Limits {
            notes_per_subject: 2,
            subjects: 2,
        });
        store.add("a", text("1")).expect("stored");
        store.add("a", text("2")).expect("stored");
        assert_eq!(store.add("a", text("3")), Err(StoreError::SubjectFull(2)));
        store.add("b", text("1")).expect("stored");
        assert_eq!(store.add("c", text("1")), Err(StoreError::StoreFull));
        // An existing subject below its own limit may still write.
        store.add("b", text("2")).expect("stored");
        assert_eq!(store.list("a").len(), 2);
    }
}
