//! The demo API's data: short text notes kept in memory per token subject.
//!
//! There is deliberately no database here (DESIGN.md: the resource server is
//! stateless apart from this demo store), so notes vanish on restart and are
//! not shared between instances.

mod store;
mod text;

pub use store::{Limits, Note, NoteStore, StoreError};
pub use text::{MAX_CHARS, NoteText, NoteTextError};
