//! Identifiers: `prefix/suffix` handles, parsed once, normalized for storage, answered as the client wrote them.
//!
//! Rules (handle-rest-api.md, domain.md):
//! - the prefix is everything before the first `/`: non-empty dot-separated segments of ASCII letters, digits, `-`
//!   and `_`, compared ASCII case-insensitively (`0.na` is `0.NA`);
//! - the suffix is everything after it: non-empty UTF-8 without control characters, and may itself contain `/`;
//! - the whole handle is at most [`MAX_HANDLE_BYTES`] bytes (the Handle wire limit), a prefix at most
//!   [`MAX_PREFIX_BYTES`];
//! - suffixes compare case-sensitively by default (as the Chinese SDKs do); [`SuffixCase::Insensitive`] folds ASCII
//!   case like the Handle.Net server.

use std::fmt;

/// Longest handle accepted, in bytes of UTF-8.
pub const MAX_HANDLE_BYTES: usize = 2048;
/// Longest prefix accepted, in bytes.
pub const MAX_PREFIX_BYTES: usize = 255;
/// The prefix under which prefix handles live (`0.NA/88.798`).
pub const NA_PREFIX: &str = "0.NA";

/// Whether suffixes compare with or without regard to ASCII case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SuffixCase {
    /// `ABC` and `abc` are different handles (default).
    #[default]
    Sensitive,
    /// `ABC` and `abc` are the same handle (Handle.Net server default).
    Insensitive,
}

/// Why a string is not a valid handle or prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// Nothing was given.
    #[error("empty handle")]
    Empty,
    /// No `/` separates prefix and suffix.
    #[error("missing '/' between prefix and suffix")]
    MissingSlash,
    /// The suffix is empty.
    #[error("empty suffix after '/'")]
    EmptySuffix,
    /// A prefix segment is empty (leading, trailing or doubled dot).
    #[error("empty prefix segment at byte {0}")]
    EmptySegment(usize),
    /// A character not allowed in a prefix.
    #[error("character {ch:?} not allowed in a prefix at byte {at} (letters, digits, '.', '-', '_')")]
    PrefixChar {
        /// The offending character.
        ch: char,
        /// Its byte offset.
        at: usize,
    },
    /// A control character in the suffix.
    #[error("control character U+{code:04X} not allowed at byte {at}")]
    ControlChar {
        /// The code point.
        code: u32,
        /// Its byte offset.
        at: usize,
    },
    /// An invisible or direction-changing character in the suffix of a new handle.
    #[error("invisible or direction-changing character U+{code:04X} not allowed in a new handle, at byte {at}")]
    InvisibleChar {
        /// The code point.
        code: u32,
        /// Its byte offset.
        at: usize,
    },
    /// Too long.
    #[error("{what} is {len} bytes, more than the limit of {max}")]
    TooLong {
        /// `handle` or `prefix`.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// A validated handle. The only constructor is [`Handle::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Handle {
    raw: String,
    key: String,
    slash: usize,
}

impl Handle {
    /// Parses `prefix/suffix`, keeping the text as written for the answer and computing the storage key.
    pub fn parse(s: &str, case: SuffixCase) -> Result<Self, IdError> {
        if s.is_empty() {
            return Err(IdError::Empty);
        }
        if s.len() > MAX_HANDLE_BYTES {
            return Err(IdError::TooLong { what: "handle", len: s.len(), max: MAX_HANDLE_BYTES });
        }
        let slash = s.find('/').ok_or(IdError::MissingSlash)?;
        validate_prefix(&s[..slash])?;
        let suffix = &s[slash + 1..];
        if suffix.is_empty() {
            return Err(IdError::EmptySuffix);
        }
        if let Some((i, c)) = suffix.char_indices().find(|(_, c)| c.is_control()) {
            return Err(IdError::ControlChar { code: c as u32, at: slash + 1 + i });
        }
        let mut key = String::with_capacity(s.len());
        key.push_str(&s[..slash].to_ascii_uppercase());
        key.push('/');
        // The suffix of a prefix handle (`0.NA/88.798.ab`) is a prefix: case-insensitive whatever the setting.
        let is_na = key.len() == NA_PREFIX.len() + 1 && key.starts_with(NA_PREFIX);
        match case {
            SuffixCase::Sensitive if !is_na => key.push_str(suffix),
            _ => key.push_str(&suffix.to_ascii_uppercase()),
        }
        Ok(Self { raw: s.to_owned(), key, slash })
    }

    /// The prefix handle `0.NA/<prefix>` that administers `prefix`.
    pub fn prefix_handle(prefix: &Prefix) -> Self {
        let raw = format!("{NA_PREFIX}/{}", prefix.as_str());
        let slash = NA_PREFIX.len();
        Self { key: raw.clone(), raw, slash }
    }

    /// The handle exactly as the client wrote it.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The normalized form used as the storage key and for comparisons.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The prefix as written.
    pub fn prefix_str(&self) -> &str {
        &self.raw[..self.slash]
    }

    /// The suffix as written.
    pub fn suffix(&self) -> &str {
        &self.raw[self.slash + 1..]
    }

    /// Checks that the handle may be created: besides what [`Handle::parse`] refuses everywhere (control
    /// characters), a new suffix must not hide or reorder what a person reads. Format characters (zero-width
    /// spaces and joiners, bidirectional overrides and isolates, the byte-order mark), line and paragraph
    /// separators and invisible fillers would make two identifiers look alike, or one look like another, on a
    /// label or a screen. Existing handles still resolve. Other confusables (a Cyrillic `а` for a Latin `a`) are
    /// allowed: ceramic identifiers mix scripts by design, and deciding between them is the registrant's.
    pub fn check_new(&self) -> Result<(), IdError> {
        let offset = self.raw.len() - self.suffix().len();
        match self.suffix().char_indices().find(|&(_, c)| is_invisible(c)) {
            Some((at, c)) => Err(IdError::InvisibleChar { code: c as u32, at: offset + at }),
            None => Ok(()),
        }
    }

    /// The normalized prefix, without allocating.
    pub fn prefix_key(&self) -> &str {
        &self.key[..self.slash]
    }

    /// The normalized prefix.
    pub fn prefix(&self) -> Prefix {
        Prefix(self.key[..self.slash].to_owned())
    }

    /// For a prefix handle `0.NA/X`, the prefix `X` it administers.
    pub fn administered_prefix(&self) -> Option<Prefix> {
        if self.key[..self.slash] == *NA_PREFIX { Prefix::parse(self.suffix()).ok() } else { None }
    }
}

impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// A validated, normalized (upper-cased) prefix such as `88.798.1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix(String);

impl Prefix {
    /// Parses and normalizes a prefix.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        validate_prefix(s)?;
        Ok(Self(s.to_ascii_uppercase()))
    }

    /// Parses a prefix as a listing names it: `88.798.1`, or its prefix handle `0.NA/88.798.1`.
    pub fn parse_listed(s: &str) -> Result<Self, IdError> {
        Self::parse(s.strip_prefix("0.NA/").unwrap_or(s))
    }

    /// The normalized text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The parent prefix (`88.798` for `88.798.1`), if any.
    pub fn parent(&self) -> Option<Prefix> {
        self.0.rfind('.').map(|i| Prefix(self.0[..i].to_owned()))
    }

    /// Whether `self` equals `other` or is derived from it (`88.798.1` is under `88.798`).
    pub fn is_within(&self, other: &Prefix) -> bool {
        self.0 == other.0 || (self.0.starts_with(&other.0) && self.0.as_bytes().get(other.0.len()) == Some(&b'.'))
    }

    /// The storage key prefix of every handle under this prefix (`88.798.1/`).
    pub fn key_prefix(&self) -> String {
        format!("{}/", self.0)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn validate_prefix(p: &str) -> Result<(), IdError> {
    if p.is_empty() {
        return Err(IdError::EmptySegment(0));
    }
    if p.len() > MAX_PREFIX_BYTES {
        return Err(IdError::TooLong { what: "prefix", len: p.len(), max: MAX_PREFIX_BYTES });
    }
    let mut seg_start = 0;
    for (i, c) in p.char_indices() {
        if c == '.' {
            if i == seg_start {
                return Err(IdError::EmptySegment(i));
            }
            seg_start = i + 1;
        } else if !(c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(IdError::PrefixChar { ch: c, at: i });
        }
    }
    if seg_start == p.len() {
        return Err(IdError::EmptySegment(p.len()));
    }
    Ok(())
}

/// Whether `c` is invisible or changes the direction of text: Unicode's format characters (category Cf), the
/// line and paragraph separators, the combining grapheme joiner and the Hangul fillers.
fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180E | 0x3164 | 0xFEFF | 0xFFA0
        | 0x0600..=0x0605 | 0x06DD | 0x070F | 0x0890..=0x0891 | 0x08E2
        | 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
        | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F)
}

#[cfg(test)]
mod tests;
