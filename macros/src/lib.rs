//! `#[hiver_runtime::main]` and `#[hiver_runtime::test]`: an `async fn` run to completion
//! on a runtime built from the attribute's arguments, which are the builder's options.
//!
//! | argument | builder call |
//! |---|---|
//! | `worker_threads = 2` | `.worker_threads(2)` |
//! | `driver = "auto"`, `"io_uring"` (or `"uring"`), `"epoll"`, `"kqueue"` | `.driver_type(DriverType::…)` |
//! | `queue_size = 256` | `.queue_size(256)` |
//! | `io_entries = 1024` | `.io_entries(1024)` |
//! | `thread_name = "web"` | `.thread_name("web")` |
//! | `enable_parking = false` | `.enable_parking(false)` |
//! | `park_timeout_ms = 10` | `.park_timeout(Duration::from_millis(10))` |
//! | `max_blocking_threads = 64` | `.max_blocking_threads(64)` |
//! | `blocking_keep_alive_ms = 500` | `.blocking_keep_alive(Duration::from_millis(500))` |
//! | `submit_wait = false` | `DriverConfig::builder().submit_wait(false)` |
//! | `defer_wakeup = true` | `DriverConfig::builder().defer_wakeup(true)` |
//! | `max_ops_per_fd = 8` | `DriverConfig::builder().max_ops_per_fd(8)` |
//! | `cpu_affinity = 0` | `DriverConfig::builder().cpu_affinity(0)` |
//! | `crate = "path"` | the path of `hiver_runtime` when it was renamed |
//!
//! The `DriverConfig` options go in through `.config(RuntimeConfig { driver_io, .. })`
//! before the other calls (so `io_entries`, the driver's `entries`, still applies). An
//! unknown option, or a value of the wrong type, is a compile error naming it.
//!
//! The macros are re-exported by `hiver_runtime`; use them from there.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ItemFn, Lit, MetaNameValue, Token};

/// Runs an `async fn main` on a hiver runtime built from the arguments.
///
/// ```ignore
/// #[hiver_runtime::main(worker_threads = 2, driver = "epoll")]
/// async fn main() -> std::io::Result<()> {
///     Ok(())
/// }
/// ```
#[proc_macro_attribute]
pub fn main(
    args: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    expand(args.into(), item.into(), Kind::Main).into()
}

/// Runs an `async fn` test on a hiver runtime built from the arguments (each test gets its
/// own runtime).
///
/// ```ignore
/// #[hiver_runtime::test(driver = "io_uring")]
/// async fn reads() {
///     assert_eq!(1 + 1, 2);
/// }
/// ```
#[proc_macro_attribute]
pub fn test(
    args: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    expand(args.into(), item.into(), Kind::Test).into()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Main,
    Test,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Main => "hiver_runtime::main",
            Kind::Test => "hiver_runtime::test",
        }
    }
}

const OPTIONS: &str = "worker_threads, driver, queue_size, io_entries, thread_name, \
                       enable_parking, park_timeout_ms, max_blocking_threads, \
                       blocking_keep_alive_ms, submit_wait, defer_wakeup, max_ops_per_fd, \
                       cpu_affinity, crate";

/// The expansion, or a `compile_error!` naming what is wrong.
fn expand(args: TokenStream, item: TokenStream, kind: Kind) -> TokenStream {
    match try_expand(args, item.clone(), kind) {
        Ok(t) => t,
        Err(e) => {
            // Keep the function so that its other errors still show, plus ours.
            let err = e.to_compile_error();
            quote! { #err #item }
        }
    }
}

fn try_expand(args: TokenStream, item: TokenStream, kind: Kind) -> syn::Result<TokenStream> {
    let mut func: ItemFn = syn::parse2(item)?;
    let options = Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse2(args)?;
    if func.sig.asyncness.is_none() {
        return Err(syn::Error::new(
            func.sig.fn_token.span(),
            format!("#[{}] needs an `async fn`", kind.name()),
        ));
    }
    if !func.sig.inputs.is_empty() {
        return Err(syn::Error::new(
            func.sig.inputs.span(),
            format!("#[{}] functions take no arguments", kind.name()),
        ));
    }
    // The crate path first: the other options' expansions name it.
    let mut krate: syn::Path = syn::parse_quote!(::hiver_runtime);
    for opt in options.iter().filter(|o| o.path.is_ident("crate")) {
        krate = syn::parse_str(&string(&opt.value, "crate")?)
            .map_err(|e| syn::Error::new(opt.value.span(), format!("crate path: {e}")))?;
    }
    let mut calls = Vec::new();
    // `DriverConfigBuilder` calls: the builder has no setter of its own for these.
    let mut driver_calls = Vec::new();
    for opt in &options {
        let key = opt
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        let span = opt.span();
        match key.as_str() {
            "worker_threads" | "queue_size" | "io_entries" | "max_blocking_threads" => {
                let n = int(&opt.value, &key)?;
                let method = syn::Ident::new(&key, span);
                calls.push(quote_spanned!(span=> .#method(#n)));
            }
            "enable_parking" => {
                let b = boolean(&opt.value, &key)?;
                calls.push(quote_spanned!(span=> .enable_parking(#b)));
            }
            "thread_name" => {
                let s = string(&opt.value, &key)?;
                calls.push(quote_spanned!(span=> .thread_name(#s)));
            }
            "park_timeout_ms" => {
                let n = int(&opt.value, &key)?;
                calls.push(
                    quote_spanned!(span=> .park_timeout(::std::time::Duration::from_millis(#n))),
                );
            }
            "blocking_keep_alive_ms" => {
                let n = int(&opt.value, &key)?;
                calls.push(quote_spanned!(span=>
                    .blocking_keep_alive(::std::time::Duration::from_millis(#n))
                ));
            }
            "submit_wait" | "defer_wakeup" => {
                let b = boolean(&opt.value, &key)?;
                let method = syn::Ident::new(&key, span);
                driver_calls.push(quote_spanned!(span=> .#method(#b)));
            }
            "max_ops_per_fd" | "cpu_affinity" => {
                let n = int(&opt.value, &key)?;
                let method = syn::Ident::new(&key, span);
                driver_calls.push(quote_spanned!(span=> .#method(#n)));
            }
            "driver" => {
                let s = string(&opt.value, &key)?;
                let variant = match s.as_str() {
                    "auto" => "Auto",
                    "io_uring" | "uring" | "iouring" => "IOUring",
                    "epoll" => "Epoll",
                    "kqueue" => "Kqueue",
                    other => {
                        return Err(syn::Error::new(
                            opt.value.span(),
                            format!(
                                "unknown driver \"{other}\": expected \"auto\", \"io_uring\", \"epoll\" or \"kqueue\""
                            ),
                        ))
                    }
                };
                let variant = syn::Ident::new(variant, span);
                calls.push(quote_spanned!(span=> .driver_type(#krate::DriverType::#variant)));
            }
            "crate" => {}
            other => {
                return Err(syn::Error::new(
                    opt.path.span(),
                    format!(
                        "#[{}]: unknown option `{other}` (the options are: {OPTIONS})",
                        kind.name()
                    ),
                ))
            }
        }
    }
    // First, so that the builder calls after it (`io_entries` among them) still apply.
    let driver_config = (!driver_calls.is_empty()).then(|| {
        quote! {
            .config(#krate::RuntimeConfig {
                driver_io: #krate::driver::DriverConfig::builder() #(#driver_calls)* .build(),
                ..::core::default::Default::default()
            })
        }
    });
    func.sig.asyncness = None;
    let body = &func.block;
    let name = kind.name();
    let new_block: syn::Block = syn::parse2(quote! {{
        let __hiver_body = async move #body;
        let mut __hiver_runtime = #krate::Runtime::builder()
            #driver_config
            #(#calls)*
            .build()
            .unwrap_or_else(|e| panic!("#[{}]: the runtime failed to start: {}", #name, e));
        match __hiver_runtime.block_on(__hiver_body) {
            ::std::result::Result::Ok(v) => v,
            ::std::result::Result::Err(e) => panic!("#[{}]: block_on failed: {}", #name, e),
        }
    }})?;
    *func.block = new_block;
    let test_attr = (kind == Kind::Test).then(|| quote!(#[::core::prelude::v1::test]));
    Ok(quote! { #test_attr #func })
}

fn lit(value: &Expr) -> Option<&Lit> {
    match value {
        Expr::Lit(ExprLit { lit, .. }) => Some(lit),
        _ => None,
    }
}

fn int(value: &Expr, key: &str) -> syn::Result<syn::LitInt> {
    match lit(value) {
        // (A literal token can carry its own minus sign when made from a string.)
        Some(Lit::Int(i)) if !i.base10_digits().starts_with('-') => Ok(i.clone()),
        _ => Err(syn::Error::new(
            value.span(),
            format!("`{key}` takes a non-negative integer"),
        )),
    }
}

fn boolean(value: &Expr, key: &str) -> syn::Result<bool> {
    match lit(value) {
        Some(Lit::Bool(b)) => Ok(b.value),
        _ => Err(syn::Error::new(
            value.span(),
            format!("`{key}` takes `true` or `false`"),
        )),
    }
}

fn string(value: &Expr, key: &str) -> syn::Result<String> {
    match lit(value) {
        Some(Lit::Str(s)) => Ok(s.value()),
        _ => Err(syn::Error::new(
            value.span(),
            format!("`{key}` takes a string"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::{expand, Kind};

    fn expanded(args: &str, item: &str, kind: Kind) -> String {
        expand(args.parse().unwrap(), item.parse().unwrap(), kind).to_string()
    }

    #[test]
    fn options_become_builder_calls() {
        let out = expanded(
            r#"worker_threads = 2, driver = "epoll", thread_name = "web", park_timeout_ms = 5"#,
            "async fn main() {}",
            Kind::Main,
        );
        assert!(out.contains(". worker_threads (2)"), "{out}");
        assert!(
            out.contains(":: hiver_runtime :: DriverType :: Epoll"),
            "{out}"
        );
        assert!(out.contains(". thread_name (\"web\")"), "{out}");
        assert!(out.contains("from_millis (5)"), "{out}");
        assert!(!out.contains("async fn"), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn driver_options_become_a_driver_config_before_the_builder_calls() {
        let out = expanded(
            "io_entries = 64, submit_wait = false, defer_wakeup = true, max_ops_per_fd = 4, \
             cpu_affinity = 1, blocking_keep_alive_ms = 7",
            "async fn main() {}",
            Kind::Main,
        );
        let config = out.find(". config (").expect(&out);
        assert!(
            out.contains(
                ":: hiver_runtime :: driver :: DriverConfig :: builder () \
                 . submit_wait (false) . defer_wakeup (true) . max_ops_per_fd (4) \
                 . cpu_affinity (1) . build ()"
            ),
            "{out}"
        );
        // `io_entries` after the config, so that the config does not undo it.
        assert!(out.find(". io_entries (64)").expect(&out) > config, "{out}");
        assert!(
            out.contains("blocking_keep_alive (:: std :: time :: Duration :: from_millis (7))"),
            "{out}"
        );
        assert!(!out.contains("compile_error"), "{out}");
        // Without a driver option there is no config call at all.
        let out = expanded("io_entries = 64", "async fn main() {}", Kind::Main);
        assert!(!out.contains(". config ("), "{out}");
    }

    #[test]
    fn test_kind_adds_the_test_attribute() {
        let out = expanded("", "async fn t() { assert!(true) }", Kind::Test);
        assert!(
            out.contains("# [:: core :: prelude :: v1 :: test]"),
            "{out}"
        );
    }

    #[test]
    fn bad_input_is_a_compile_error_naming_it() {
        let out = expanded("workers = 2", "async fn main() {}", Kind::Main);
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("unknown option `workers`"), "{out}");
        let out = expanded("", "fn main() {}", Kind::Main);
        assert!(out.contains("needs an `async fn`"), "{out}");
        let out = expanded(r#"driver = "iocp""#, "async fn main() {}", Kind::Main);
        assert!(out.contains("unknown driver"), "{out}");
        let out = expanded("worker_threads = \"two\"", "async fn main() {}", Kind::Main);
        assert!(out.contains("takes a non-negative integer"), "{out}");
        let out = expanded("submit_wait = 1", "async fn main() {}", Kind::Main);
        assert!(
            out.contains("`submit_wait` takes `true` or `false`"),
            "{out}"
        );
        let out = expanded(r#"max_ops_per_fd = "8""#, "async fn main() {}", Kind::Main);
        assert!(
            out.contains("`max_ops_per_fd` takes a non-negative integer"),
            "{out}"
        );
        let out = expanded("cpu_affinity = -1", "async fn main() {}", Kind::Main);
        assert!(
            out.contains("`cpu_affinity` takes a non-negative integer"),
            "{out}"
        );
        let out = expanded("blocking_keep_alive = 5", "async fn main() {}", Kind::Main);
        assert!(
            out.contains("unknown option `blocking_keep_alive`"),
            "{out}"
        );
        assert!(out.contains("blocking_keep_alive_ms"), "{out}"); // the list names it
        let out = expanded("", "async fn t(x: u8) {}", Kind::Test);
        assert!(out.contains("take no arguments"), "{out}");
    }

    #[test]
    fn a_renamed_crate_is_used_everywhere() {
        let out = expanded(
            r#"driver = "epoll", crate = "my_rt""#,
            "async fn main() {}",
            Kind::Main,
        );
        assert!(out.contains("my_rt :: DriverType :: Epoll"), "{out}");
        assert!(out.contains("my_rt :: Runtime :: builder"), "{out}");
        assert!(!out.contains("hiver_runtime ::"), "{out}");
    }
}
