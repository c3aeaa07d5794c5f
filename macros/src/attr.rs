//! Attribute keywords and their parsing.

use syn::spanned::Spanned;
use syn::{Attribute, Ident, LitStr};

pub(crate) const TABLE: &str = "table";
pub(crate) const NAME: &str = "name";
pub(crate) const OWNED: &str = "owned";
pub(crate) const GLOBAL: &str = "global";
pub(crate) const INDEX: &str = "index";
pub(crate) const INDEX_ACROSS_TENANTS: &str = "index_across_tenants";
pub(crate) const TENANT: &str = "tenant";
pub(crate) const PRIMARY_KEY: &str = "primary_key";
pub(crate) const UNIQUE: &str = "unique";

/// Collects errors so one derive reports every mistake at once.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }
    pub(crate) fn at(&mut self, span: impl Spanned, msg: impl std::fmt::Display) {
        self.push(syn::Error::new(span.span(), msg));
    }
    pub(crate) fn has_errors(&self) -> bool {
        self.0.is_some()
    }
    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// Ownership as declared in `#[table(...)]`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ownership {
    Owned,
    Global,
}

/// `#[table(name = "...", owned | global, index(a, b), ...)]`
#[derive(Default)]
pub(crate) struct TableAttr {
    pub(crate) name: Option<LitStr>,
    pub(crate) ownership: Vec<(Ownership, Ident)>,
    pub(crate) indexes: Vec<Vec<Ident>>,
    /// `index_across_tenants(a, b)`: keyword and columns.
    pub(crate) cross_indexes: Vec<(Ident, Vec<Ident>)>,
    pub(crate) seen: bool,
}

pub(crate) fn table_attr(attrs: &[Attribute], errors: &mut Errors) -> TableAttr {
    let mut out = TableAttr::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident(TABLE)) {
        out.seen = true;
        let parsed = attr.parse_nested_meta(|meta| {
            let path = &meta.path;
            if path.is_ident(NAME) {
                let name: LitStr = meta.value()?.parse()?;
                if out.name.is_some() {
                    errors.at(&name, format!("`{NAME}` is given twice: keep one"));
                } else {
                    out.name = Some(name);
                }
            } else if path.is_ident(OWNED) {
                out.ownership.push((Ownership::Owned, path.require_ident()?.clone()));
            } else if path.is_ident(GLOBAL) {
                out.ownership.push((Ownership::Global, path.require_ident()?.clone()));
            } else if path.is_ident(INDEX) || path.is_ident(INDEX_ACROSS_TENANTS) {
                let mut cols = Vec::new();
                meta.parse_nested_meta(|col| {
                    cols.push(col.path.require_ident()?.clone());
                    Ok(())
                })?;
                if path.is_ident(INDEX) {
                    if out.indexes.contains(&cols) {
                        errors.at(path, "the same `index(...)` is declared twice: keep one");
                    }
                    out.indexes.push(cols);
                } else {
                    out.cross_indexes.push((path.require_ident()?.clone(), cols));
                }
            } else {
                return Err(meta.error(format!(
                    "unknown table option; expected `{NAME} = \"...\"`, `{OWNED}`, `{GLOBAL}`, `{INDEX}(column, ...)` or `{INDEX_ACROSS_TENANTS}(column, ...)`"
                )));
            }
            Ok(())
        });
        if let Err(e) = parsed {
            errors.push(e);
        }
    }
    out
}

/// Field attributes.
#[derive(Default)]
pub(crate) struct FieldAttr {
    pub(crate) tenant: Option<Ident>,
    pub(crate) primary_key: Option<Ident>,
    /// `Some(global)` for `#[unique]` / `#[unique(global)]`.
    pub(crate) unique: Option<bool>,
    pub(crate) index: bool,
}

pub(crate) fn field_attr(attrs: &[Attribute], errors: &mut Errors) -> FieldAttr {
    let mut out = FieldAttr::default();
    for attr in attrs {
        let path = attr.path();
        let is_flag = path.is_ident(TENANT) || path.is_ident(PRIMARY_KEY) || path.is_ident(INDEX);
        if is_flag {
            if let Err(e) = attr.meta.require_path_only() {
                errors.push(e);
                continue;
            }
            let Some(ident) = path.get_ident().cloned() else { continue };
            let repeated = if path.is_ident(TENANT) {
                out.tenant.replace(ident.clone()).is_some()
            } else if path.is_ident(PRIMARY_KEY) {
                out.primary_key.replace(ident.clone()).is_some()
            } else {
                std::mem::replace(&mut out.index, true)
            };
            if repeated {
                errors.at(attr, format!("`#[{ident}]` appears twice on the field: keep one"));
            }
        } else if path.is_ident(UNIQUE) {
            let mut global = false;
            if !matches!(attr.meta, syn::Meta::Path(_)) {
                let parsed = attr.parse_nested_meta(|meta| {
                    if meta.path.is_ident(GLOBAL) {
                        global = true;
                        Ok(())
                    } else {
                        Err(meta.error(format!("expected `#[{UNIQUE}]` or `#[{UNIQUE}({GLOBAL})]`")))
                    }
                });
                if let Err(e) = parsed {
                    errors.push(e);
                }
            }
            if out.unique.replace(global).is_some() {
                errors.at(attr, format!("`#[{UNIQUE}]` appears twice on the field: keep one (`#[{UNIQUE}({GLOBAL})]` for a key across tenants)"));
            }
        }
    }
    out
}
