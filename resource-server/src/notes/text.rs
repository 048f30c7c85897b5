//! A note's text, valid by construction.

/// The longest note, in Unicode scalar values (what a user sees as
/// characters, near enough), not bytes.
pub const MAX_CHARS: usize = 1000;

/// Text of a note: 1 to [`MAX_CHARS`] characters, not only whitespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteText(String);

/// Why a note's text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteTextError {
    /// Empty, or nothing but whitespace.
    #[error("the note text must not be empty")]
    Empty,
    /// Longer than [`MAX_CHARS`].
    #[error("the note text must be at most 1000 characters")]
    TooLong,
}

impl NoteText {
    /// Validates `text` as given (it is stored unchanged, not trimmed).
    pub fn parse(text: String) -> Result<Self, NoteTextError> {
        if text.trim().is_empty() {
            return Err(NoteTextError::Empty);
        }
        // Counting stops one past the limit, so a huge body costs no more
        // than a slightly-too-long one.
        if text.chars().take(MAX_CHARS + 1).count() > MAX_CHARS {
            return Err(NoteTextError::TooLong);
        }
        Ok(Self(text))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_one_to_a_thousand_characters() {
        assert!(NoteText::parse("x".into()).is_ok());
        // 1000 multi-byte characters are 1000 characters, not 3000 bytes.
        assert!(NoteText::parse("€".repeat(MAX_CHARS)).is_ok());
    }

    #[test]
    fn refuses_empty_blank_and_overlong_text() {
        assert_eq!(NoteText::parse(String::new()), Err(NoteTextError::Empty));
        assert_eq!(NoteText::parse(" \n\t".into()), Err(NoteTextError::Empty));
        assert_eq!(
            NoteText::parse("x".repeat(MAX_CHARS + 1)),
            Err(NoteTextError::TooLong)
        );
    }
}
