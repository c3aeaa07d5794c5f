//! Implementation detail of `tenantry`: the `#[derive(Table)]`, `#[derive(ObjectKey)]` and
//! `#[derive(Projection)]` macros. Use them through the `tenantry` crate, which re-exports
//! them; the generated code calls `::tenantry::__private`.

mod ast;
mod attr;
mod expand;
mod key;
mod projection;
mod valid;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Declares a tenantry table. See `tenantry::Table`.
#[proc_macro_derive(Table, attributes(table, tenant, primary_key, unique, index))]
pub fn derive_table(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Declares an object key type with a template checked at compile time. See
/// `tenantry::ObjectKey`.
#[proc_macro_derive(ObjectKey, attributes(key))]
pub fn derive_object_key(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    key::derive(&input).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// A struct that a projection's rows decode into. See `tenantry::Projection`.
#[proc_macro_derive(Projection)]
pub fn derive_projection(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    projection::derive(&input).unwrap_or_else(syn::Error::into_compile_error).into()
}
