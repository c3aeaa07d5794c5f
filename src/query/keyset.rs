//! Keyset (cursor) pagination: "the next 20 after this row", by the values of an order
//! that is unique, instead of an offset that rescans and shifts under writes.

use std::marker::PhantomData;

use crate::error::{Error, Result};
use crate::query::expr::OrderBy;
use crate::query::select::Select;
use crate::query::shape::{CmpOp, ColRef, Dialect, Node, Shape, Slot};
use crate::query::source::Source;
use crate::value::{Param, Value};

/// The order of a keyset: a tuple of one to four ordering terms of the statement's first
/// (`FROM`) table, such as `(Project::created_at().desc(), Project::id().desc())`. The
/// columns must not be nullable, and together they must be unique: they include the
/// table's primary key or one of its per-tenant `#[unique]` keys.
pub trait KeyOrder<S>: crate::query::sealed::KeyOrder<S> {
    #[doc(hidden)]
    fn __terms(&self) -> Terms;
}

/// A keyset's ordering terms, for the crate's own use.
#[doc(hidden)]
pub struct Terms(pub(crate) Vec<(ColRef, bool)>);

macro_rules! key_orders {
    ($(($($n:tt),+))*) => {$(
        impl<S> crate::query::sealed::KeyOrder<S> for ($(key_orders!(@ty $n, S),)+) {}
        impl<S> KeyOrder<S> for ($(key_orders!(@ty $n, S),)+) {
            fn __terms(&self) -> Terms {
                Terms(vec![$((self.$n.col, self.$n.desc)),+])
            }
        }
    )*};
    (@ty $n:tt, $s:ident) => { OrderBy<$s> };
}

key_orders! {
    (0)
    (0, 1)
    (0, 1, 2)
    (0, 1, 2, 3)
}

/// A query paged by a keyset. [`first`](Keyset::first) is the first page; a page's last
/// row gives the [`cursor`](Keyset::cursor) that [`after`](Keyset::after) continues from.
///
/// ```
/// # use tenantry::{SqliteDatabase, Table, TenantId};
/// #[derive(Table, Debug)]
/// #[table(name = "keyset_doc", owned)]
/// struct Post { #[tenant] user_id: TenantId, #[primary_key] id: i64, day: String }
/// # fn main() -> tenantry::Result<()> {
/// # let db = SqliteDatabase::open_in_memory()?; db.create_table::<Post>()?; let t = TenantId::generate();
/// for id in 0..5 {
///     db.execute(Post::insert(&t, NewPost { id, day: format!("2026-11-0{}", id % 2) }))?;
/// }
/// let pages = Post::select(&t).keyset((Post::day().desc(), Post::id().desc()))?;
/// let first = db.fetch_all(pages.first(2))?;
/// let cursor = pages.cursor(first.last().unwrap());
/// // The cursor goes to the client as text and comes back with the next request.
/// let cursor = pages.parse_cursor(&cursor.to_string())?;
/// let second = db.fetch_all(pages.after(&cursor, 2)?)?;
/// assert_eq!(first.iter().chain(&second).map(|p| p.id).collect::<Vec<_>>(), [3, 1, 4, 2]);
/// # Ok(()) }
/// ```
pub struct Keyset<S> {
    select: Select<S>,
    terms: Vec<(ColRef, bool)>,
    /// What a cursor is bound to: the statement's shape and the keyset, and its tenant.
    binding: u64,
}

impl<S> std::fmt::Debug for Keyset<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyset").field("terms", &self.terms).finish_non_exhaustive()
    }
}

/// Where a page starts: the keyset's values of the last row of the page before. Typed by
/// the query's tables (a cursor of one query does not compile with another's), and, as
/// text, bound to the tenant and the statement it came from. Its values are not secret
/// or signed: a client that alters them moves its page within the tenant's own rows,
/// never outside them (every page carries the tenant predicate).
pub struct Cursor<S> {
    values: Vec<Value>,
    /// The binding of the keyset that made or read it.
    binding: u64,
    _s: PhantomData<fn() -> S>,
}

impl<S> std::fmt::Debug for Cursor<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Cursor").field(&encode_cursor(self.binding, &self.values)).finish()
    }
}

/// The opaque text to hand to the client.
impl<S> std::fmt::Display for Cursor<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&encode_cursor(self.binding, &self.values))
    }
}

impl<S: Source> Select<S> {
    /// Pages this query by a keyset (see [`Keyset`]). Fails with
    /// [`Error::InvalidKeyset`] when the order is not unique, names a nullable column or a
    /// column of another table than the first, or the query has joins (a row of the
    /// first table may repeat in it).
    pub fn keyset<K: KeyOrder<S>>(self, order: K) -> Result<Keyset<S>> {
        let terms = order.__terms().0;
        let from = self.p.shape.from;
        let invalid = |why| Err(Error::InvalidKeyset { table: from.0.name, why });
        if terms.iter().any(|(c, _)| c.table != from) {
            return invalid("the keyset names a column of another table than the first");
        }
        if !self.p.shape.joins.is_empty() {
            // A row of the first table may come back once per matching joined row, so its
            // key is not unique in the result: paging by it would skip rows.
            return invalid("the keyset's query has joins");
        }
        let info = from.0;
        let column = |c: &ColRef| info.columns.get(usize::from(c.index));
        if terms.iter().any(|(c, _)| column(c).is_none_or(|col| col.nullable)) {
            return invalid("the keyset names a nullable column");
        }
        let covers = |cols: &[usize]| cols.iter().all(|i| terms.iter().any(|(c, _)| usize::from(c.index) == *i));
        if !covers(&[info.primary_key]) && !info.unique.iter().any(|u| !u.global && covers(u.columns)) {
            return invalid("the keyset does not include the primary key or a unique key");
        }
        if !self.p.shape.tail().order.is_empty() || self.p.shape.limit.is_some() || self.p.shape.tail().agg.is_some() {
            return invalid("the keyset's query has its own order, limit or aggregate");
        }
        let rendered = self.p.shape.rendered_in(Dialect::Sqlite)?;
        let binding = binding(&rendered.sql, &terms, &self.p.scope.first_param());
        Ok(Keyset { select: self, terms, binding })
    }
}

/// What a cursor is bound to: a 64-bit FNV-1a digest of the statement's SQL, the keyset
/// and the tenant. Not a secret and not a signature (a cursor only positions a page within
/// its tenant's rows): a check that it came from this query.
fn binding(sql: &str, terms: &[(ColRef, bool)], tenant: &Value) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(sql.as_bytes());
    for (c, desc) in terms {
        eat(c.table.0.columns[usize::from(c.index)].name.as_bytes());
        eat(&[u8::from(*desc), 0]);
    }
    if let Value::Uuid(t) = tenant {
        eat(t.as_bytes());
    }
    h
}

impl<S: Source> Keyset<S> {
    fn ordered(&self, size: u64) -> Select<S> {
        let mut select = self.select.clone();
        select.p.shape.set_order(&self.terms);
        select.limit(size)
    }

    /// The first page: at most `size` rows, in the keyset's order.
    pub fn first(&self, size: u64) -> Select<S> {
        self.ordered(size)
    }

    /// The page after `cursor`: at most `size` rows that come after it in the keyset's
    /// order (a cursor of another keyset is [`Error::InvalidCursor`]): `(a, b) < (x, y)` (or `>`) when every term has one direction, else written
    /// out term by term, each with its own direction.
    pub fn after(&self, cursor: &Cursor<S>, size: u64) -> Result<Select<S>> {
        // A cursor of another keyset over the same tables has the same type.
        if cursor.binding != self.binding || cursor.values.len() != self.terms.len() {
            return Err(Error::InvalidCursor);
        }
        let mut select = self.select.clone();
        // The cursor's values in consecutive slots.
        let first = select.p.params.len() as Slot;
        select.p.params.extend(cursor.values.iter().cloned().map(Param::from));
        let slot = |k: usize| first + k as Slot;
        // One direction throughout: a row-value comparison, which the planners turn into
        // one index range. Mixed directions: written out term by term.
        if self.terms.iter().all(|(_, desc)| *desc == self.terms[0].1) {
            let op = if self.terms[0].1 { CmpOp::Lt } else { CmpOp::Gt };
            let cols = self.terms.iter().map(|(c, _)| *c).collect();
            let after = Node::RowCmp { cols, op, first };
            select.p.shape.and_where(after);
            select.p.shape.set_order(&self.terms);
            return Ok(select.limit(size));
        }
        let mut any = Vec::new();
        for (k, (col, desc)) in self.terms.iter().enumerate() {
            let mut all: Vec<Node> = (0..k).map(|j| Node::Cmp(self.terms[j].0, CmpOp::Eq, slot(j))).collect();
            all.push(Node::Cmp(*col, if *desc { CmpOp::Lt } else { CmpOp::Gt }, slot(k)));
            any.push(if all.len() == 1 { all.remove(0) } else { Node::And(all) });
        }
        let after = if any.len() == 1 { any.remove(0) } else { Node::Or(any) };
        select.p.shape.and_where(after);
        select.p.shape.set_order(&self.terms);
        Ok(select.limit(size))
    }

    /// The cursor after `last`, a row of a page of this keyset.
    pub fn cursor(&self, last: &S::Row) -> Cursor<S> {
        let values: Vec<Value> = self.terms.iter().map(|(c, _)| S::__first_value(last, usize::from(c.index))).collect();
        Cursor { values, binding: self.binding, _s: PhantomData }
    }

    /// Reads a cursor that came back from a client. One made by another keyset, another
    /// statement, or for another tenant, or not made by tenantry at all, is
    /// [`Error::InvalidCursor`].
    pub fn parse_cursor(&self, text: &str) -> Result<Cursor<S>> {
        let bad = || Error::InvalidCursor;
        if text.len() > 16 * 1024 {
            return Err(bad());
        }
        let bytes = crate::hex::decode(text).ok_or_else(bad)?;
        let (binding, values) = decode_cursor(&bytes, self.terms.len()).ok_or_else(bad)?;
        if binding != self.binding || values.len() != self.terms.len() {
            return Err(bad());
        }
        Ok(Cursor { values, binding, _s: PhantomData })
    }
}

/// The first byte of a cursor's bytes: the layout below.
const CURSOR_FORMAT: u8 = 1;

/// A cursor as text: lower-case hex of its bytes, which are the format byte, the binding
/// (8 bytes, big-endian), then each value as a tag byte and its bytes: `0` null; `1` an
/// integer and `2` a float's bits (8 bytes, big-endian); `3` text and `4` a blob (a 4-byte
/// big-endian length, then the bytes); `5` a UUID (16 bytes). Exact for every value (NaN
/// and -0.0 included), and read without parsing text.
fn encode_cursor(binding: u64, values: &[Value]) -> String {
    let mut bytes = Vec::with_capacity(16 + values.len() * 24);
    bytes.push(CURSOR_FORMAT);
    bytes.extend_from_slice(&binding.to_be_bytes());
    let sized = |bytes: &mut Vec<u8>, tag, body: &[u8]| {
        bytes.push(tag);
        // A value longer than 4 GiB is not a key of a page; its length saturates, and the
        // cursor is refused when read back.
        bytes.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_be_bytes());
        bytes.extend_from_slice(body);
    };
    for value in values {
        match value {
            Value::Null => bytes.push(0),
            Value::Integer(i) => {
                bytes.push(1);
                bytes.extend_from_slice(&i.to_be_bytes());
            }
            Value::Real(r) => {
                bytes.push(2);
                bytes.extend_from_slice(&r.to_bits().to_be_bytes());
            }
            Value::Text(t) => sized(&mut bytes, 3, t.as_bytes()),
            Value::Blob(b) => sized(&mut bytes, 4, b),
            Value::Uuid(u) => {
                bytes.push(5);
                bytes.extend_from_slice(u.as_bytes());
            }
        }
    }
    crate::hex::encode(&bytes)
}

/// The binding and the values of a cursor's bytes (at most `max` values), or `None` for
/// anything [`encode_cursor`] does not write.
fn decode_cursor(mut bytes: &[u8], max: usize) -> Option<(u64, Vec<Value>)> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, rest) = bytes.split_at_checked(n)?;
        *bytes = rest;
        Some(head)
    }
    fn array<const N: usize>(bytes: &mut &[u8]) -> Option<[u8; N]> {
        take(bytes, N)?.try_into().ok()
    }
    fn sized<'a>(bytes: &mut &'a [u8]) -> Option<&'a [u8]> {
        let len = u32::from_be_bytes(array(bytes)?);
        take(bytes, usize::try_from(len).ok()?)
    }
    if array::<1>(&mut bytes)? != [CURSOR_FORMAT] {
        return None;
    }
    let binding = u64::from_be_bytes(array(&mut bytes)?);
    let mut values = Vec::with_capacity(max);
    while !bytes.is_empty() {
        if values.len() == max {
            return None;
        }
        let [tag] = array(&mut bytes)?;
        values.push(match tag {
            0 => Value::Null,
            1 => Value::Integer(i64::from_be_bytes(array(&mut bytes)?)),
            2 => Value::Real(f64::from_bits(u64::from_be_bytes(array(&mut bytes)?))),
            3 => Value::Text(std::str::from_utf8(sized(&mut bytes)?).ok()?.to_owned()),
            4 => Value::Blob(sized(&mut bytes)?.to_vec()),
            5 => Value::Uuid(uuid::Uuid::from_bytes(array(&mut bytes)?)),
            _ => return None,
        });
    }
    Some((binding, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_value_comes_back_from_a_cursor_exactly() {
        let values = [
            Value::Null,
            Value::Integer(i64::MIN),
            Value::Real(f64::NAN),
            Value::Real(-0.0),
            Value::Text("quote \" backslash \\ é \u{1}".into()),
            Value::Text(String::new()),
            Value::Blob(vec![0, 255, 16]),
            Value::Uuid(uuid::Uuid::from_u128(0x1234)),
        ];
        let text = encode_cursor(0xfeed, &values);
        let bytes = crate::hex::decode(&text).unwrap();
        let (binding, back) = decode_cursor(&bytes, values.len()).unwrap();
        assert_eq!(binding, 0xfeed);
        assert_eq!(back.len(), values.len());
        for (a, b) in values.iter().zip(&back) {
            match (a, b) {
                (Value::Real(x), Value::Real(y)) => assert_eq!(x.to_bits(), y.to_bits()),
                _ => assert_eq!(a, b),
            }
        }
        // More values than the keyset has, or one cut short anywhere, is refused.
        assert!(decode_cursor(&bytes, values.len() - 1).is_none());
        for end in 0..bytes.len() {
            let cut = decode_cursor(&bytes[..end], values.len());
            // Cutting exactly between two values leaves a shorter, well-formed cursor.
            assert!(cut.is_none_or(|(_, v)| v.len() < values.len()), "cut at {end}");
        }
        let refused = |bytes: &[u8]| decode_cursor(bytes, 4).is_none();
        assert!(refused(&[]));
        assert!(refused(&[2, 0, 0, 0, 0, 0, 0, 0, 0]), "another format");
        let head = [CURSOR_FORMAT, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(refused(&[&head[..], &[9]].concat()), "an unknown tag");
        assert!(refused(&[&head[..], &[3, 0, 0, 0, 2, 0xff, 0xfe]].concat()), "text that is not UTF-8");
        assert!(refused(&[&head[..], &[3, 0xff, 0xff, 0xff, 0xff, b'a']].concat()), "a length past the end");
    }
}
