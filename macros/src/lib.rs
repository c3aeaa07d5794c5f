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

/// Snapshots of each derive's expansion, formatted: what a declaration generates, read in
/// review whenever it changes (`cargo insta review`).
#[cfg(test)]
mod expansion {
    use syn::DeriveInput;

    fn expand(derive: fn(&DeriveInput) -> syn::Result<proc_macro2::TokenStream>, input: &str) -> String {
        let input: DeriveInput = syn::parse_str(input).expect("a struct declaration");
        let tokens = derive(&input).unwrap_or_else(syn::Error::into_compile_error);
        let file: syn::File = syn::parse2(tokens).expect("the expansion parses as items");
        prettyplease::unparse(&file)
    }

    #[test]
    fn owned_table() {
        insta::assert_snapshot!(expand(
            crate::expand::derive,
            r#"
            #[table(name = "projects", owned, index(status, created_at), index_across_tenants(status))]
            pub struct Project {
                #[tenant]
                pub user_id: TenantId,
                #[primary_key]
                pub id: Uuid,
                #[unique]
                pub slug: String,
                #[unique(global)]
                pub code: String,
                pub status: String,
                #[index]
                pub created_at: String,
                pub archived_at: Option<String>,
            }
            "#,
        ));
    }

    #[test]
    fn global_table() {
        insta::assert_snapshot!(expand(
            crate::expand::derive,
            r#"
            #[table(name = "plans", global)]
            pub struct Plan {
                #[primary_key]
                pub name: String,
                pub price: i64,
            }
            "#,
        ));
    }

    #[test]
    fn table_with_mistakes_reports_them_beside_a_stand_in_impl() {
        insta::assert_snapshot!(expand(
            crate::expand::derive,
            r#"
            #[table(name = "bad", owned)]
            pub struct Bad {
                pub id: i64,
            }
            "#,
        ));
    }

    #[test]
    fn object_key() {
        insta::assert_snapshot!(expand(
            crate::key::derive,
            r#"
            #[key("{tenant}/thumbnails/{job_id}/{name}")]
            pub struct Thumbnail {
                pub job_id: Uuid,
                pub name: Segment,
            }
            "#,
        ));
    }

    #[test]
    fn object_key_with_a_mistake_reports_it_beside_a_stand_in_impl() {
        insta::assert_snapshot!(expand(
            crate::key::derive,
            r#"
            #[key("{tenant}/input/{job}/video.mp4")]
            pub struct InputVideo {
                pub job_id: Uuid,
            }
            "#,
        ));
    }

    #[test]
    fn projection() {
        insta::assert_snapshot!(expand(
            crate::projection::derive,
            r#"
            pub struct Listed {
                pub id: i64,
                pub name: Option<String>,
            }
            "#,
        ));
    }
}
