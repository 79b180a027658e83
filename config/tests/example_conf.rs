//! The documented example configuration (examples/ringmasq.conf) loads as
//! shipped, and every option it shows is accepted when uncommented.

use std::ffi::OsString;
use std::path::PathBuf;

use ringmasq_config::{Config, load_with_default};

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/ringmasq.conf")
}

#[test]
fn example_as_shipped_gives_the_defaults() {
    let path = example();
    let args = vec![OsString::from("-C"), path.clone().into_os_string()];
    let c = load_with_default(&args, None).unwrap();
    assert_eq!(
        c,
        Config {
            conf_files_read: vec![path],
            ..Config::default()
        }
    );
}

#[test]
fn every_example_option_is_accepted_when_uncommented() {
    let text = std::fs::read_to_string(example()).unwrap();
    let mut out = String::new();
    let mut count = 0;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix('#') else {
            continue;
        };
        let key = rest.split('=').next().unwrap_or("");
        let is_option = !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '-');
        // Includes name files that do not exist on a test machine.
        if is_option && !matches!(key, "conf-file" | "conf-dir" | "servers-file") {
            out.push_str(rest);
            out.push('\n');
            count += 1;
        }
    }
    assert!(count > 40, "{count}");
    let dir = std::env::temp_dir().join(format!("ringmasq-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("uncommented.conf");
    std::fs::write(&file, out).unwrap();
    let args = vec![OsString::from("-C"), file.into_os_string()];
    let result = load_with_default(&args, None);
    std::fs::remove_dir_all(&dir).unwrap();
    let c = result.unwrap_or_else(|e| panic!("{e}"));
    assert!(c.keep_in_foreground && c.no_resolv && c.log_queries);
    assert_eq!(c.servers.len(), 6);
}
