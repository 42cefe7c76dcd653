//! Errors and warnings, each with a source position.
//!
//! SSML is usually written by hand or by templates, so every diagnostic says *where*
//! (line and column, 1-based, columns counted in characters) and *what was expected*.
//! Problems that make the intent unknowable (malformed XML, a bad attribute value, a
//! limit exceeded) are errors; problems the parser can recover from without guessing
//! (an unknown element whose text can still be spoken, an ignored `<lexicon>`, a value
//! clamped to a limit) are warnings, turned into errors by `ParseOptions::strict`.

use std::fmt;

/// Most attributes one element may carry. SSML elements have at most a dozen; the cap
/// keeps attribute handling (including the duplicate check) linear.
pub const MAX_ATTRIBUTES: usize = 64;

/// A place in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Position {
    /// Byte offset from the start of the input.
    pub offset: usize,
    /// 1-based line number (lines end at `\n`).
    pub line: usize,
    /// 1-based column, counted in Unicode scalar values.
    pub column: usize,
}

impl Position {
    /// Computes line and column for a byte offset into `src`. Offsets past the end or
    /// inside a multi-byte character are moved back to the nearest character start.
    pub fn from_offset(src: &str, offset: usize) -> Self {
        let mut at = offset.min(src.len());
        while !src.is_char_boundary(at) {
            at -= 1;
        }
        let before = &src[..at];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Self {
            offset: at,
            line: before.bytes().filter(|&b| b == b'\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Why a document was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SsmlError {
    /// The input is not well-formed XML.
    #[error("malformed XML at {pos}: {message}")]
    Xml { pos: Position, message: String },

    /// A `<!DOCTYPE …>` was found. DTDs are refused outright: they are the only way to
    /// declare entities, so refusing them rules out entity-expansion bombs and external
    /// entity fetches.
    #[error("DOCTYPE declarations are not allowed in SSML input (at {pos})")]
    Doctype { pos: Position },

    /// An entity reference other than the five XML ones or a character reference.
    #[error(
        "undefined entity `&{name};` at {pos} (only &lt; &gt; &amp; &apos; &quot; and numeric character references are allowed)"
    )]
    UndefinedEntity { pos: Position, name: String },

    /// The document element is not `<speak>`, or there is content outside it.
    #[error("not an SSML document at {pos}: {message}")]
    NotSsml { pos: Position, message: String },

    /// An attribute has a value outside its grammar.
    #[error("invalid value {value:?} for attribute `{attribute}` of <{element}> at {pos}; expected {expected}")]
    InvalidAttribute { pos: Position, element: String, attribute: String, value: String, expected: String },

    /// A required attribute is missing.
    #[error("<{element}> at {pos} requires the attribute `{attribute}`")]
    MissingAttribute { pos: Position, element: String, attribute: String },

    /// An element has more than [`MAX_ATTRIBUTES`] attributes.
    #[error("<{element}> at {pos} has more than {limit} attributes")]
    TooManyAttributes { pos: Position, element: String, limit: usize },

    /// Elements are nested deeper than `ParseOptions::max_depth`.
    #[error("elements nested deeper than {limit} levels at {pos}")]
    TooDeep { pos: Position, limit: usize },

    /// The input is larger than `ParseOptions::max_input_bytes`.
    #[error("input is {len} bytes, more than the limit of {limit} bytes")]
    InputTooLarge { len: usize, limit: usize },

    /// A warning that `ParseOptions::strict` turned into an error.
    #[error("rejected in strict mode: {warning}")]
    Strict { warning: Warning },
}

impl SsmlError {
    /// Where the problem is, when it has a place.
    pub fn position(&self) -> Option<Position> {
        match self {
            Self::Xml { pos, .. }
            | Self::Doctype { pos }
            | Self::UndefinedEntity { pos, .. }
            | Self::NotSsml { pos, .. }
            | Self::InvalidAttribute { pos, .. }
            | Self::MissingAttribute { pos, .. }
            | Self::TooManyAttributes { pos, .. }
            | Self::TooDeep { pos, .. } => Some(*pos),
            Self::Strict { warning } => Some(warning.pos),
            Self::InputTooLarge { .. } => None,
        }
    }
}

/// A recoverable problem; parsing went on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind} (at {pos})")]
pub struct Warning {
    pub pos: Position,
    pub kind: WarningKind,
}

/// The kinds of [`Warning`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WarningKind {
    /// An element SSML does not define (or one in another namespace): skipped, its
    /// text kept.
    #[error("unknown element <{name}> skipped, its text kept")]
    UnknownElement { name: String },

    /// An attribute the element does not define: ignored.
    #[error("unknown attribute `{attribute}` on <{element}> ignored")]
    UnknownAttribute { element: String, attribute: String },

    /// An element Warble recognises but does not act on.
    #[error("<{element}> ignored: {reason}")]
    Ignored { element: String, reason: &'static str },

    /// A value was valid but beyond a limit, and was clamped.
    #[error("{what} of {value} on <{element}> clamped to {limit}")]
    Clamped { element: String, what: &'static str, value: String, limit: String },

    /// A value from an open vocabulary Warble does not know; a fallback was used.
    #[error("unsupported {attribute}={value:?} on <{element}>: {fallback}")]
    Unsupported { element: String, attribute: String, value: String, fallback: &'static str },

    /// Past the warning cap: this many more warnings were not recorded.
    #[error("{count} further warnings not shown")]
    Suppressed { count: usize },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions() {
        let s = "ab\ncdé\nf";
        assert_eq!(Position::from_offset(s, 0), Position { offset: 0, line: 1, column: 1 });
        assert_eq!(Position::from_offset(s, 2).column, 3);
        let p = Position::from_offset(s, 3);
        assert_eq!((p.line, p.column), (2, 1));
        // 'é' is two bytes: offset 7 is the newline after it, column 4 in chars.
        let p = Position::from_offset(s, 7);
        assert_eq!((p.line, p.column), (2, 4));
        // Inside 'é': moved back to its start.
        let p = Position::from_offset(s, 6);
        assert_eq!((p.offset, p.column), (5, 3));
        let p = Position::from_offset(s, 1000);
        assert_eq!((p.line, p.column), (3, 2));
        assert_eq!(p.to_string(), "line 3, column 2");
    }
}
