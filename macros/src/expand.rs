//! Tokens generated for a table declaration.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::DeriveInput;
use syn::spanned::Spanned;

use crate::ast::Table;
use crate::attr::{Errors, Ownership};
use crate::valid;

pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let table = Table::from_input(input, &mut errors)?;
    valid::check(&table, &mut errors);
    match errors.finish() {
        Ok(()) => Ok(expand(&table)),
        Err(e) => {
            let mut out = e.into_compile_error();
            out.extend(fallback(&table));
            Ok(out)
        }
    }
}

/// After an error, a `Table` impl that type-checks, so a mistake in the declaration
/// gives one error rather than one per use of the table.
fn fallback(table: &Table<'_>) -> TokenStream {
    let ident = table.ident;
    quote! {
        const _: () = {
            impl ::tenantry::__private::TableSeal for #ident {}
            static INFO: ::tenantry::__private::TableInfo =
                ::tenantry::__private::TableInfo::new("", &[], ::core::option::Option::None, 0, &[], &[]);
            impl ::tenantry::Table for #ident {
                const INFO: &'static ::tenantry::TableInfo = &INFO;
                type Key = ();
                type New = ();
                fn __decode<__R: ::tenantry::__private::RowSource + ?Sized>(_: &__R, _: usize, _: ::tenantry::__private::Reader<'_>) -> ::tenantry::Result<Self> {
                    ::core::unreachable!()
                }
                fn __push_new(_: (), _: &mut ::tenantry::__private::RowValues) {}
                fn __key(&self) -> ::tenantry::Value {
                    ::core::unreachable!()
                }
                fn __value(&self, _: usize) -> ::tenantry::Value {
                    ::core::unreachable!()
                }
                fn __tenant(&self) -> ::core::option::Option<::tenantry::TenantId> {
                    ::core::unreachable!()
                }
            }
        };
    }
}

fn expand(table: &Table<'_>) -> TokenStream {
    let ident = table.ident;
    let vis = table.vis;
    let new_ident = table.new_ident();
    let name = table.name().expect("checked");
    let owned = table.ownership() == Some(Ownership::Owned);
    let tenant = table.tenant();
    let pk = table.primary_key().expect("checked");
    let pk_field = &table.fields[pk];
    let pk_ty = pk_field.ty;
    let pk_ident = pk_field.ident;
    let tenant_expr = match tenant {
        Some(i) => {
            let (f, ty) = (table.fields[i].ident, table.fields[i].ty);
            let to = quote_spanned!(ty.span()=> <#ty as ::tenantry::__private::TenantField>::to_tenant);
            quote!(::core::option::Option::Some(#to(&self.#f)))
        }
        None => quote!(::core::option::Option::None),
    };

    let columns = table.fields.iter().map(|f| {
        let col = f.ident.to_string();
        let col = col.trim_start_matches("r#");
        let ty = f.ty;
        if f.attr.tenant.is_some() {
            quote!(::tenantry::__private::ColumnInfo::new(#col, ::tenantry::SqlKind::Uuid, false))
        } else {
            quote!(::tenantry::__private::ColumnInfo::of::<#ty>(#col))
        }
    });
    let tenant_tokens = match tenant {
        Some(i) => quote!(::core::option::Option::Some(#i)),
        None => quote!(::core::option::Option::None),
    };
    let uniques = table.fields.iter().enumerate().filter_map(|(i, f)| {
        f.attr.unique.map(|global| quote!(::tenantry::__private::UniqueInfo::new(&[#i], #global)))
    });
    let mut indexes: Vec<Vec<usize>> =
        table.fields.iter().enumerate().filter(|(_, f)| f.attr.index).map(|(i, _)| vec![i]).collect();
    indexes.extend(table.attr.indexes.iter().map(|cols| cols.iter().filter_map(|c| table.position(c)).collect()));
    let indexes = indexes.iter().map(|cols| quote!(&[#(#cols),*]));
    let cross: Vec<Vec<usize>> = table
        .attr
        .cross_indexes
        .iter()
        .map(|(_, cols)| cols.iter().filter_map(|c| table.position(c)).collect())
        .collect();
    let cross = (!cross.is_empty()).then(|| {
        let cross = cross.iter().map(|cols| quote!(&[#(#cols),*]));
        quote!(.with_indexes_across_tenants(&[#(#cross),*]))
    });

    let decode_fields = table.fields.iter().enumerate().map(|(i, f)| {
        let fi = f.ident;
        let ty = f.ty;
        if f.attr.tenant.is_some() {
            // Spanned on the field's type: a tenant field of another type is reported there.
            let from = quote_spanned!(ty.span()=> <#ty as ::tenantry::__private::TenantField>::from_tenant);
            quote!(#fi: #from(::tenantry::__private::decode_tenant(row, offset + #i, Self::INFO, reader)?))
        } else {
            quote!(#fi: ::tenantry::__private::decode::<#ty, _>(row, offset + #i, Self::INFO, #i)?)
        }
    });

    let data_fields: Vec<_> = table.fields.iter().filter(|f| f.attr.tenant.is_none()).collect();
    let new_field_defs = data_fields.iter().map(|f| {
        let fi = f.ident;
        let ty = f.ty;
        let doc = format!("Value of `{}.{}`.", name.value(), fi.to_string().trim_start_matches("r#"));
        quote!(#[doc = #doc] #vis #fi: #ty)
    });
    let value_arms = table.fields.iter().enumerate().map(|(i, f)| {
        let fi = f.ident;
        let ty = f.ty;
        if f.attr.tenant.is_some() {
            quote!(#i => ::tenantry::Value::Uuid(<#ty as ::tenantry::__private::TenantField>::to_tenant(&self.#fi).as_uuid()))
        } else {
            quote!(#i => ::tenantry::ColumnValue::to_value(&self.#fi))
        }
    });

    let push_fields = data_fields.iter().map(|f| {
        let fi = f.ident;
        quote!(::tenantry::__private::push(new.#fi, out);)
    });

    let accessors = table.fields.iter().enumerate().map(|(i, f)| {
        let fi = f.ident;
        let ty = f.ty;
        let col = fi.to_string();
        let col = col.trim_start_matches("r#");
        if f.attr.tenant.is_some() {
            let doc =
                format!("The tenant column `{}.{col}`: set by tenantry on insert, never assignable.", name.value());
            quote! {
                #[doc = #doc]
                #vis const fn #fi() -> ::tenantry::TenantColumn<#ident> {
                    ::tenantry::TenantColumn::__new()
                }
            }
        } else {
            let doc = format!("The column `{}.{col}`.", name.value());
            let index = i as u16;
            quote! {
                #[doc = #doc]
                #vis const fn #fi() -> ::tenantry::Column<#ident, #ty> {
                    ::tenantry::Column::__new(#index)
                }
            }
        }
    });

    let one = quote!(::tenantry::Select<::tenantry::source::Tables<#ident, ::tenantry::source::End>>);
    let constructors = if owned {
        quote! {
            /// `SELECT` of this tenant's rows.
            #vis fn select(tenant: &::tenantry::TenantId) -> #one {
                ::tenantry::__private::select::<#ident>(tenant)
            }
            /// This tenant's row with this primary key (another tenant's row looks missing).
            #vis fn get(tenant: &::tenantry::TenantId, key: impl ::tenantry::IntoSql<#pk_ty>) -> ::tenantry::Get<#ident> {
                ::tenantry::__private::get::<#ident, _>(tenant, key)
            }
            /// `INSERT` of one row for this tenant; the tenant column comes from the token.
            #vis fn insert(tenant: &::tenantry::TenantId, row: #new_ident) -> ::tenantry::Insert<#ident> {
                ::tenantry::__private::insert::<#ident>(tenant, row)
            }
            /// `INSERT` of many rows for this tenant, chunked, all or nothing.
            #vis fn insert_many(
                tenant: &::tenantry::TenantId,
                rows: impl ::core::iter::IntoIterator<Item = #new_ident>,
            ) -> ::tenantry::Insert<#ident> {
                ::tenantry::__private::insert_many::<#ident>(tenant, rows)
            }
            /// `INSERT ... ON CONFLICT (tenant, primary key) DO UPDATE`: insert or replace this
            /// tenant's row. The conflict key includes the tenant, so it never touches
            /// another tenant's row.
            #vis fn upsert(tenant: &::tenantry::TenantId, row: #new_ident) -> ::tenantry::Insert<#ident> {
                ::tenantry::__private::upsert::<#ident>(tenant, row)
            }
            /// `UPDATE` of this tenant's rows; add `.set(column, value)`.
            #vis fn update(tenant: &::tenantry::TenantId) -> ::tenantry::UpdateBuilder<#ident> {
                ::tenantry::__private::update::<#ident>(tenant)
            }
            /// `DELETE` of this tenant's rows; add `.filter(...)` or `.all_rows()`.
            #vis fn delete(tenant: &::tenantry::TenantId) -> ::tenantry::DeleteBuilder<#ident> {
                ::tenantry::__private::delete::<#ident>(tenant)
            }
            /// `DELETE` of this tenant's row with this primary key.
            #vis fn delete_by_key(tenant: &::tenantry::TenantId, key: impl ::tenantry::IntoSql<#pk_ty>) -> ::tenantry::Delete<#ident> {
                ::tenantry::__private::delete_by_key::<#ident, _>(tenant, key)
            }
            #[doc(hidden)]
            #vis fn admin_insert<__A0, __A1>(_admin: __A0, _rows: __A1) -> ::tenantry::__private::Unavailable
            where
                __A0: ::tenantry::__private::OwnedRowsNeedATenant<#ident>,
            {
                ::core::unreachable!()
            }
            /// A subquery over this table, for `IN (...)` and `EXISTS`; it takes the enclosing
            /// statement's tenant.
            #vis fn subquery<O>() -> ::tenantry::Subquery<#ident, O> {
                ::tenantry::__private::subquery::<#ident, O>()
            }
        }
    } else {
        let stand_ins = [
            ("select", 1),
            ("get", 2),
            ("insert", 2),
            ("insert_many", 2),
            ("upsert", 2),
            ("update", 1),
            ("delete", 1),
            ("delete_by_key", 2usize),
        ]
        .map(|(name, arity)| {
            let f = format_ident!("{}", name);
            let args: Vec<_> = (0..arity).map(|i| format_ident!("__A{}", i)).collect();
            let params: Vec<_> = (0..arity).map(|i| format_ident!("_a{}", i)).collect();
            quote! {
                #[doc(hidden)]
                #vis fn #f<#(#args),*>(#(#params: #args),*) -> ::tenantry::__private::Unavailable
                where
                    __A0: ::tenantry::__private::GlobalTableHasNoTenant<#ident>,
                {
                    ::core::unreachable!()
                }
            }
        });
        quote! {
            #(#stand_ins)*
            #[doc(hidden)]
            #vis fn subquery<__O>() -> ::tenantry::__private::Unavailable
            where
                __O: ::tenantry::__private::GlobalTableHasNoTenant<#ident>,
            {
                ::core::unreachable!()
            }
            /// `INSERT` into this global table, audited.
            #vis fn admin_insert(
                admin: &::tenantry::Admin,
                rows: impl ::core::iter::IntoIterator<Item = #new_ident>,
            ) -> ::tenantry::Insert<#ident> {
                ::tenantry::__private::admin_insert::<#ident>(admin, rows)
            }
        }
    };
    let admin = quote! {
        /// `SELECT` across all tenants (or of a global table), audited.
        #vis fn admin_select(admin: &::tenantry::Admin) -> #one {
            ::tenantry::__private::admin_select::<#ident>(admin)
        }
        /// `UPDATE` across all tenants (or of a global table), audited.
        #vis fn admin_update(admin: &::tenantry::Admin) -> ::tenantry::UpdateBuilder<#ident> {
            ::tenantry::__private::admin_update::<#ident>(admin)
        }
        /// `DELETE` across all tenants (or from a global table), audited.
        #vis fn admin_delete(admin: &::tenantry::Admin) -> ::tenantry::DeleteBuilder<#ident> {
            ::tenantry::__private::admin_delete::<#ident>(admin)
        }
    };
    let (marker, seal) = if owned {
        (quote!(::tenantry::Owned), quote!(::tenantry::__private::OwnedSeal))
    } else {
        (quote!(::tenantry::Global), quote!(::tenantry::__private::GlobalSeal))
    };
    let new_doc = format!(
        "A new row of `{}` (every column but the tenant column, which tenantry sets from the `TenantId`).",
        name.value()
    );
    let info_ident = format_ident!("__TENANTRY_INFO_{}", ident);

    quote! {
        #[doc = #new_doc]
        #[derive(Debug, Clone, PartialEq)]
        #vis struct #new_ident {
            #(#new_field_defs,)*
        }

        const _: () = {
            #[allow(non_upper_case_globals)]
            static #info_ident: ::tenantry::__private::TableInfo = ::tenantry::__private::TableInfo::new(
                #name,
                &[#(#columns),*],
                #tenant_tokens,
                #pk,
                &[#(#uniques),*],
                &[#(#indexes),*],
            )#cross;

            ::tenantry::__private::inventory::submit! {
                ::tenantry::__private::Registered(&#info_ident)
            }

            impl ::tenantry::Table for #ident {
                const INFO: &'static ::tenantry::TableInfo = &#info_ident;
                type Key = #pk_ty;
                type New = #new_ident;
                fn __decode<__R: ::tenantry::__private::RowSource + ?Sized>(
                    row: &__R,
                    offset: usize,
                    reader: ::tenantry::__private::Reader<'_>,
                ) -> ::tenantry::Result<Self> {
                    ::core::result::Result::Ok(#ident { #(#decode_fields,)* })
                }
                fn __push_new(new: #new_ident, out: &mut ::tenantry::__private::RowValues) {
                    #(#push_fields)*
                }
                fn __key(&self) -> ::tenantry::Value {
                    ::tenantry::ColumnValue::to_value(&self.#pk_ident)
                }
                fn __value(&self, index: usize) -> ::tenantry::Value {
                    match index {
                        #(#value_arms,)*
                        _ => ::tenantry::Value::Null,
                    }
                }
                fn __tenant(&self) -> ::core::option::Option<::tenantry::TenantId> {
                    #tenant_expr
                }
            }

            impl ::tenantry::__private::TableSeal for #ident {}
            impl #seal for #ident {}
            impl #marker for #ident {}

            // A column named like its table (`handle` of `Handle`) is an accessor, not a
            // constructor.
            #[automatically_derived]
            #[allow(clippy::self_named_constructors)]
            impl #ident {
                #(#accessors)*
                #constructors
                #admin
            }
        };
    }
}
