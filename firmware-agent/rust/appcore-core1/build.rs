// Two facts the crate needs from the machine that builds it:
// - whether core::panic::PanicInfo::message() exists (Rust 1.81), for the
//   panic helper (cfg panic_message);
// - for host builds (tests), the region layout as the C compiler sees it:
//   layout/gen_layout.c is compiled against firmware-agent/include and run,
//   and its output is $OUT_DIR/c_layout.rs, which tests/layout.rs compares
//   with the crate's.  Cross builds (a board) skip it.
use std::env;
use std::path::PathBuf;
use std::process::Command;

fn rustc_minor() -> u32 {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc).arg("--version").output().expect("rustc --version");
    let v = String::from_utf8_lossy(&out.stdout).into_owned();
    v.split_whitespace()
        .nth(1)
        .and_then(|s| s.split('.').nth(1))
        .and_then(|m| m.parse().ok())
        .expect("a rustc version")
}

fn generate_c_layout(out: &PathBuf) {
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let inc = dir.join("../../include");
    let src = dir.join("layout/gen_layout.c");
    let exe = out.join("gen_layout");
    let cc = env::var("CC").unwrap_or_else(|_| "cc".into());
    let st = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(&inc)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .status()
        .unwrap_or_else(|e| panic!("{}: {}", cc, e));
    assert!(st.success(), "{} failed on {}", cc, src.display());
    let o = Command::new(&exe).output().expect("gen_layout");
    assert!(o.status.success(), "gen_layout failed");
    std::fs::write(out.join("c_layout.rs"), o.stdout).unwrap();
    for f in ["region.h", "region_layout.h", "rtt.h", "wire.h"] {
        println!("cargo:rerun-if-changed={}", inc.join("appcore").join(f).display());
    }
    println!("cargo:rerun-if-changed={}", src.display());
}

fn main() {
    let minor = rustc_minor();
    if minor >= 80 {
        println!("cargo:rustc-check-cfg=cfg(panic_message)");
        println!("cargo:rustc-check-cfg=cfg(c_layout)");
    }
    if minor >= 81 {
        println!("cargo:rustc-cfg=panic_message");
    }
    if env::var("TARGET").ok() == env::var("HOST").ok() {
        generate_c_layout(&PathBuf::from(env::var("OUT_DIR").unwrap()));
        println!("cargo:rustc-cfg=c_layout");
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CC");
}
