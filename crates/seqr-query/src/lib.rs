//! Seq's expression and query language.
//!
//! One language serves the search bar, signals, API-key arrival filters, user view filters,
//! alerts and the SQL-style `select` queries; this crate parses it once into an [`ast::Expr`]
//! with byte spans, compiles it into closures, and evaluates it over events with Seq's
//! semantics (decimal numbers, undefined as a poison value, `ci` modifiers).

pub mod ast;
pub mod compile;
pub mod datetime;
pub mod error;
pub mod event_view;
pub mod functions;
pub mod fuzzy;
mod lexer;
pub mod like;
pub mod parser;
pub mod print;
pub mod pushdown;
pub mod query;
pub mod value;

use seqr_types::StoredEvent;

pub use compile::{Compiled, Variables};
pub use error::ParseError;
pub use value::Value;

/// Longest filter text accepted, so one request cannot make the parser do unbounded work.
pub const MAX_FILTER_LEN: usize = 64 * 1024;

/// A strict filter expression, parsed and compiled once, evaluated per event.
pub struct Filter {
    pub source: String,
    pub expr: ast::Expr,
    compiled: Compiled,
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Filter").field(&self.source).finish()
    }
}

impl Filter {
    /// Parses and compiles a filter with no variables in scope.
    pub fn parse(source: &str) -> Result<Filter, ParseError> {
        Filter::with_variables(source, &Variables::new())
    }

    pub fn with_variables(source: &str, variables: &Variables) -> Result<Filter, ParseError> {
        if source.len() > MAX_FILTER_LEN {
            return Err(ParseError::semantic(
                ast::Span::new(MAX_FILTER_LEN, source.len()),
                format!("the expression is longer than {MAX_FILTER_LEN} bytes"),
            )
            .locate(source));
        }
        let expr = parser::parse_expression(source)?;
        let compiled = compile::Compiler::new(variables)
            .condition(&expr)
            .map_err(|e| e.locate(source))?;
        Ok(Filter {
            source: source.to_string(),
            expr,
            compiled,
        })
    }

    /// True when the filter evaluates to `true` for the event (undefined does not match).
    pub fn matches(&self, event: &StoredEvent, now_ticks: i64) -> bool {
        self.compiled.matches(event, now_ticks)
    }

    /// The canonical strict text, as stored and shown.
    pub fn strict(&self) -> String {
        print::print(&fuzzy::strict_tree(&self.expr, true))
    }
}
