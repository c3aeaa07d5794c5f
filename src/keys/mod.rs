//! Tenant-scoped object keys, such as `{user_id}/input/{job_id}/video.mp4`.
//!
//! A key is built only from a [`TenantId`] and typed segments; its first segment is always
//! the tenant, every prefix ends in `/`, and every segment is validated (no `/`, `\`, `.`,
//! `..`, empty, control or invisible characters, percent-encodings; NFC only; at most
//! 1,024 bytes in all). Segments are stored exactly as given, so the encoding is injective:
//! two different keys never share a string.
//!
//! ```
//! use tenantry::{ObjectKey, TenantId};
//! use uuid::Uuid;
//!
//! #[derive(ObjectKey, Debug, PartialEq)]
//! #[key("{tenant}/input/{job_id}/video.mp4")]
//! struct InputVideo {
//!     job_id: Uuid,
//! }
//!
//! let tenant = tenantry::Admin::new("doc example").mint_tenant(Uuid::from_u128(1));
//! let key = InputVideo { job_id: Uuid::from_u128(2) }.key(&tenant)?;
//! assert_eq!(key.as_str(), "00000000-0000-0000-0000-000000000001/input/00000000-0000-0000-0000-000000000002/video.mp4");
//! assert_eq!(InputVideo::prefix(&tenant).as_str(), "00000000-0000-0000-0000-000000000001/input/");
//! assert_eq!(InputVideo::parse(&tenant, key.as_str())?, InputVideo { job_id: Uuid::from_u128(2) });
//! // A key of another tenant is an error, not a value.
//! assert!(InputVideo::parse(&TenantId::generate(), key.as_str()).is_err());
//! # Ok::<(), tenantry::Error>(())
//! ```

mod segment;
#[cfg(feature = "object-store")]
mod store;

use std::fmt;

pub use segment::{KeyRule, KeySegment, MAX_SEGMENT_BYTES, Segment};
#[cfg(feature = "s3")]
pub use store::S3Config;
#[cfg(feature = "object-store")]
pub use store::{ObjectInfo, TenantStore};

use crate::error::{Error, Result};
use crate::tenant::TenantId;

/// Longest key accepted, in bytes (S3's and R2's limit).
pub const MAX_KEY_BYTES: usize = 1024;

/// A complete object key of one tenant. Only [`ObjectKey::key`] and the parsing functions
/// make one, so a store that takes `TenantKey` can only be handed tenant-scoped keys.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantKey {
    tenant: TenantId,
    key: String,
}

impl TenantKey {
    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// The tenant the key belongs to.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// Parses any key under `tenant`'s root prefix, whatever its template: the first
    /// segment must be `tenant` and every other segment must be valid.
    pub fn parse(tenant: &TenantId, key: &str) -> Result<TenantKey> {
        let mut reader = KeyReader::new(tenant, key)?;
        while reader.rest.is_some() {
            reader.segment_text()?;
        }
        reader.end()?;
        Ok(TenantKey { tenant: *tenant, key: key.to_owned() })
    }

    /// Whether the key lies under `prefix` (and so belongs to the prefix's tenant).
    pub fn starts_with(&self, prefix: &TenantPrefix) -> bool {
        self.tenant == prefix.tenant && self.key.starts_with(&prefix.prefix)
    }
}

impl fmt::Debug for TenantKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantKey({:?})", self.key)
    }
}

impl fmt::Display for TenantKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

/// A prefix of one tenant's keys, such as `{tenant}/` or `{tenant}/input/`. It always ends
/// in `/`, so a listing for one tenant can never match another tenant whose id shares
/// leading characters.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TenantPrefix {
    tenant: TenantId,
    prefix: String,
}

impl TenantPrefix {
    /// Everything the tenant owns: `{tenant}/`.
    pub fn root(tenant: &TenantId) -> Self {
        let mut buf = [0u8; 36];
        TenantPrefix { tenant: *tenant, prefix: format!("{}/", tenant.encode(&mut buf)) }
    }

    /// A deeper prefix: `self` + `segment` + `/`.
    pub fn child(mut self, segment: &Segment) -> Self {
        self.prefix.push_str(segment.as_str());
        self.prefix.push('/');
        self
    }

    /// The prefix text, ending in `/`.
    pub fn as_str(&self) -> &str {
        &self.prefix
    }

    /// The tenant the prefix belongs to.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// Parses a key found under this prefix (for example in a listing) back into a
    /// [`TenantKey`]; a key outside the prefix is an error.
    pub fn key(&self, key: &str) -> Result<TenantKey> {
        if !key.starts_with(&self.prefix) {
            return Err(Error::InvalidKey { rule: KeyRule::OutsidePrefix });
        }
        TenantKey::parse(&self.tenant, key)
    }

    /// `self` + `literal` + `/`. A literal that is not a valid segment (only a hand-written
    /// [`ObjectKey::PREFIX`] can hold one) is not added: the prefix stays a shorter prefix
    /// of the same tenant, never a path that climbs out of it.
    pub(crate) fn literal(mut self, literal: &'static str) -> Self {
        if segment::check(literal).is_ok() {
            self.prefix.push_str(literal);
            self.prefix.push('/');
        }
        self
    }
}

impl fmt::Debug for TenantPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantPrefix({:?})", self.prefix)
    }
}

/// A key type declared with `#[derive(ObjectKey)]` and a template such as
/// `#[key("{tenant}/output/{job_id}/video.mp4")]`.
///
/// The derive checks the template at compile time: the first segment is `{tenant}`; every
/// placeholder is a whole segment naming a field, and every field has a placeholder;
/// literal segments are non-empty and made of `A-Z a-z 0-9 . _ -` only, never `.` or `..`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tenantry object key",
    note = "declare it with `#[derive(tenantry::ObjectKey)]` and `#[key(\"{{tenant}}/...\")]`"
)]
pub trait ObjectKey: Sized {
    /// The template, as declared.
    const TEMPLATE: &'static str;
    /// The literal segments between `{tenant}` and the first placeholder.
    const PREFIX: &'static [&'static str];

    #[doc(hidden)]
    fn __write(&self, w: &mut KeyWriter);
    #[doc(hidden)]
    fn __read(r: &mut KeyReader<'_>) -> Result<Self>;

    /// The key of this object for `tenant`. Fails only when a segment is invalid (see
    /// [`Segment`]) or the key would exceed 1,024 bytes.
    fn key(&self, tenant: &TenantId) -> Result<TenantKey> {
        let mut w = KeyWriter::new(tenant);
        self.__write(&mut w);
        w.finish()
    }

    /// Parses a key that arrived from outside (an event notification, a webhook, an
    /// upload callback), checking that it belongs to `tenant` and matches the template.
    fn parse(tenant: &TenantId, key: &str) -> Result<Self> {
        let mut r = KeyReader::new(tenant, key)?;
        let value = Self::__read(&mut r)?;
        r.end()?;
        Ok(value)
    }

    /// The tenant's prefix for keys of this type: `{tenant}/` plus the template's leading
    /// literal segments, ending in `/`.
    fn prefix(tenant: &TenantId) -> TenantPrefix {
        // Up to the first literal that is not a valid segment (only a hand-written
        // `PREFIX` has one): the prefix stays the tenant's, never a path out of it.
        Self::PREFIX
            .iter()
            .take_while(|lit| segment::check(lit).is_ok())
            .fold(TenantPrefix::root(tenant), |p, lit| p.literal(lit))
    }
}

/// Builds a key segment by segment; used by derived [`ObjectKey`] impls.
#[doc(hidden)]
#[derive(Debug)]
pub struct KeyWriter {
    tenant: TenantId,
    key: String,
    error: Option<KeyRule>,
}

impl KeyWriter {
    fn new(tenant: &TenantId) -> Self {
        let mut buf = [0u8; 36];
        let mut key = String::with_capacity(96);
        key.push_str(tenant.encode(&mut buf));
        KeyWriter { tenant: *tenant, key, error: None }
    }

    /// A literal segment of the template. The derive checks it at compile time; it is
    /// checked again here, by the same rules as every other segment, because this hidden
    /// item can be called by hand: so every key is made of valid segments only, and its
    /// text is never a traversal (`..`) or a second path for any consumer.
    pub fn literal(&mut self, literal: &'static str) {
        match segment::check(literal) {
            Ok(()) => {
                self.key.push('/');
                self.key.push_str(literal);
            }
            Err(rule) => {
                self.error.get_or_insert(rule);
            }
        }
    }

    /// A field's segment, validated whatever type produced it. The impl writes into a
    /// fresh string, so it can neither see nor change the rest of the key.
    pub fn segment<S: KeySegment>(&mut self, value: &S) {
        let mut segment = String::new();
        value.write_segment(&mut segment);
        match segment::check(&segment) {
            Ok(()) => {
                self.key.push('/');
                self.key.push_str(&segment);
            }
            Err(rule) => {
                self.error.get_or_insert(rule);
            }
        }
    }

    fn finish(self) -> Result<TenantKey> {
        if let Some(rule) = self.error {
            return Err(Error::InvalidKey { rule });
        }
        // Second wall: whatever wrote the segments, the key starts with this tenant.
        let mut buf = [0u8; 36];
        let tenant = self.tenant.encode(&mut buf);
        if !(self.key.starts_with(tenant) && self.key.as_bytes().get(36) == Some(&b'/')) {
            return Err(Error::InvalidKey { rule: KeyRule::ForeignTenant });
        }
        if self.key.len() > MAX_KEY_BYTES {
            return Err(Error::InvalidKey { rule: KeyRule::TooLong });
        }
        Ok(TenantKey { tenant: self.tenant, key: self.key })
    }
}

/// Reads a key segment by segment; used by derived [`ObjectKey`] impls.
#[doc(hidden)]
#[derive(Debug)]
pub struct KeyReader<'a> {
    rest: Option<&'a str>,
}

impl<'a> KeyReader<'a> {
    fn new(tenant: &TenantId, key: &'a str) -> Result<Self> {
        if key.len() > MAX_KEY_BYTES {
            return Err(Error::InvalidKey { rule: KeyRule::TooLong });
        }
        let mut buf = [0u8; 36];
        let (first, rest) = key.split_once('/').ok_or(Error::InvalidKey { rule: KeyRule::TemplateMismatch })?;
        if first != tenant.encode(&mut buf) {
            // Never say whose key it is: the caller only learns that it is not theirs.
            return Err(Error::InvalidKey { rule: KeyRule::ForeignTenant });
        }
        Ok(KeyReader { rest: Some(rest) })
    }

    fn segment_text(&mut self) -> Result<&'a str> {
        let rest = self.rest.ok_or(Error::InvalidKey { rule: KeyRule::TemplateMismatch })?;
        let (seg, tail) = match rest.split_once('/') {
            Some((seg, tail)) => (seg, Some(tail)),
            None => (rest, None),
        };
        self.rest = tail;
        segment::check(seg).map_err(|rule| Error::InvalidKey { rule })?;
        Ok(seg)
    }

    /// The next segment must be exactly `literal`.
    pub fn literal(&mut self, literal: &'static str) -> Result<()> {
        match self.segment_text()? {
            seg if seg == literal => Ok(()),
            _ => Err(Error::InvalidKey { rule: KeyRule::TemplateMismatch }),
        }
    }

    /// The next segment, parsed as `S`.
    pub fn segment<S: KeySegment>(&mut self) -> Result<S> {
        let seg = self.segment_text()?;
        S::read_segment(seg).ok_or(Error::InvalidKey { rule: KeyRule::TemplateMismatch })
    }

    fn end(&self) -> Result<()> {
        match self.rest {
            None => Ok(()),
            Some(_) => Err(Error::InvalidKey { rule: KeyRule::TemplateMismatch }),
        }
    }
}
