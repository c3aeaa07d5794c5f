//! Column types: how Rust values are bound as parameters and decoded from rows.

use rusqlite::types::{ToSqlOutput, ValueRef};
use uuid::Uuid;

use crate::tenant::{TenantId, parse_canonical_uuid};

/// A statement's bound values: up to four inline (the tenant's slot and a few values, as
/// most statements have), more on the heap.
pub(crate) type Params = smallvec::SmallVec<[Param; 4]>;

/// The values of an insert's rows, in order, without the tenant: one row of up to four
/// columns inline (no allocation for the usual one-row insert), more on the heap.
#[doc(hidden)]
pub type RowValues = smallvec::SmallVec<[Param; 4]>;

/// The longest text a [`Param`] holds inline.
const SHORT: usize = 30;

/// A bound value as a statement holds it: a [`Value`], or text of up to 30 bytes copied
/// from a `&str` into the parameter itself, so comparing or assigning a short borrowed
/// string allocates nothing. The same size as a `Value`. Made and read only by tenantry
/// (generated code included).
#[doc(hidden)]
#[derive(Clone)]
pub struct Param(Repr);

#[derive(Clone)]
enum Repr {
    Value(Value),
    /// UTF-8 text: the first `len` bytes.
    Short {
        len: u8,
        bytes: [u8; SHORT],
    },
}

/// What a [`Param`] binds.
pub(crate) enum ParamRef<'a> {
    Value(&'a Value),
    /// Text, valid UTF-8 (it was a `&str`).
    Text(&'a [u8]),
}

impl Param {
    /// `NULL`: also the tenant's placeholder, which the executor binds from the scope.
    pub(crate) const NULL: Param = Param(Repr::Value(Value::Null));

    /// Text: inline when it is short, else a [`Value::Text`].
    #[inline]
    pub(crate) fn text(s: &str) -> Param {
        if s.len() <= SHORT {
            let mut bytes = [0; SHORT];
            bytes[..s.len()].copy_from_slice(s.as_bytes());
            Param(Repr::Short { len: s.len() as u8, bytes })
        } else {
            Param(Repr::Value(Value::Text(s.to_owned())))
        }
    }

    #[inline]
    pub(crate) fn get(&self) -> ParamRef<'_> {
        match &self.0 {
            Repr::Value(v) => ParamRef::Value(v),
            Repr::Short { len, bytes } => ParamRef::Text(&bytes[..usize::from(*len)]),
        }
    }

    /// As a [`Value`] (text held inline becomes a [`Value::Text`]).
    pub(crate) fn to_value(&self) -> Value {
        match self.get() {
            ParamRef::Value(v) => v.clone(),
            ParamRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        }
    }
}

impl From<Value> for Param {
    #[inline]
    fn from(v: Value) -> Param {
        Param(Repr::Value(v))
    }
}

impl std::fmt::Debug for Param {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.get() {
            ParamRef::Value(v) => v.fmt(f),
            ParamRef::Text(t) => f.debug_tuple("Text").field(&String::from_utf8_lossy(t)).finish(),
        }
    }
}

/// A bound parameter. Values only ever travel as parameters, never inside SQL text.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// SQL `NULL`.
    Null,
    /// A 64-bit integer (also `bool` as 0/1).
    Integer(i64),
    /// A 64-bit float.
    Real(f64),
    /// UTF-8 text, stored byte-exact.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
    /// A UUID, stored as canonical lower-case hyphenated text.
    Uuid(Uuid),
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Integer(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Real(r) => ToSqlOutput::Borrowed(ValueRef::Real(*r)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            Value::Uuid(u) => {
                let mut buf = [0u8; 36];
                let text = u.hyphenated().encode_lower(&mut buf).to_owned();
                ToSqlOutput::Owned(rusqlite::types::Value::Text(text))
            }
        })
    }
}

/// Binds `param` at 1-based `index`, without allocating.
#[inline]
pub(crate) fn bind(stmt: &mut rusqlite::Statement<'_>, index: usize, param: &Param) -> rusqlite::Result<()> {
    match param.get() {
        ParamRef::Text(t) => stmt.raw_bind_parameter(index, AsciiText(t)),
        ParamRef::Value(v) => bind_value(stmt, index, v),
    }
}

/// Binds `value` at 1-based `index` without allocating for UUIDs.
pub(crate) fn bind_value(stmt: &mut rusqlite::Statement<'_>, index: usize, value: &Value) -> rusqlite::Result<()> {
    match value {
        Value::Uuid(u) => {
            let mut buf = [0u8; 36];
            let text = u.hyphenated().encode_lower(&mut buf);
            stmt.raw_bind_parameter(index, AsciiText(text.as_bytes()))
        }
        Value::Text(s) => stmt.raw_bind_parameter(index, s.as_str()),
        Value::Integer(i) => stmt.raw_bind_parameter(index, *i),
        Value::Real(r) => stmt.raw_bind_parameter(index, *r),
        Value::Blob(b) => stmt.raw_bind_parameter(index, b.as_slice()),
        Value::Null => stmt.raw_bind_parameter(index, rusqlite::types::Null),
    }
}

/// The storage class a column is declared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SqlKind {
    /// `TEXT`
    Text,
    /// `INTEGER`
    Integer,
    /// `REAL`
    Real,
    /// `BLOB`
    Blob,
    /// A UUID: `TEXT` (canonical lower-case) in SQLite, `uuid` in PostgreSQL.
    Uuid,
}

mod sealed {
    pub trait Sealed {}
}

/// A Rust type that a column can hold.
///
/// Implemented for `String`, `i64`, `i32`, `f64`, `bool`, `Vec<u8>`, [`Uuid`] and
/// `Option` of each (a nullable column). Sealed: the set of storage mappings is the
/// library's, so every value round-trips byte-exact.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored in a tenantry column",
    note = "use String, i64, i32, f64, bool, Vec<u8>, uuid::Uuid, or an Option of one of them"
)]
pub trait ColumnValue: sealed::Sealed + Sized {
    /// Declared storage class.
    const KIND: SqlKind;
    /// The type that may also be `NULL`: `Option<Self>`, or `Self` when it already is an
    /// `Option` (a column of a left-joined table decodes as this).
    type Nullable: ColumnValue;
    /// Whether the column accepts `NULL`.
    const NULLABLE: bool = false;
    /// Name used in decode errors.
    const EXPECTED: &'static str;
    /// The parameter for this value.
    fn to_value(&self) -> Value;
    /// The parameter for this value, reusing its allocation where it has one.
    fn into_value(self) -> Value {
        self.to_value()
    }
    /// The parameter a statement holds for this value (short text inline).
    #[doc(hidden)]
    fn __to_param(&self) -> Param {
        Param::from(self.to_value())
    }
    /// Decodes a stored value; `None` when it does not fit the type.
    fn from_sql(value: ValueRef<'_>) -> Option<Self>;
}

macro_rules! integer_type {
    ($t:ty, $name:literal) => {
        impl sealed::Sealed for $t {}
        impl ColumnValue for $t {
            const KIND: SqlKind = SqlKind::Integer;
            type Nullable = Option<Self>;
            const EXPECTED: &'static str = $name;
            fn to_value(&self) -> Value {
                Value::Integer(i64::from(*self))
            }
            fn from_sql(value: ValueRef<'_>) -> Option<Self> {
                match value {
                    ValueRef::Integer(i) => <$t>::try_from(i).ok(),
                    _ => None,
                }
            }
        }
    };
}
integer_type!(i64, "64-bit integer");
integer_type!(i32, "32-bit integer");

impl sealed::Sealed for bool {}
impl ColumnValue for bool {
    const KIND: SqlKind = SqlKind::Integer;
    type Nullable = Option<Self>;
    const EXPECTED: &'static str = "boolean (0 or 1)";
    fn to_value(&self) -> Value {
        Value::Integer(i64::from(*self))
    }
    fn from_sql(value: ValueRef<'_>) -> Option<Self> {
        match value {
            ValueRef::Integer(0) => Some(false),
            ValueRef::Integer(1) => Some(true),
            _ => None,
        }
    }
}

impl sealed::Sealed for f64 {}
impl ColumnValue for f64 {
    const KIND: SqlKind = SqlKind::Real;
    type Nullable = Option<Self>;
    const EXPECTED: &'static str = "floating-point number";
    fn to_value(&self) -> Value {
        Value::Real(*self)
    }
    fn from_sql(value: ValueRef<'_>) -> Option<Self> {
        match value {
            ValueRef::Real(r) => Some(r),
            // SQLite stores integral REAL values compactly and may hand them back as integers.
            ValueRef::Integer(i) => Some(i as f64),
            _ => None,
        }
    }
}

impl sealed::Sealed for String {}
impl ColumnValue for String {
    const KIND: SqlKind = SqlKind::Text;
    type Nullable = Option<Self>;
    const EXPECTED: &'static str = "UTF-8 text";
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
    fn into_value(self) -> Value {
        Value::Text(self)
    }
    fn __to_param(&self) -> Param {
        Param::text(self)
    }
    fn from_sql(value: ValueRef<'_>) -> Option<Self> {
        match value {
            ValueRef::Text(t) => std::str::from_utf8(t).ok().map(str::to_owned),
            _ => None,
        }
    }
}

impl sealed::Sealed for Vec<u8> {}
impl ColumnValue for Vec<u8> {
    const KIND: SqlKind = SqlKind::Blob;
    type Nullable = Option<Self>;
    const EXPECTED: &'static str = "blob";
    fn to_value(&self) -> Value {
        Value::Blob(self.clone())
    }
    fn into_value(self) -> Value {
        Value::Blob(self)
    }
    fn from_sql(value: ValueRef<'_>) -> Option<Self> {
        match value {
            ValueRef::Blob(b) => Some(b.to_vec()),
            _ => None,
        }
    }
}

impl sealed::Sealed for Uuid {}
impl ColumnValue for Uuid {
    const KIND: SqlKind = SqlKind::Uuid;
    type Nullable = Option<Self>;
    const EXPECTED: &'static str = "canonical lower-case hyphenated UUID";
    fn to_value(&self) -> Value {
        Value::Uuid(*self)
    }
    fn from_sql(value: ValueRef<'_>) -> Option<Self> {
        parse_canonical_uuid(value.as_bytes().ok()?)
    }
}

impl<T: ColumnValue> sealed::Sealed for Option<T> {}
impl<T: ColumnValue> ColumnValue for Option<T> {
    const KIND: SqlKind = T::KIND;
    type Nullable = Self;
    const NULLABLE: bool = true;
    const EXPECTED: &'static str = T::EXPECTED;
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, T::to_value)
    }
    fn into_value(self) -> Value {
        self.map_or(Value::Null, T::into_value)
    }
    fn __to_param(&self) -> Param {
        self.as_ref().map_or(Param::NULL, T::__to_param)
    }
    fn from_sql(value: ValueRef<'_>) -> Option<Self> {
        match value {
            ValueRef::Null => Some(None),
            other => T::from_sql(other).map(Some),
        }
    }
}

/// A Rust value usable where a column of type `V` is compared or assigned.
///
/// `V` itself always works; `&str` works for text columns, and a bare `T` for an
/// `Option<T>` column.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be compared with or assigned to a column of type `{V}`",
    note = "pass a value of the column's own type `{V}`"
)]
pub trait IntoSql<V> {
    /// The parameter for this value.
    fn into_value(self) -> Value;
    /// The parameter as a statement holds it: borrowed short text is copied inline
    /// rather than into a new `String`.
    #[doc(hidden)]
    fn __into_param(self) -> Param
    where
        Self: Sized,
    {
        Param::from(self.into_value())
    }
}

impl<V: ColumnValue> IntoSql<V> for V {
    fn into_value(self) -> Value {
        ColumnValue::into_value(self)
    }
}
impl<V: ColumnValue> IntoSql<V> for &V {
    fn into_value(self) -> Value {
        self.to_value()
    }
    #[inline]
    fn __into_param(self) -> Param {
        self.__to_param()
    }
}
impl IntoSql<String> for &str {
    fn into_value(self) -> Value {
        Value::Text(self.to_owned())
    }
    #[inline]
    fn __into_param(self) -> Param {
        Param::text(self)
    }
}
impl IntoSql<Option<String>> for &str {
    fn into_value(self) -> Value {
        Value::Text(self.to_owned())
    }
    #[inline]
    fn __into_param(self) -> Param {
        Param::text(self)
    }
}
macro_rules! into_option {
    ($($t:ty),*) => {$(
        impl IntoSql<Option<$t>> for $t {
            fn into_value(self) -> Value {
                ColumnValue::into_value(self)
            }
        }
    )*};
}
into_option!(String, i64, i32, f64, bool, Vec<u8>, Uuid);

/// The tenant as a statement value (a UUID, bound as its canonical text).
pub(crate) fn tenant_value(t: &TenantId) -> Value {
    Value::Uuid(t.as_uuid())
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_owned())
    }
}

impl<T: ColumnValue> From<T> for Value {
    fn from(v: T) -> Value {
        v.into_value()
    }
}

/// Binds bytes already known to be valid UTF-8 (ASCII, or a `&str`'s) as `TEXT`, without
/// checking them again.
pub(crate) struct AsciiText<'a>(pub(crate) &'a [u8]);

impl rusqlite::ToSql for AsciiText<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Text(self.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_up_to_thirty_bytes_is_held_inline_and_reads_back_exact() {
        for s in ["", "a", &"x".repeat(30), &"é".repeat(15), "nul\0inside"] {
            let p = Param::text(s);
            assert!(matches!(p.0, Repr::Short { .. }), "{s:?} is inline");
            assert!(matches!(p.get(), ParamRef::Text(t) if t == s.as_bytes()));
            assert_eq!(p.to_value(), Value::Text(s.to_owned()));
            assert_eq!(format!("{p:?}"), format!("{:?}", Value::Text(s.to_owned())));
        }
        for s in [&"x".repeat(31), &"é".repeat(16), &"y".repeat(500)] {
            let p = Param::text(s);
            assert!(matches!(&p.0, Repr::Value(Value::Text(t)) if t == s), "{} bytes go to a String", s.len());
        }
        // `&str` and `&String` both take the inline path; an owned `String` keeps its buffer.
        let owned = "short".to_owned();
        assert!(matches!(<&str as IntoSql<String>>::__into_param("short").0, Repr::Short { .. }));
        assert!(matches!(<&String as IntoSql<String>>::__into_param(&owned).0, Repr::Short { .. }));
        assert!(matches!(<String as IntoSql<String>>::__into_param(owned).0, Repr::Value(Value::Text(_))));
        assert!(matches!(
            <&Option<String> as IntoSql<Option<String>>>::__into_param(&None).0,
            Repr::Value(Value::Null)
        ));
        let some = Some("short".to_owned());
        assert!(matches!(<&Option<String> as IntoSql<Option<String>>>::__into_param(&some).0, Repr::Short { .. }));
        // Not a guarantee of the language: rustc places the inline text around `Value`'s
        // tag today. Should a compiler stop doing so, statements grow (a performance
        // matter, not a correctness one) and this says so.
        assert_eq!(std::mem::size_of::<Param>(), std::mem::size_of::<Value>());
    }
}
