//! Message templates (messagetemplates.org): parsing and Seq-style rendering.
//!
//! Parsing follows Serilog's `MessageTemplateParser` and never fails: anything that is not a
//! valid hole is literal text, because many clients send already-rendered text (JSON, Python
//! dict reprs) as `@mt`. Rendering follows Seq (seq-compat 1.11): strings unquoted, missing
//! properties shown as the raw hole, dotted names as paths, `@r` used for formatted holes.
//!
//! - [`parse`] (`parse.rs`): the tokenizer, never failing.
//! - [`render`] / [`render_tokens`] (`render.rs`): Seq-style rendering against properties.
//! - `number_format.rs`: .NET numeric format specifiers (`F2`, `N0`, `0.00`, ...).

mod number_format;
mod parse;
mod render;

pub use parse::{count_formatted_holes, parse};
pub use render::{
    Scalar, formatted_hole_count, lookup, render, render_tokens, render_with, write_scalar,
    writes_numbers_as_digits,
};

/// The longest message [`render`] produces, in bytes, so a small template with a huge
/// alignment or property cannot amplify into a huge message.
pub const MAX_RENDERED_BYTES: usize = 16 * 1024;

/// One piece of a parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    /// Literal text (`{{`/`}}` already unescaped).
    Text(String),
    /// A property hole.
    Hole(Hole),
}

/// How the client was asked to capture a hole's value (`@` or `$` before the name).
///
/// Seq renders all three the same way; the hint is kept so templates round-trip.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Capture {
    /// No hint: scalars as-is, other objects via `ToString()`.
    #[default]
    Default,
    /// `@`: captured as a structure.
    Destructure,
    /// `$`: captured as a string.
    Stringify,
}

/// A `{...}` hole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hole {
    /// The hole exactly as written, e.g. `{Elapsed,8:0.00}`.
    pub raw: String,
    /// Property name or dotted path, e.g. `User.Email`, or a positional `0`.
    pub name: String,
    /// The `@`/`$` hint.
    pub capture: Capture,
    /// Alignment: positive right-aligns, negative left-aligns; never zero.
    pub alignment: Option<i32>,
    /// Format specifier after `:` (`None` also for an empty one, as in `{A:}`).
    pub format: Option<String>,
}

impl Hole {
    /// Whether the name is all digits (`{0}`), as .NET `string.Format`-style templates use.
    pub fn is_positional(&self) -> bool {
        self.name.bytes().all(|b| b.is_ascii_digit())
    }
}

/// A token of a rendered template, as the API's `MessageTemplateTokens` lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RenderedToken {
    /// Literal text.
    Text(String),
    /// A hole with its rendering.
    Property {
        /// The property name or path.
        name: String,
        /// The hole as written, e.g. `{Elapsed:0.00}`.
        raw_text: String,
        /// The rendered value (aligned), or `None` when the property is missing.
        formatted: Option<String>,
    },
}
