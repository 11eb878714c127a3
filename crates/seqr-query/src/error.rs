//! Errors in expressions and queries, shaped for Seq's `{Error, Reasons, Suggestion}` bodies.

use std::fmt;

use crate::ast::Span;

/// An expression or query that cannot be parsed or compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// What is wrong, without the position.
    pub message: String,
    /// Where, in bytes.
    pub span: Span,
    /// 1-based character position of `span.start`, filled in once the source is known.
    pub position: usize,
    /// A fix, when one is obvious.
    pub suggestion: Option<String>,
    /// The text is not well-formed (as opposed to well-formed but meaningless, such as an
    /// unknown function).
    pub syntax: bool,
}

impl ParseError {
    pub fn at(span: Span, message: String) -> ParseError {
        ParseError {
            message,
            span,
            position: 0,
            suggestion: None,
            syntax: true,
        }
    }

    /// A well-formed expression that cannot mean anything.
    pub fn semantic(span: Span, message: String) -> ParseError {
        ParseError {
            syntax: false,
            ..ParseError::at(span, message)
        }
    }

    pub fn suggest(mut self, suggestion: String) -> ParseError {
        self.suggestion = Some(suggestion);
        self
    }

    /// Resolves the character position against the source it came from.
    pub(crate) fn locate(mut self, src: &str) -> ParseError {
        let byte = (self.span.start as usize).min(src.len());
        let byte = (0..=byte)
            .rev()
            .find(|b| src.is_char_boundary(*b))
            .unwrap_or(0);
        self.position = src[..byte].chars().count() + 1;
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.syntax { "Syntax error" } else { "Error" };
        write!(f, "{kind} at position {}: {}.", self.position, self.message)?;
        if let Some(s) = &self.suggestion {
            let stop = if s.ends_with(['.', '?', '!']) {
                ""
            } else {
                "."
            };
            write!(f, " Suggestion: {s}{stop}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}
