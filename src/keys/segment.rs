//! Key segments: what may stand between two `/` of a key.

use std::borrow::Cow;
use std::fmt;

use unicode_normalization::{IsNormalized, is_nfc_quick};
use uuid::Uuid;

use crate::error::{Error, Result};

/// The longest segment accepted, in bytes: a file name on most file systems is at most 255,
/// and the local store writes a staging file with a short suffix beside each object.
pub const MAX_SEGMENT_BYTES: usize = 240;

pub use crate::error::KeyRule;

fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{180E}' | '\u{200B}'..='\u{200F}'
        | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF9}'..='\u{FFFB}' | '\u{E0000}'..='\u{E007F}')
}

/// Checks one segment against every rule.
pub(crate) fn check(s: &str) -> Result<(), KeyRule> {
    if s.is_empty() {
        return Err(KeyRule::Empty);
    }
    if s == "." || s == ".." {
        return Err(KeyRule::DotSegment);
    }
    if s.len() > MAX_SEGMENT_BYTES {
        return Err(KeyRule::SegmentTooLong);
    }
    for c in s.chars() {
        match c {
            '/' | '\\' => return Err(KeyRule::Separator),
            '%' => return Err(KeyRule::Percent),
            '{' | '}' | '[' | ']' | '<' | '>' | '^' | '~' | '#' | '|' | '*' | '?' | '"' | '`' | '+' => {
                return Err(KeyRule::Reserved);
            }
            c if c.is_control() => return Err(KeyRule::Control),
            c if invisible(c) => return Err(KeyRule::Invisible),
            _ => {}
        }
    }
    if !s.is_ascii() && is_nfc_quick(s.chars()) != IsNormalized::Yes && !unicode_normalization::is_nfc(s) {
        return Err(KeyRule::NotNfc);
    }
    Ok(())
}

/// A validated free-text segment, such as a file name chosen by a user.
///
/// ```
/// use tenantry::Segment;
/// assert_eq!(Segment::new("highlights (final).mp4")?.as_str(), "highlights (final).mp4");
/// for bad in ["", ".", "..", "a/b", "a\\b", "%2e%2e", "nul\0", "bidi\u{202E}", "e\u{301}"] {
///     assert!(Segment::new(bad).is_err(), "{bad:?}");
/// }
/// # Ok::<(), tenantry::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Segment(String);

impl Segment {
    /// Validates `s` as a key segment; it is kept byte for byte.
    pub fn new(s: impl Into<String>) -> Result<Self> {
        let s = s.into();
        check(&s).map_err(|rule| Error::InvalidKey { rule })?;
        Ok(Segment(s))
    }

    /// The segment text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A value that can fill a placeholder of a key template.
///
/// Implemented for [`Uuid`] (canonical lower-case hyphenated), [`Segment`], `u64` and
/// `u32` (decimal, no leading zeros). Implement it for your own id types; whatever
/// `write_segment` produces is validated again when the key is built, so an impl cannot
/// produce a key that breaks the rules. `read_segment` must accept exactly what
/// `write_segment` writes.
pub trait KeySegment: Sized {
    /// Appends the segment text.
    fn write_segment(&self, out: &mut String);
    /// Parses a segment; `None` when it is not in this type's one canonical form.
    fn read_segment(s: &str) -> Option<Self>;
}

impl KeySegment for Uuid {
    fn write_segment(&self, out: &mut String) {
        let mut buf = [0u8; 36];
        out.push_str(self.hyphenated().encode_lower(&mut buf));
    }
    fn read_segment(s: &str) -> Option<Self> {
        crate::tenant::parse_canonical_uuid(s.as_bytes())
    }
}

impl KeySegment for Segment {
    fn write_segment(&self, out: &mut String) {
        out.push_str(&self.0);
    }
    fn read_segment(s: &str) -> Option<Self> {
        check(s).ok().map(|()| Segment(s.to_owned()))
    }
}

macro_rules! decimal_segment {
    ($($t:ty),*) => {$(
        impl KeySegment for $t {
            fn write_segment(&self, out: &mut String) {
                use std::fmt::Write;
                let _ = write!(out, "{self}");
            }
            fn read_segment(s: &str) -> Option<Self> {
                let canonical = s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
                if canonical { s.parse().ok() } else { None }
            }
        }
    )*};
}
decimal_segment!(u64, u32);

impl<T: KeySegment + Clone> KeySegment for Cow<'_, T> {
    fn write_segment(&self, out: &mut String) {
        (**self).write_segment(out);
    }
    fn read_segment(s: &str) -> Option<Self> {
        T::read_segment(s).map(Cow::Owned)
    }
}
