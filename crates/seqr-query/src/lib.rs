//! Seq's expression and query language.
//!
//! One language serves the search bar, signals, API-key arrival filters, user view filters,
//! alerts and the SQL-style `select` queries; this crate parses it once into an [`ast::Expr`]
//! with byte spans, compiles it into closures, and evaluates it over events with Seq's
//! semantics (decimal numbers, undefined as a poison value, `ci` modifiers).

pub mod functions;
pub mod value;

pub use value::Value;
