//! Hand-written lexer. `/` is division after an operand and starts a regex literal
//! elsewhere, so the lexer tracks whether the previous token ended an operand.

use rust_decimal::Decimal;

use crate::ast::Span;
use crate::error::ParseError;
use crate::value::parse_decimal;

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// An identifier or keyword, as written.
    Ident(String),
    /// `@name` without the `@`.
    Builtin(String),
    /// `$name` without the `$`.
    Variable(String),
    /// `'…'` with `''` unescaped.
    Str(String),
    /// `"…"` (backslash escapes) or `@"…"` (`""` escapes).
    Text {
        text: String,
        verbatim: bool,
    },
    Number(Decimal),
    Hex(Decimal),
    /// Ticks.
    Duration(Decimal),
    Regex(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Dot,
    Colon,
    Pipe,
    Question,
    Star,
    Plus,
    Minus,
    Slash,
    Percent,
    Caret,
    Eq,
    /// `<>` or `!=`.
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `==`.
    EqEq,
    /// `&&`.
    AndAnd,
    /// `||`.
    OrOr,
    /// `!`.
    Bang,
    Eof,
}

impl Tok {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Builtin(s) => format!("`@{s}`"),
            Tok::Variable(s) => format!("`${s}`"),
            Tok::Str(_) => "a string".into(),
            Tok::Text { .. } => "a double-quoted text".into(),
            Tok::Number(_) | Tok::Hex(_) => "a number".into(),
            Tok::Duration(_) => "a duration".into(),
            Tok::Regex(_) => "a regular expression".into(),
            Tok::Eof => "the end of the input".into(),
            other => format!("`{}`", other.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::Comma => ",",
            Tok::Dot => ".",
            Tok::Colon => ":",
            Tok::Pipe => "|",
            Tok::Question => "?",
            Tok::Star => "*",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Slash => "/",
            Tok::Percent => "%",
            Tok::Caret => "^",
            Tok::Eq => "=",
            Tok::Ne => "<>",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::EqEq => "==",
            Tok::AndAnd => "&&",
            Tok::OrOr => "||",
            Tok::Bang => "!",
            _ => "?",
        }
    }

    /// The token can end an operand, so a following `/` divides.
    fn ends_operand(&self) -> bool {
        // After an operator keyword an operand follows, so `/` starts a regex: `A like /x/`.
        const OPERATOR_WORDS: &[&str] = &[
            "and", "or", "not", "in", "like", "is", "if", "then", "else", "select", "where", "by",
            "having",
        ];
        if let Tok::Ident(word) = self {
            return !OPERATOR_WORDS.iter().any(|k| k.eq_ignore_ascii_case(word));
        }
        matches!(
            self,
            Tok::Builtin(_)
                | Tok::Variable(_)
                | Tok::Str(_)
                | Tok::Text { .. }
                | Tok::Number(_)
                | Tok::Hex(_)
                | Tok::Duration(_)
                | Tok::Regex(_)
                | Tok::RParen
                | Tok::RBracket
                | Tok::RBrace
                | Tok::Question
                | Tok::Star
        )
    }

    /// Case-insensitive keyword test.
    pub fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self, Tok::Ident(s) if s.eq_ignore_ascii_case(keyword))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
}

/// Ticks per duration unit. `ns` is a hundredth of a tick, kept exactly as a decimal.
fn unit_ticks(unit: &str) -> Option<Decimal> {
    Some(match unit {
        "d" => Decimal::from(864_000_000_000_i64),
        "h" => Decimal::from(36_000_000_000_i64),
        "m" => Decimal::from(600_000_000_i64),
        "s" => Decimal::from(10_000_000_i64),
        "ms" => Decimal::from(10_000_i64),
        "us" | "μs" | "µs" => Decimal::from(10_i64),
        "ns" => Decimal::new(1, 2),
        _ => return None,
    })
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Splits `src` into tokens, ending with [`Tok::Eof`].
pub fn tokenize(src: &str) -> Result<Vec<Token>, ParseError> {
    let mut lexer = Lexer {
        src,
        pos: 0,
        tokens: Vec::new(),
    };
    lexer.run()?;
    Ok(lexer.tokens)
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    tokens: Vec<Token>,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek2(&self) -> Option<char> {
        let mut it = self.src[self.pos..].chars();
        it.next();
        it.next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn push(&mut self, tok: Tok, start: usize) {
        self.tokens.push(Token {
            tok,
            span: Span::new(start, self.pos),
        });
    }

    fn after_operand(&self) -> bool {
        let mut recent = self.tokens.iter().rev();
        match (recent.next(), recent.next()) {
            // A member name is an operand even when it is spelled like a keyword: `A.and / 2`.
            (
                Some(Token {
                    tok: Tok::Ident(_), ..
                }),
                Some(Token { tok: Tok::Dot, .. }),
            ) => true,
            (Some(last), _) => last.tok.ends_operand(),
            (None, _) => false,
        }
    }

    fn run(&mut self) -> Result<(), ParseError> {
        loop {
            self.skip_trivia();
            let start = self.pos;
            let Some(c) = self.bump() else {
                self.push(Tok::Eof, start);
                return Ok(());
            };
            let tok = match c {
                '(' => Tok::LParen,
                ')' => Tok::RParen,
                '[' => Tok::LBracket,
                ']' => Tok::RBracket,
                '{' => Tok::LBrace,
                '}' => Tok::RBrace,
                ',' => Tok::Comma,
                '.' => Tok::Dot,
                ':' => Tok::Colon,
                '?' => Tok::Question,
                '*' => Tok::Star,
                '+' => Tok::Plus,
                '-' => Tok::Minus,
                '%' => Tok::Percent,
                '^' => Tok::Caret,
                '/' if self.after_operand() => Tok::Slash,
                '/' => self.regex(start)?,
                '=' if self.eat('=') => Tok::EqEq,
                '=' => Tok::Eq,
                '<' if self.eat('>') => Tok::Ne,
                '<' if self.eat('=') => Tok::Le,
                '<' => Tok::Lt,
                '>' if self.eat('=') => Tok::Ge,
                '>' => Tok::Gt,
                '!' if self.eat('=') => Tok::Ne,
                '!' => Tok::Bang,
                '&' if self.eat('&') => Tok::AndAnd,
                '|' if self.eat('|') => Tok::OrOr,
                '|' => Tok::Pipe,
                '\'' => Tok::Str(self.quoted(start)?),
                '"' => Tok::Text {
                    text: self.backslashed(start)?,
                    verbatim: false,
                },
                '@' if self.peek() == Some('"') => {
                    self.bump();
                    Tok::Text {
                        text: self.verbatim(start)?,
                        verbatim: true,
                    }
                }
                '@' => Tok::Builtin(self.name(start, "@")?),
                '$' => Tok::Variable(self.name(start, "$")?),
                '0' if matches!(self.peek(), Some('x' | 'X')) => {
                    self.bump();
                    self.hex(start)?
                }
                c if c.is_ascii_digit() => self.number(start)?,
                c if is_ident_start(c) => {
                    while self.peek().is_some_and(is_ident_continue) {
                        self.bump();
                    }
                    Tok::Ident(self.src[start..self.pos].to_string())
                }
                other => {
                    return Err(ParseError::at(
                        Span::new(start, self.pos),
                        format!("the character `{other}` cannot appear here"),
                    ));
                }
            };
            self.push(tok, start);
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.bump();
            true
        } else {
            false
        }
    }

    /// Whitespace and `--` comments.
    fn skip_trivia(&mut self) {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('-') if self.peek2() == Some('-') => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                }
                _ => return,
            }
        }
    }

    fn name(&mut self, start: usize, sigil: &str) -> Result<String, ParseError> {
        let from = self.pos;
        while self.peek().is_some_and(is_ident_continue) {
            self.bump();
        }
        if from == self.pos {
            return Err(ParseError::at(
                Span::new(start, self.pos),
                format!("`{sigil}` must be followed by a name, as in `{sigil}Level`"),
            ));
        }
        Ok(self.src[from..self.pos].to_string())
    }

    fn unterminated(&self, start: usize, what: &str, close: char) -> ParseError {
        ParseError::at(
            Span::new(start, self.src.len()),
            format!("the {what} starting here is never closed"),
        )
        .suggest(format!("add a closing `{close}`"))
    }

    /// `'…'`: the only escape is `''`.
    fn quoted(&mut self, start: usize) -> Result<String, ParseError> {
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(self.unterminated(start, "string", '\'')),
                Some('\'') if self.eat('\'') => out.push('\''),
                Some('\'') => return Ok(out),
                Some(c) => out.push(c),
            }
        }
    }

    /// `@"…"`: C# verbatim strings, `""` escapes a quote.
    fn verbatim(&mut self, start: usize) -> Result<String, ParseError> {
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(self.unterminated(start, "string", '"')),
                Some('"') if self.eat('"') => out.push('"'),
                Some('"') => return Ok(out),
                Some(c) => out.push(c),
            }
        }
    }

    /// `"…"`: C#/JavaScript backslash escapes.
    fn backslashed(&mut self, start: usize) -> Result<String, ParseError> {
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(self.unterminated(start, "text", '"')),
                Some('"') => return Ok(out),
                Some('\\') => {
                    let at = self.pos - 1;
                    match self.bump() {
                        Some('n') => out.push('\n'),
                        Some('r') => out.push('\r'),
                        Some('t') => out.push('\t'),
                        Some('0') => out.push('\0'),
                        Some('u') => {
                            let digits: String = self.src[self.pos..].chars().take(4).collect();
                            let ch = (digits.len() == 4)
                                .then(|| u32::from_str_radix(&digits, 16).ok())
                                .flatten()
                                .and_then(char::from_u32)
                                .ok_or_else(|| {
                                    ParseError::at(
                                        Span::new(at, self.pos),
                                        "`\\u` must be followed by four hex digits".into(),
                                    )
                                })?;
                            self.pos += 4;
                            out.push(ch);
                        }
                        Some(c @ ('"' | '\\' | '\'' | '/')) => out.push(c),
                        Some(c) => {
                            return Err(ParseError::at(
                                Span::new(at, self.pos),
                                format!("`\\{c}` is not an escape sequence"),
                            )
                            .suggest("write `\\\\` for a backslash".into()));
                        }
                        None => return Err(self.unterminated(start, "text", '"')),
                    }
                }
                Some(c) => out.push(c),
            }
        }
    }

    /// `/…/`, `\/` escapes a slash; other escapes are the regex's own.
    fn regex(&mut self, start: usize) -> Result<Tok, ParseError> {
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(self.unterminated(start, "regular expression", '/')),
                Some('/') => return Ok(Tok::Regex(out)),
                Some('\\') if self.peek() == Some('/') => {
                    self.bump();
                    out.push('/');
                }
                Some('\\') => {
                    out.push('\\');
                    if let Some(c) = self.bump() {
                        out.push(c);
                    }
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn hex(&mut self, start: usize) -> Result<Tok, ParseError> {
        let from = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
            self.bump();
        }
        let digits = &self.src[from..self.pos];
        let bad = || {
            ParseError::at(
                Span::new(start, self.pos),
                "a hexadecimal number needs digits after `0x`, at most 24 of them".into(),
            )
        };
        if digits.is_empty() || self.peek().is_some_and(is_ident_continue) {
            return Err(bad());
        }
        let n = u128::from_str_radix(digits, 16).map_err(|_| bad())?;
        let n = i128::try_from(n).map_err(|_| bad())?;
        Decimal::try_from_i128_with_scale(n, 0)
            .map(Tok::Hex)
            .map_err(|_| bad())
    }

    /// A decimal number, or a duration: one or more `<natural><unit>` chunks.
    fn number(&mut self, start: usize) -> Result<Tok, ParseError> {
        self.digits();
        let has_unit = self.peek().is_some_and(|c| c.is_alphabetic());
        if !has_unit {
            if self.peek() == Some('.') && self.peek2().is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
                self.digits();
            }
            let text = &self.src[start..self.pos];
            if self.peek().is_some_and(is_ident_start) {
                return Err(self.bad_number(start));
            }
            return parse_decimal(text)
                .map(Tok::Number)
                .ok_or_else(|| self.bad_number(start));
        }
        let mut total = Decimal::ZERO;
        let mut chunk_start = start;
        loop {
            let count = parse_decimal(&self.src[chunk_start..self.pos])
                .ok_or_else(|| self.bad_number(start))?;
            let unit_start = self.pos;
            while self.peek().is_some_and(|c| c.is_alphabetic()) {
                self.bump();
            }
            let unit = &self.src[unit_start..self.pos];
            let ticks = unit_ticks(unit).ok_or_else(|| {
                ParseError::at(
                    Span::new(unit_start, self.pos),
                    format!("`{unit}` is not a duration unit"),
                )
                .suggest("use d, h, m, s, ms, us or ns, as in `1h30m` or `250ms`".into())
            })?;
            total = count
                .checked_mul(ticks)
                .and_then(|t| total.checked_add(t))
                .ok_or_else(|| self.bad_number(start))?;
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                break;
            }
            chunk_start = self.pos;
            self.digits();
            if !self.peek().is_some_and(|c| c.is_alphabetic()) {
                return Err(ParseError::at(
                    Span::new(start, self.pos),
                    "each part of a duration needs a unit, as in `1h30m`".into(),
                ));
            }
        }
        if self.peek().is_some_and(is_ident_continue) {
            return Err(self.bad_number(start));
        }
        Ok(Tok::Duration(total))
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
    }

    fn bad_number(&self, start: usize) -> ParseError {
        let mut end = self.pos;
        for c in self.src[end..].chars() {
            if !is_ident_continue(c) {
                break;
            }
            end += c.len_utf8();
        }
        ParseError::at(
            Span::new(start, end),
            format!(
                "`{}` is not a number or duration that fits in a decimal",
                &self.src[start..end]
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        tokenize(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn slash_divides_after_an_operand_and_starts_a_regex_elsewhere() {
        assert_eq!(
            toks("A / 2"),
            [
                Tok::Ident("A".into()),
                Tok::Slash,
                Tok::Number(2.into()),
                Tok::Eof
            ]
        );
        assert_eq!(
            toks("A = /a\\/b/"),
            [
                Tok::Ident("A".into()),
                Tok::Eq,
                Tok::Regex("a/b".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn slash_after_an_operator_word_starts_a_regex() {
        assert_eq!(toks("A like /x/")[2], Tok::Regex("x".into()));
        assert_eq!(toks("B or /a/ = A")[2], Tok::Regex("a".into()));
        assert_eq!(toks("Rate / 2")[1], Tok::Slash);
        assert_eq!(toks("A.and / 2")[3], Tok::Slash);
    }

    #[test]
    fn durations_sum_their_chunks() {
        assert_eq!(
            toks("1h30m")[0],
            Tok::Duration(Decimal::from(54_000_000_000_i64))
        );
        assert_eq!(toks("250ms")[0], Tok::Duration(Decimal::from(2_500_000)));
        assert_eq!(toks("100ns")[0], Tok::Duration(Decimal::from(1)));
        assert!(tokenize("3weeks").is_err());
    }

    #[test]
    fn strings_and_comments() {
        assert_eq!(toks("'it''s' -- note")[0], Tok::Str("it's".into()));
        assert_eq!(
            toks(r#"@"a ""b"" \c""#)[0],
            Tok::Text {
                text: r#"a "b" \c"#.into(),
                verbatim: true
            }
        );
        assert_eq!(
            toks(r#""a\"b""#)[0],
            Tok::Text {
                text: "a\"b".into(),
                verbatim: false
            }
        );
        assert!(tokenize("'open").is_err());
    }

    #[test]
    fn hex_numbers() {
        assert_eq!(
            toks("0xE80D5C02")[0],
            Tok::Hex(Decimal::from(0xE80D5C02_u32))
        );
        assert!(tokenize("0x").is_err());
        assert!(tokenize("0xZZ").is_err());
    }
}
