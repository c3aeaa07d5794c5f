//! The derive's model of a table declaration.

use syn::{Data, DeriveInput, Fields, Ident, LitStr, Type, Visibility};

use crate::attr::{self, Errors, FieldAttr, Ownership, TableAttr};

pub(crate) struct Field<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) ty: &'a Type,
    pub(crate) attr: FieldAttr,
}

pub(crate) struct Table<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) vis: &'a Visibility,
    pub(crate) input: &'a DeriveInput,
    pub(crate) attr: TableAttr,
    pub(crate) fields: Vec<Field<'a>>,
}

impl<'a> Table<'a> {
    pub(crate) fn from_input(input: &'a DeriveInput, errors: &mut Errors) -> syn::Result<Self> {
        let Data::Struct(data) = &input.data else {
            return Err(syn::Error::new_spanned(
                &input.ident,
                "`Table` can be derived only for a struct with named fields",
            ));
        };
        let Fields::Named(named) = &data.fields else {
            return Err(syn::Error::new_spanned(
                &input.ident,
                "`Table` can be derived only for a struct with named fields",
            ));
        };
        let fields = named
            .named
            .iter()
            .map(|f| Field {
                ident: f.ident.as_ref().expect("named fields have identifiers"),
                ty: &f.ty,
                attr: attr::field_attr(&f.attrs, errors),
            })
            .collect();
        Ok(Table { ident: &input.ident, vis: &input.vis, input, attr: attr::table_attr(&input.attrs, errors), fields })
    }

    pub(crate) fn ownership(&self) -> Option<Ownership> {
        match self.attr.ownership.as_slice() {
            [(o, _)] => Some(*o),
            _ => None,
        }
    }

    pub(crate) fn name(&self) -> Option<&LitStr> {
        self.attr.name.as_ref()
    }

    pub(crate) fn tenant(&self) -> Option<usize> {
        self.fields.iter().position(|f| f.attr.tenant.is_some())
    }

    pub(crate) fn primary_key(&self) -> Option<usize> {
        self.fields.iter().position(|f| f.attr.primary_key.is_some())
    }

    pub(crate) fn position(&self, ident: &Ident) -> Option<usize> {
        self.fields.iter().position(|f| f.ident == ident)
    }

    pub(crate) fn new_ident(&self) -> Ident {
        quote::format_ident!("New{}", self.ident)
    }
}
