//! Fuzzes the PXE boot server (port 4011) and the proxy-DHCP offer with arbitrary datagrams:
//! boot item lookup, option 43 sub-options, tags, and the PXE-only reply.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ringmasq_proto::dhcp::pxe_fuzzing::check_boot_server(data);
});
