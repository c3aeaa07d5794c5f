//! Implementation detail of `tenantry`: the `#[derive(Table)]` macro. Use it through the
//! `tenantry` crate, which re-exports it; the generated code calls `::tenantry::__private`.

mod ast;
mod attr;
mod expand;
mod valid;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Declares a tenantry table. See `tenantry::Table`.
#[proc_macro_derive(Table, attributes(table, tenant, primary_key, unique, index))]
pub fn derive_table(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).unwrap_or_else(syn::Error::into_compile_error).into()
}
