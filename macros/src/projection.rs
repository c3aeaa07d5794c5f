//! `#[derive(Projection)]`: a struct a projection's rows decode into, field by field in
//! order, with the field types the projected columns read as.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields};

pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let ident = &input.ident;
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(&input.generics, "a projection struct cannot be generic"));
    }
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(ident, "#[derive(Projection)] needs a struct with named fields"));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new_spanned(ident, "#[derive(Projection)] needs a struct with named fields"));
    };
    if fields.named.is_empty() || fields.named.len() > 6 {
        return Err(syn::Error::new_spanned(ident, "a projection has one to six fields"));
    }
    let names: Vec<_> = fields.named.iter().map(|f| f.ident.clone()).collect();
    let types: Vec<_> = fields.named.iter().map(|f| f.ty.clone()).collect();
    let index = 0..names.len();
    Ok(quote! {
        #[automatically_derived]
        impl ::tenantry::__private::ValuesSeal for #ident {}
        #[automatically_derived]
        impl ::tenantry::Values for #ident {
            fn __decode<__R: ::tenantry::__private::RowSource + ?Sized>(
                row: &__R,
                table: &'static str,
            ) -> ::tenantry::Result<Self> {
                ::core::result::Result::Ok(#ident {
                    #(#names: ::tenantry::__private::decode_value::<#types, __R>(row, #index, table)?,)*
                })
            }
        }
        #[automatically_derived]
        impl ::tenantry::FromValues<(#(#types,)*)> for #ident {}
    })
}
