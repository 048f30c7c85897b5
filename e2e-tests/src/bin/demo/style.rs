//! Colours for the narration, only where they help: on a terminal, and not
//! when the reader asked for none (<https://no-color.org>).

use std::io::IsTerminal;

use owo_colors::OwoColorize;

/// How to paint text for this stdout.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    color: bool,
    terminal: bool,
}

impl Style {
    /// Colours on a terminal unless `NO_COLOR` is set to anything non-empty.
    pub fn detect() -> Self {
        let terminal = std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        Self {
            color: terminal && !no_color,
            terminal,
        }
    }

    /// Whether stdout is a terminal, where a line can be redrawn in place.
    pub fn is_terminal(&self) -> bool {
        self.terminal
    }

    /// A step's title.
    pub fn title(&self, text: &str) -> String {
        self.paint(text, |t| t.bold().cyan().to_string())
    }

    /// Something that went as it should.
    pub fn good(&self, text: &str) -> String {
        self.paint(text, |t| t.green().to_string())
    }

    /// A refusal, which is often the point of the step.
    pub fn bad(&self, text: &str) -> String {
        self.paint(text, |t| t.red().to_string())
    }

    /// A request going out.
    pub fn request(&self, text: &str) -> String {
        self.paint(text, |t| t.bold().to_string())
    }

    /// The one line of a step the reader must not miss.
    pub fn warn(&self, text: &str) -> String {
        self.paint(text, |t| t.bold().yellow().to_string())
    }

    /// A header name or a JSON key worth noticing.
    pub fn key(&self, text: &str) -> String {
        self.paint(text, |t| t.yellow().to_string())
    }

    /// Explanations and detail in the background.
    pub fn dim(&self, text: &str) -> String {
        self.paint(text, |t| t.dimmed().to_string())
    }

    fn paint(&self, text: &str, paint: impl Fn(&str) -> String) -> String {
        if self.color {
            paint(text)
        } else {
            text.to_owned()
        }
    }
}
