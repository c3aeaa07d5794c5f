//! Values in and out: binding a statement's value to a parameter of the type the server expects,
//! and converting a PostgreSQL row to SQLite's value model.

use bytes::BytesMut;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use crate::error::{Error, Result};
use crate::schema::RowSource;
use crate::value::{Param, ParamRef, Value};

/// A value bound to a PostgreSQL parameter, converted to the type the server expects.
pub(super) struct Bound<'a>(pub(super) &'a Param);

impl std::fmt::Debug for Bound<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bound")
    }
}

type BindResult = std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>>;

/// Text binds to a text type, or to `uuid` when it is one.
fn bind_text(s: &str, ty: &Type, out: &mut BytesMut) -> BindResult {
    if [Type::TEXT, Type::VARCHAR, Type::BPCHAR, Type::NAME].contains(ty) {
        s.to_sql(ty, out)
    } else if *ty == Type::UUID {
        uuid::Uuid::parse_str(s)?.to_sql(ty, out)
    } else {
        Err(format!("a text value cannot be bound to a parameter of type {ty}").into())
    }
}

impl ToSql for Bound<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> BindResult {
        // Each value binds only to a type that holds it exactly; anything else is an error,
        // never bytes reinterpreted as another type.
        let value = match self.0.get() {
            ParamRef::Value(value) => value,
            ParamRef::Text(text) => return bind_text(std::str::from_utf8(text)?, ty, out),
        };
        match (value, ty) {
            (Value::Null, _) => Ok(IsNull::Yes),
            (Value::Integer(i), t) if *t == Type::INT8 => i.to_sql(ty, out),
            (Value::Integer(i), t) if *t == Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
            (Value::Integer(i), t) if *t == Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
            (Value::Integer(i @ (0 | 1)), t) if *t == Type::BOOL => (*i == 1).to_sql(ty, out),
            (Value::Real(r), t) if *t == Type::FLOAT8 => r.to_sql(ty, out),
            (Value::Text(s), _) => bind_text(s, ty, out),
            (Value::Blob(b), t) if *t == Type::BYTEA => b.as_slice().to_sql(ty, out),
            (Value::Uuid(u), t) if *t == Type::UUID => u.to_sql(ty, out),
            (Value::Uuid(u), t) if [Type::TEXT, Type::VARCHAR].contains(t) => {
                u.hyphenated().to_string().to_sql(ty, out)
            }
            _ => Err(format!("a {} value cannot be bound to a parameter of type {ty}", kind_name(value)).into()),
        }
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    to_sql_checked!();
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Integer(_) => "integer",
        Value::Real(_) => "real",
        Value::Text(_) => "text",
        Value::Blob(_) => "blob",
        Value::Uuid(_) => "uuid",
    }
}

/// A PostgreSQL row in SQLite's value model, so the derive's decoding serves both engines.
pub(super) struct PgRow(Vec<rusqlite::types::Value>);

impl RowSource for PgRow {
    fn value(&self, index: usize) -> rusqlite::Result<rusqlite::types::ValueRef<'_>> {
        self.0.get(index).map(rusqlite::types::ValueRef::from).ok_or(rusqlite::Error::InvalidColumnIndex(index))
    }
}

pub(super) fn convert(row: &tokio_postgres::Row) -> Result<PgRow> {
    use rusqlite::types::Value as V;
    let mut out = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let ty = col.type_();
        let v = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i).map(|v| v.map_or(V::Null, V::Integer))
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i).map(|v| v.map_or(V::Null, |x| V::Integer(x.into())))
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i).map(|v| v.map_or(V::Null, |x| V::Integer(x.into())))
        } else if *ty == Type::FLOAT8 {
            row.try_get::<_, Option<f64>>(i).map(|v| v.map_or(V::Null, V::Real))
        } else if *ty == Type::BYTEA {
            row.try_get::<_, Option<Vec<u8>>>(i).map(|v| v.map_or(V::Null, V::Blob))
        } else if *ty == Type::UUID {
            row.try_get::<_, Option<uuid::Uuid>>(i).map(|v| v.map_or(V::Null, |u| V::Text(u.hyphenated().to_string())))
        } else {
            row.try_get::<_, Option<String>>(i).map(|v| v.map_or(V::Null, V::Text))
        };
        out.push(v.map_err(Error::Postgres)?);
    }
    Ok(PgRow(out))
}
