//! warble-ssml: SSML 1.1 input for Warble.
//!
//! Kokoro itself only has one global speed. Warble exposes finer control by turning
//! SSML markup into *continuous control signals* on the model: a per-token duration
//! scale (from `rate`, `duration` and emphasis), a per-frame F0 transform (`pitch`,
//! `range`, `contour`), an output gain (`volume`), and exact silences (`<break>`).
//! The engine ramps every change over ~30 ms so that boundaries are smooth.
//!
//! **This crate only parses.** It turns markup into a [`Document`]: a flat list of
//! [`Segment`]s, each with the *effective* language, voice and [`Controls`] in force
//! over it (nesting already resolved), plus [`Event`]s placed between segments
//! (marks, breaks, paragraph and sentence boundaries). Applying them is the engine's
//! job. Flattening here keeps the engine simple: it never sees the tree.
//!
//! ```
//! use warble_ssml::{parse, ParseOptions, EventKind};
//!
//! let (doc, warnings) = parse(
//!     r#"<speak xml:lang="en-US">Hello <break time="300ms"/>
//!        <prosody rate="slow" pitch="+2st">world</prosody></speak>"#,
//!     &ParseOptions::default(),
//! ).unwrap();
//! assert!(warnings.is_empty());
//! assert_eq!(doc.segments.len(), 2);
//! assert_eq!(doc.segments[1].controls.rate, 0.75);
//! assert_eq!(doc.events[0].kind, EventKind::Break { ms: 300, strength: None });
//! assert_eq!(doc.events[0].before, 1);
//! ```
//!
//! The keyword-to-number mapping is in [`values`] and in `ssml/README.md`, together with
//! a conformance table of every SSML 1.1 element and attribute.
//!
//! # Guarantees
//!
//! * No panic on any input (checked by property tests on random and mutated input).
//! * Memory bounded by the input: the input size, nesting depth and warning count are
//!   capped ([`ParseOptions`]), and the output is linear in the input.
//! * No DTDs and no entity expansion beyond the XML built-ins; nothing is fetched.

mod error;
mod model;
mod parser;
pub mod values;

pub use error::{MAX_ATTRIBUTES, Position, SsmlError, Warning, WarningKind};
pub use model::*;
pub use parser::{MAX_PROSODY_DURATION_MS, ParseOptions, parse, plain_text};
