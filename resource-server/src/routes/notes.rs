//! `GET` and `POST /api/notes`: the caller's notes, guarded by scopes.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use shared_claims::actix::{RequiredScope, Scoped};

use crate::error::ApiError;
use crate::notes::{Note, NoteStore, NoteText};

/// Scope needed to read notes.
#[derive(Debug)]
pub struct NotesRead;
impl RequiredScope for NotesRead {
    const SCOPE: &'static str = "notes:read";
}

/// Scope needed to write notes.
#[derive(Debug)]
pub struct NotesWrite;
impl RequiredScope for NotesWrite {
    const SCOPE: &'static str = "notes:write";
}

/// The body of `POST /api/notes`. Unknown members are refused, so a typo
/// like `"txt"` is a 400 rather than a silently empty note.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    text: String,
}

/// The caller's notes (by token `sub`), oldest first.
pub async fn list_notes(
    auth: Scoped<NotesRead>,
    store: web::Data<NoteStore>,
) -> web::Json<Vec<Note>> {
    web::Json(store.list(&auth.0.sub))
}

/// Adds a note. The scope is checked before the body is read (extractors
/// run in order), so an unauthorised caller learns nothing about validation.
pub async fn add_note(
    auth: Scoped<NotesWrite>,
    body: web::Json<NewNote>,
    store: web::Data<NoteStore>,
) -> Result<HttpResponse, ApiError> {
    let text = NoteText::parse(body.into_inner().text)?;
    let note = store.add(&auth.0.sub, text)?;
    Ok(HttpResponse::Created().json(note))
}
