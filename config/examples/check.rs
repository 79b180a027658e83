//! Loads a configuration the way ringmasq does and prints the result or every
//! error: `cargo run -p ringmasq-config --example check -- -C file.conf`.

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    match ringmasq_config::load(&args) {
        Ok(config) => println!("{config:#?}"),
        Err(errors) => {
            eprintln!("{errors}");
            std::process::exit(1);
        }
    }
}
