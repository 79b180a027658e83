//! Replays every file under `fuzz/corpus/*/*` through the parsers on stable Rust, with the same
//! checks as the cargo-fuzz targets, so crashes found by fuzzing stay fixed.

use std::path::{Path, PathBuf};

use ringmasq_proto::dhcp::fuzzing::check_request;
use ringmasq_proto::dhcp::neighbour_fuzzing::check_neighbours;
use ringmasq_proto::dhcp::option_fuzzing::check_options;
use ringmasq_proto::dhcp::ping_fuzzing::check_echo_reply;
use ringmasq_proto::dhcp::pxe_fuzzing::check_boot_server;
use ringmasq_proto::dhcp::store_fuzzing::{check_journal, check_lease_file};
use ringmasq_proto::dhcp::tools_fuzzing::check_tool_packets;
use ringmasq_proto::dhcp6::fuzzing::check_request6;
use ringmasq_proto::dns::fuzzing::{
    check_hosts, check_name, check_query, check_response, check_validation,
};
use ringmasq_proto::ra::fuzzing::check_router_message;
use ringmasq_proto::tftp::fuzzing::check_packet;

fn corpus_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let mut files = Vec::new();
    let Ok(dirs) = std::fs::read_dir(&root) else {
        return files;
    };
    for dir in dirs.flatten() {
        if let Ok(entries) = std::fs::read_dir(dir.path()) {
            files.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_file()));
        }
    }
    files.sort();
    files
}

#[test]
fn replay_fuzz_corpus() {
    let files = corpus_files();
    for f in &files {
        let data = std::fs::read(f).unwrap();
        let r = std::panic::catch_unwind(|| {
            check_query(&data);
            check_response(&data);
            check_validation(&data);
            check_packet(&data);
            check_request(&data);
            check_boot_server(&data);
            check_tool_packets(&data);
            check_router_message(&data);
            check_request6(&data);
            check_name(&data);
            check_hosts(&data);
            check_options(&data);
            check_lease_file(&data);
            check_journal(&data);
            check_neighbours(&data);
            check_echo_reply(&data);
        });
        assert!(r.is_ok(), "corpus file {} failed", f.display());
    }
    eprintln!("replayed {} corpus files", files.len());
}
