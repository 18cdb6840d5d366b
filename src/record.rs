//! Records: the typed handle values of one identifier, their permissions, and their codecs.
//!
//! - [`wire`]: the Handle wire encoding of values (RFC 3652 §3.1), used as the storage encoding too, so the binary
//!   protocol can answer without re-encoding;
//! - [`admin`]: `HS_ADMIN` and `HS_VLIST` data and the twelve admin permission bits.

pub mod admin;
pub mod pubkey;
pub mod site;
pub mod wire;

/// Well-known value types.
pub mod types {
    /// Administrator of a handle.
    pub const HS_ADMIN: &str = "HS_ADMIN";
    /// Group of identities.
    pub const HS_VLIST: &str = "HS_VLIST";
    /// Secret key of an identity.
    pub const HS_SECKEY: &str = "HS_SECKEY";
    /// Public key of an identity.
    pub const HS_PUBKEY: &str = "HS_PUBKEY";
    /// Site information.
    pub const HS_SITE: &str = "HS_SITE";
    /// Site information of a prefix.
    pub const HS_SITE_PREFIX: &str = "HS_SITE.PREFIX";
    /// A URL.
    pub const URL: &str = "URL";
}

/// Default time to live of a value, seconds.
pub const DEFAULT_TTL: u32 = 86_400;

/// Why a value or record is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// A JSON body or field is not what the contract allows.
    #[error("{0}")]
    Invalid(String),
    /// Two values share an index.
    #[error("index conflict: index {0} appears more than once")]
    DuplicateIndex(u32),
    /// The stored or wire bytes are truncated or inconsistent.
    #[error("malformed encoding: {0}")]
    Encoding(&'static str),
}

/// Time to live of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// Seconds a cache may keep the value.
    Relative(u32),
    /// Epoch second at which the value expires.
    Absolute(u32),
}

impl Ttl {
    /// Seconds a cache may keep the value, seen at `now` (epoch seconds).
    pub fn max_age(self, now: u32) -> u32 {
        match self {
            Ttl::Relative(s) => s,
            Ttl::Absolute(t) => t.saturating_sub(now),
        }
    }
}

/// The four value permission bits (`admin-read admin-write public-read public-write`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Perms(pub u8);

impl Perms {
    /// Admins may read.
    pub const ADMIN_READ: u8 = 0x8;
    /// Admins may write.
    pub const ADMIN_WRITE: u8 = 0x4;
    /// Everyone may read.
    pub const PUBLIC_READ: u8 = 0x2;
    /// Everyone may write.
    pub const PUBLIC_WRITE: u8 = 0x1;
    /// `1110`, the default.
    pub const DEFAULT: Perms = Perms(0xE);
    /// `1100`, the usual permissions of a secret key.
    pub const SECRET: Perms = Perms(0xC);

    /// Whether anybody may read the value.
    pub fn public_read(self) -> bool {
        self.0 & Self::PUBLIC_READ != 0
    }

    /// Whether authorized readers may read the value.
    pub fn admin_read(self) -> bool {
        self.0 & Self::ADMIN_READ != 0
    }

    /// The four-character form, most significant first.
    pub fn to_bits_string(self) -> String {
        (0..4).rev().map(|b| if self.0 & (1 << b) != 0 { '1' } else { '0' }).collect()
    }

    /// Parses up to four `0`/`1` characters, read from the right.
    pub fn parse(s: &str) -> Result<Self, RecordError> {
        parse_bits(s, 4).map(|b| Perms(b as u8))
    }
}

/// Parses a string of at most `width` `0`/`1` characters, the last one being bit 0.
pub(crate) fn parse_bits(s: &str, width: usize) -> Result<u16, RecordError> {
    if s.is_empty() || s.len() > width || !s.bytes().all(|b| b == b'0' || b == b'1') {
        return Err(RecordError::Invalid(format!(
            "permissions {s:?} is not a string of 1 to {width} '0'/'1' characters"
        )));
    }
    Ok(s.bytes().fold(0u16, |acc, b| (acc << 1) | u16::from(b == b'1')))
}

/// A reference from a value to a value of another handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The referenced handle.
    pub handle: String,
    /// The referenced index.
    pub index: u32,
}

/// One typed value of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandleValue {
    /// Index, unique within the record; 1 and above.
    pub index: u32,
    /// Type, such as `URL` or `HS_ADMIN`.
    pub ty: String,
    /// Raw data bytes (for `HS_ADMIN`, `HS_VLIST`, `HS_SITE` their binary encodings).
    pub data: Vec<u8>,
    /// Time to live.
    pub ttl: Ttl,
    /// Last change, epoch seconds.
    pub timestamp: u32,
    /// Read and write permissions.
    pub perms: Perms,
    /// References to other values.
    pub references: Vec<Reference>,
}

impl HandleValue {
    /// A value with default TTL and permissions.
    pub fn new(index: u32, ty: &str, data: impl Into<Vec<u8>>, timestamp: u32) -> Self {
        Self {
            index,
            ty: ty.to_owned(),
            data: data.into(),
            ttl: Ttl::Relative(DEFAULT_TTL),
            timestamp,
            perms: Perms::DEFAULT,
            references: Vec::new(),
        }
    }

    /// Whether the type matches `filter`: exactly (ASCII case-insensitively), or as a subtype when the filter ends
    /// in `.` (`HS_SITE.` matches `HS_SITE.PREFIX`).
    pub fn type_matches(&self, filter: &str) -> bool {
        if let Some(stem) = filter.strip_suffix('.') {
            let t = self.ty.as_bytes();
            t.len() > stem.len() && t[..stem.len()].eq_ignore_ascii_case(stem.as_bytes()) && t[stem.len()] == b'.'
                || self.ty.eq_ignore_ascii_case(stem)
        } else {
            self.ty.eq_ignore_ascii_case(filter)
        }
    }

    /// Whether the value has the type `ty`, ignoring ASCII case.
    pub fn is(&self, ty: &str) -> bool {
        self.ty.eq_ignore_ascii_case(ty)
    }
}

/// Permissions of a value written without any: `1110`, but `1100` for a secret key, which must never be public
/// by accident.
pub fn default_perms(ty: &str) -> Perms {
    if ty.eq_ignore_ascii_case(types::HS_SECKEY) { Perms::SECRET } else { Perms::DEFAULT }
}

/// Rejects a list of values in which two share an index, or an index is 0.
pub fn check_indexes(values: &[HandleValue]) -> Result<(), RecordError> {
    let mut seen = std::collections::HashSet::with_capacity(values.len());
    for v in values {
        if v.index == 0 {
            return Err(RecordError::Invalid("index 0 is reserved; value indexes start at 1".into()));
        }
        if !seen.insert(v.index) {
            return Err(RecordError::DuplicateIndex(v.index));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
