//! End-to-end scenarios against a running `ringmasq`. Each scenario lives in its own file in
//! this directory; `build.rs` turns every file into a module of this one test binary, and each
//! scenario runs once per I/O backend as `<file>::<scenario>::{uring,epoll}`.
//!
//! Filter with e.g. `cargo test --release -p ringmasq-tests --test e2e cache::`.

include!(concat!(env!("OUT_DIR"), "/scenarios.rs"));
