//! HTTP handlers, one module per area.

mod health;
mod me;
mod metrics;
mod notes;
mod openapi;

pub use health::{healthz, readyz};
pub use me::me;
pub use metrics::metrics;
pub use notes::{NotesRead, NotesWrite, add_note, list_notes};
pub use openapi::openapi;
