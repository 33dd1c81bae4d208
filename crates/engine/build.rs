//! Build script of flint-engine: compiles `csrc/ldouble.c`, the C shim that gives Rust access to
//! the platform's `long double` (for `INCRBYFLOAT`) and to `strtod`, with the system C compiler.

fn main() {
    println!("cargo:rerun-if-changed=csrc/ldouble.c");
    println!("cargo:rerun-if-changed=build.rs");
    cc::Build::new()
        .file("csrc/ldouble.c")
        .flag_if_supported("-std=c11")
        .flag_if_supported("-fno-fast-math")
        .warnings(true)
        .extra_warnings(true)
        .compile("flint_ldouble");
}
