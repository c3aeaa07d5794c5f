//! `#[derive(ObjectKey)]`: a key template checked at compile time.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields, Ident, LitStr};

use crate::attr::Errors;

const KEY: &str = "key";
const TENANT: &str = "{tenant}";

enum Part {
    Literal(String),
    Field(Ident),
}

pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let ident = &input.ident;
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(ident, "`ObjectKey` can be derived only for a struct"));
    };
    let fields: Vec<&Ident> = match &data.fields {
        Fields::Named(named) => named.named.iter().filter_map(|f| f.ident.as_ref()).collect(),
        Fields::Unit => Vec::new(),
        Fields::Unnamed(_) => {
            return Err(syn::Error::new_spanned(ident, "`ObjectKey` needs named fields, one per placeholder"));
        }
    };
    if !input.generics.params.is_empty() {
        errors.at(&input.generics, "an object key type cannot be generic");
    }
    let mut templates = input.attrs.iter().filter(|a| a.path().is_ident(KEY));
    let Some(attr) = templates.next() else {
        errors.at(
            ident,
            format!(
                "add the key template: `#[key(\"{TENANT}/...\")]`, e.g. `#[key(\"{TENANT}/input/{{job_id}}/video.mp4\")]`"
            ),
        );
        return Ok(with_fallback(input, errors));
    };
    if let Some(extra) = templates.next() {
        errors.at(extra, "one `#[key(...)]` per type");
    }
    let template: LitStr = match attr.parse_args() {
        Ok(template) => template,
        Err(e) => {
            errors.push(e);
            return Ok(with_fallback(input, errors));
        }
    };
    let parts = parse_template(&template, &fields, &mut errors);
    if errors.has_errors() {
        return Ok(with_fallback(input, errors));
    }

    let write = parts.iter().map(|p| match p {
        Part::Literal(l) => quote!(w.literal(#l);),
        Part::Field(f) => quote!(w.segment(&self.#f);),
    });
    let read = parts.iter().map(|p| match p {
        Part::Literal(l) => quote!(r.literal(#l)?;),
        Part::Field(f) => quote!(let #f = r.segment()?;),
    });
    // The literal segments before the first placeholder; for a template without any, all
    // but the last (the object's own name), so the key lies under its prefix.
    let leading = parts.iter().take_while(|p| matches!(p, Part::Literal(_))).count();
    let leading = if leading == parts.len() { leading.saturating_sub(1) } else { leading };
    let prefix = parts[..leading].iter().filter_map(|p| match p {
        Part::Literal(l) => Some(l.as_str()),
        Part::Field(_) => None,
    });
    let construct = if matches!(data.fields, Fields::Unit) { quote!(#ident) } else { quote!(#ident { #(#fields,)* }) };
    let limits = limits(&template, &parts);
    Ok(quote! {
        #limits
        #[automatically_derived]
        impl ::tenantry::ObjectKey for #ident {
            const TEMPLATE: &'static str = #template;
            const PREFIX: &'static [&'static str] = &[#(#prefix),*];
            fn __write(&self, w: &mut ::tenantry::__private::KeyWriter) {
                #(#write)*
            }
            fn __read(r: &mut ::tenantry::__private::KeyReader<'_>) -> ::tenantry::Result<Self> {
                #(#read)*
                ::core::result::Result::Ok(#construct)
            }
        }
    })
}

/// The errors, and an `ObjectKey` impl that type-checks: a mistake in the declaration gives
/// its own errors, not one more for each use of the key type. (The crate does not compile,
/// so the impl never runs.)
fn with_fallback(input: &DeriveInput, errors: Errors) -> TokenStream {
    let errors = errors.finish().err().map(syn::Error::into_compile_error);
    if !input.generics.params.is_empty() {
        // A generic type has no impl that fits: its error says so.
        return quote!(#errors);
    }
    let ident = &input.ident;
    quote! {
        #errors
        #[automatically_derived]
        impl ::tenantry::ObjectKey for #ident {
            const TEMPLATE: &'static str = "";
            const PREFIX: &'static [&'static str] = &[];
            fn __write(&self, _: &mut ::tenantry::__private::KeyWriter) {
                ::core::unreachable!()
            }
            fn __read(_: &mut ::tenantry::__private::KeyReader<'_>) -> ::tenantry::Result<Self> {
                ::core::unreachable!()
            }
        }
    }
}

/// Compile-time checks of the template against the run time's own limits
/// (`tenantry::MAX_SEGMENT_BYTES`, `tenantry::MAX_KEY_BYTES`): one source, so a template that
/// compiles makes keys the stores keep and list back. The shortest key has a one-byte
/// segment for each placeholder after the 36-byte tenant.
fn limits(template: &LitStr, parts: &[Part]) -> TokenStream {
    let longest = parts
        .iter()
        .filter_map(|p| match p {
            Part::Literal(l) => Some(l.len()),
            Part::Field(_) => None,
        })
        .max()
        .unwrap_or(0);
    let shortest_key: usize = 36
        + parts
            .iter()
            .map(|p| match p {
                Part::Literal(l) => 1 + l.len(),
                Part::Field(_) => 2,
            })
            .sum::<usize>();
    quote::quote_spanned! {template.span()=>
        const _: () = {
            if #longest > ::tenantry::MAX_SEGMENT_BYTES {
                ::core::panic!("a literal segment of this key template is longer than `tenantry::MAX_SEGMENT_BYTES`: shorten it");
            }
            if #shortest_key > ::tenantry::MAX_KEY_BYTES {
                ::core::panic!("every key of this template is longer than `tenantry::MAX_KEY_BYTES`: shorten its literal segments");
            }
        };
    }
}

fn parse_template(lit: &LitStr, fields: &[&Ident], errors: &mut Errors) -> Vec<Part> {
    let text = lit.value();
    let mut segments = text.split('/').peekable();
    if segments.peek() == Some(&TENANT) {
        segments.next();
    } else {
        // Reported, and the segment is still read below, so its placeholder counts.
        errors.at(
            lit,
            format!("the first segment of a key must be `{TENANT}`: every key lives under its tenant's prefix"),
        );
    }
    let mut parts = Vec::new();
    let mut used: Vec<String> = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    for seg in segments {
        if seg == TENANT {
            errors.at(lit, format!("`{TENANT}` may appear only as the first segment"));
        } else if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            match fields.iter().find(|f| **f == name) {
                None => unknown.push(name.to_owned()),
                Some(_) if used.iter().any(|u| u == name) => {
                    errors.at(lit, format!("placeholder `{{{name}}}` appears twice; each field fills one segment"))
                }
                Some(f) => {
                    used.push(name.to_owned());
                    parts.push(Part::Field((*f).clone()));
                }
            }
        } else if seg.contains('{') || seg.contains('}') {
            // The fields named inside count as placed: the one error is this one.
            used.extend(seg.split('{').skip(1).filter_map(|s| s.split_once('}')).map(|(name, _)| name.to_owned()));
            errors.at(lit, format!("`{seg}`: a placeholder must be a whole segment, like `/{{job_id}}/`"));
        } else if seg.is_empty() {
            errors.at(lit, "a key template has no empty segments: remove the doubled or trailing `/`");
        } else if seg == "." || seg == ".." {
            errors.at(lit, format!("literal segment `{seg}` is not allowed: `.` and `..` are path traversal"));
        } else if !seg.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
            errors.at(lit, format!("literal segment `{seg}` may use only `A-Z a-z 0-9 . _ -`"));
        } else {
            parts.push(Part::Literal(seg.to_owned()));
        }
    }
    if parts.is_empty() && unknown.is_empty() && text.starts_with(TENANT) && !text.contains("//") {
        errors.at(lit, format!("a key needs at least one segment after `{TENANT}`"));
    }
    let unused: Vec<&&Ident> = fields.iter().filter(|f| !used.iter().any(|u| **f == u)).collect();
    if let ([name], [field]) = (unknown.as_slice(), unused.as_slice()) {
        // One misspelt placeholder and one unplaced field: one error, naming both.
        errors.at(lit, format!("placeholder `{{{name}}}` has no field `{name}`: did you mean `{{{field}}}`?"));
        return parts;
    }
    for name in &unknown {
        errors.at(lit, format!("placeholder `{{{name}}}` has no field `{name}`: add the field, or fix the name"));
    }
    for f in unused {
        errors.at(
            f,
            format!(
                "field `{f}` has no placeholder in the key template: add `{{{f}}}` as a segment, or remove the field"
            ),
        );
    }
    parts
}
