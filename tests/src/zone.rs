//! The test zones served by knotd.
//!
//! `lab.test.` holds the record mix the scenarios query; `other.test.` is the target of a CNAME
//! chain that crosses zones; `routed.test.` exists twice with different data (once on the main
//! knot, once on the second knot) so `--server=/routed.test/...` routing is visible in the answer.

/// The main test zone's apex.
pub const LAB: &str = "lab.test.";
/// The zone a cross-zone CNAME chain points into.
pub const OTHER: &str = "other.test.";
/// The zone used for `--server=/routed.test/ADDR#PORT` routing.
pub const ROUTED: &str = "routed.test.";

/// Address of `host.routed.test.` on the main knot (must NOT be seen when routing works).
pub const ROUTED_MAIN_ADDR: &str = "192.0.2.200";
/// Address of `host.routed.test.` on the second knot (seen when routing works).
pub const ROUTED_SECOND_ADDR: &str = "198.51.100.7";

/// Number of TXT records at `big.lab.test.`.
pub const BIG_TXT_RECORDS: usize = 8;

/// The SOA and NS records every test zone starts with.
pub fn soa(origin: &str) -> String {
    format!(
        "$ORIGIN {origin}\n$TTL 3600\n@ IN SOA ns.lab.test. admin.{origin} 1 3600 600 86400 300\n@ IN NS ns.lab.test.\n"
    )
}

/// A 200-character TXT string that encodes `tag` so records differ.
fn filler(tag: &str) -> String {
    let mut s = format!("{tag}-");
    while s.len() < 200 {
        s.push(char::from(b'a' + (s.len() % 26) as u8));
    }
    s
}

/// Zone file text of `lab.test.`.
///
/// * `www` A + AAAA, apex MX, `txt` TXT, `c1 -> c2 -> www` CNAME chain, `cross -> host.other.test.`
/// * `mid`: one TXT record of ~800 bytes (answer between 512 and 1232 bytes)
/// * `big`: [`BIG_TXT_RECORDS`] TXT records of ~400 bytes (answer > 1232 bytes, truncated over UDP)
/// * `n1`..`n20`: distinct A names for scenarios that must not hit the cache
pub fn lab_zone() -> String {
    let mut z = soa(LAB);
    z.push_str(
        "ns IN A 192.0.2.53\n\
         www IN A 192.0.2.1\n\
         www IN AAAA 2001:db8::1\n\
         @ IN MX 10 mail\n\
         @ IN MX 20 mail2\n\
         mail IN A 192.0.2.25\n\
         mail2 IN A 192.0.2.26\n\
         txt IN TXT \"hello world\" \"second string\"\n\
         short 30 IN A 192.0.2.30\n\
         c1 IN CNAME c2\n\
         c2 IN CNAME www\n\
         cross IN CNAME host.other.test.\n",
    );
    z.push_str(&format!(
        "mid IN TXT \"{}\" \"{}\" \"{}\" \"{}\"\n",
        filler("m1"),
        filler("m2"),
        filler("m3"),
        filler("m4")
    ));
    for i in 0..BIG_TXT_RECORDS {
        z.push_str(&format!(
            "big IN TXT \"{}\" \"{}\"\n",
            filler(&format!("b{i}a")),
            filler(&format!("b{i}b"))
        ));
    }
    for i in 1..=20 {
        z.push_str(&format!("n{i} IN A 192.0.2.{}\n", 100 + i));
    }
    z
}

/// Zone file text of `other.test.`.
pub fn other_zone() -> String {
    let mut z = soa(OTHER);
    z.push_str("host IN A 192.0.2.99\nhost IN AAAA 2001:db8::99\n");
    z
}

/// Zone file text of `routed.test.` with `host` pointing at `addr`.
pub fn routed_zone(addr: &str) -> String {
    let mut z = soa(ROUTED);
    z.push_str(&format!("host IN A {addr}\n"));
    z
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_answer_exceeds_1232_and_mid_fits() {
        let z = lab_zone();
        let big: usize = z
            .lines()
            .filter(|l| l.starts_with("big "))
            .map(|l| l.len())
            .sum();
        assert!(big > 2 * 1232, "big rdata too small: {big}");
        let mid = z.lines().find(|l| l.starts_with("mid ")).unwrap().len();
        assert!(mid > 700 && mid < 1000, "mid size {mid}");
    }
}
