//! Message templates (messagetemplates.org): parsing and Seq-style rendering.
//!
//! PLACEHOLDER: being completed (parse holes, render per seq-compat 1.11).

use crate::Properties;

/// One piece of a parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    /// Literal text (`{{`/`}}` already unescaped).
    Text(String),
    /// A property hole.
    Hole(Hole),
}

/// A `{...}` hole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hole {
    /// The hole exactly as written, e.g. `{Elapsed,8:0.00}`.
    pub raw: String,
    /// Property name or dotted path, e.g. `User.Email`, or a positional `0`.
    pub name: String,
    /// Alignment: positive right-aligns, negative left-aligns.
    pub alignment: Option<i32>,
    /// Format specifier after `:`.
    pub format: Option<String>,
}

/// Parses a template; never fails (invalid holes are text).
pub fn parse(template: &str) -> Vec<Token> {
    vec![Token::Text(template.to_owned())]
}

/// Renders a parsed template against properties, using `renderings` (`@r`) for formatted holes
/// when their count matches.
pub fn render(tokens: &[Token], _properties: &Properties, _renderings: &[String]) -> String {
    let mut out = String::new();
    for t in tokens {
        match t {
            Token::Text(s) => out.push_str(s),
            Token::Hole(h) => out.push_str(&h.raw),
        }
    }
    out
}
