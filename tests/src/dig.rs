//! A wrapper around bind9's `dig` (parsing `+noall +answer +comments` output) and Knot's `kdig`
//! (parsing `+noall +answer +header +opt` output) into one [`DigAnswer`].

use std::net::SocketAddr;
use std::process::Command;

use crate::error::{HarnessError, Result};

/// One answer record as dig prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigRecord {
    /// Owner name as printed (case preserved).
    pub name: String,
    /// TTL in seconds.
    pub ttl: u32,
    /// Class mnemonic (`IN`, `CH`).
    pub class: String,
    /// Type mnemonic (`A`, `CNAME`...).
    pub rtype: String,
    /// Presentation-format RDATA.
    pub rdata: String,
}

impl DigRecord {
    /// `name type rdata` with the name lowercased and no TTL, for comparing two answers.
    pub fn key(&self) -> String {
        format!("{} {} {}", self.name.to_lowercase(), self.rtype, self.rdata)
    }
}

/// The EDNS pseudo-section of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigEdns {
    /// EDNS version.
    pub version: u8,
    /// Flag mnemonics (`do`).
    pub flags: Vec<String>,
    /// Advertised UDP payload size.
    pub udp: u16,
}

/// A parsed dig response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigAnswer {
    /// Response code mnemonic (`NOERROR`, `NXDOMAIN`, `SERVFAIL`...).
    pub status: String,
    /// Message ID.
    pub id: u16,
    /// Header flag mnemonics (`qr`, `aa`, `tc`, `rd`, `ra`, `ad`, `cd`).
    pub flags: Vec<String>,
    /// Section counts: QUERY, ANSWER, AUTHORITY, ADDITIONAL.
    pub counts: [u16; 4],
    /// The OPT pseudo-section, if the response had one.
    pub edns: Option<DigEdns>,
    /// The answer section.
    pub answers: Vec<DigRecord>,
    /// The Extended DNS Error INFO-CODE (RFC 8914) of the OPT record, if any (dig only).
    pub ede: Option<u16>,
}

impl DigAnswer {
    /// Whether header flag `f` (e.g. `"tc"`) is set.
    pub fn has_flag(&self, f: &str) -> bool {
        self.flags.iter().any(|x| x == f)
    }

    /// Sorted [`DigRecord::key`]s of the answer section.
    pub fn answer_keys(&self) -> Vec<String> {
        let mut v: Vec<String> = self.answers.iter().map(DigRecord::key).collect();
        v.sort();
        v
    }

    /// For differential tests: the first of rcode, answer records (sorted) and section counts
    /// in which this answer differs from `other`, named; None when they agree.
    pub fn core_difference(&self, other: &DigAnswer) -> Option<&'static str> {
        if self.status != other.status {
            Some("rcode")
        } else if self.answer_keys() != other.answer_keys() {
            Some("answers")
        } else if self.counts != other.counts {
            Some("section counts")
        } else {
            None
        }
    }

    /// For differential tests: the first of `flags` set in one answer and not in the other.
    pub fn flag_difference<'f>(&self, other: &DigAnswer, flags: &[&'f str]) -> Option<&'f str> {
        flags
            .iter()
            .copied()
            .find(|f| self.has_flag(f) != other.has_flag(f))
    }

    /// Parses dig's `+noall +answer +comments` or kdig's `+noall +answer +header +opt` output.
    /// When dig retried over TCP after a truncated answer it prints two responses; the last one
    /// wins.
    pub fn parse(output: &str) -> Result<Self> {
        let err = |reason: &str| HarnessError::Parse {
            tool: "dig".into(),
            reason: reason.into(),
            output: output.into(),
        };
        let mut cur: Option<DigAnswer> = None;
        for line in output.lines() {
            let line = line.trim_end();
            if let Some(rest) = line.strip_prefix(";; ->>HEADER<<- ") {
                // dig: "opcode: QUERY, status: NOERROR, id: 34795"
                // kdig: "opcode: QUERY; status: NOERROR; id: 2659"
                let mut status = None;
                let mut id = None;
                for part in rest.split([',', ';']).map(str::trim) {
                    if let Some(v) = part.strip_prefix("status: ") {
                        status = Some(v.to_string());
                    } else if let Some(v) = part.strip_prefix("id: ") {
                        id = v.trim().parse().ok();
                    }
                }
                cur = Some(DigAnswer {
                    status: status.ok_or_else(|| err("no status"))?,
                    id: id.ok_or_else(|| err("no id"))?,
                    flags: Vec::new(),
                    counts: [0; 4],
                    edns: None,
                    answers: Vec::new(),
                    ede: None,
                });
            } else if let Some(rest) = line
                .strip_prefix(";; flags:")
                .or_else(|| line.strip_prefix(";; Flags:"))
            {
                let a = cur.as_mut().ok_or_else(|| err("flags before header"))?;
                // dig:  " qr aa rd; QUERY: 1, ANSWER: 3, AUTHORITY: 0, ADDITIONAL: 1"
                // kdig: " qr aa rd; QUERY: 1; ANSWER: 3; AUTHORITY: 0; ADDITIONAL: 0"
                let (flags, counts) = rest.split_once(';').ok_or_else(|| err("flags line"))?;
                a.flags = flags.split_whitespace().map(str::to_string).collect();
                for (i, part) in counts.split([',', ';']).enumerate().take(4) {
                    let n = part.rsplit(':').next().unwrap_or("").trim();
                    a.counts[i] = n.parse().map_err(|_| err("section count"))?;
                }
            } else if let Some(rest) = line.strip_prefix("; EDNS: ") {
                let a = cur.as_mut().ok_or_else(|| err("EDNS before header"))?;
                // "version: 0, flags: do; udp: 1232"
                let (vf, udp) = rest.split_once("; udp: ").ok_or_else(|| err("EDNS line"))?;
                let (v, f) = vf.split_once(", flags:").ok_or_else(|| err("EDNS flags"))?;
                a.edns = Some(DigEdns {
                    version: v
                        .trim_start_matches("version: ")
                        .trim()
                        .parse()
                        .map_err(|_| err("EDNS version"))?,
                    flags: f.split_whitespace().map(str::to_string).collect(),
                    udp: udp.trim().parse().map_err(|_| err("EDNS udp"))?,
                });
            } else if let Some(rest) = line.strip_prefix("; EDE: ") {
                // dig: "; EDE: 6 (DNSSEC Bogus): (signature does not verify)"
                let a = cur.as_mut().ok_or_else(|| err("EDE before header"))?;
                let code = rest.split_whitespace().next().unwrap_or("");
                a.ede = Some(code.parse().map_err(|_| err("EDE code"))?);
            } else if let Some(rest) = line.strip_prefix(";;Version: ") {
                let a = cur.as_mut().ok_or_else(|| err("EDNS before header"))?;
                // kdig: "0; flags: do; UDP size: 1232 B; ext-rcode: NOERROR"
                let mut parts = rest.split(';').map(str::trim);
                let version = parts
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| err("EDNS version"))?;
                let mut edns = DigEdns {
                    version,
                    flags: Vec::new(),
                    udp: 0,
                };
                for p in parts {
                    if let Some(f) = p.strip_prefix("flags:") {
                        edns.flags = f.split_whitespace().map(str::to_string).collect();
                    } else if let Some(u) = p.strip_prefix("UDP size:") {
                        edns.udp = u
                            .trim()
                            .trim_end_matches('B')
                            .trim()
                            .parse()
                            .map_err(|_| err("EDNS udp"))?;
                    }
                }
                a.edns = Some(edns);
            } else if !line.is_empty() && !line.starts_with(';') {
                let a = cur.as_mut().ok_or_else(|| err("record before header"))?;
                let mut it = line.split_whitespace();
                let (Some(name), Some(ttl), Some(class), Some(rtype)) =
                    (it.next(), it.next(), it.next(), it.next())
                else {
                    return Err(err("short record line"));
                };
                a.answers.push(DigRecord {
                    name: name.to_string(),
                    ttl: ttl.parse().map_err(|_| err("ttl"))?,
                    class: class.to_string(),
                    rtype: rtype.to_string(),
                    rdata: it.collect::<Vec<_>>().join(" "),
                });
            }
        }
        cur.ok_or_else(|| err("no response header"))
    }
}

/// Builder for one dig invocation.
#[derive(Debug, Clone)]
pub struct Dig {
    server: SocketAddr,
    name: String,
    rtype: String,
    class: String,
    opts: Vec<String>,
    timeout_secs: u32,
    kdig: bool,
}

impl Dig {
    /// `dig @server name A` (class IN, one try, 2 s timeout).
    pub fn new(server: SocketAddr, name: &str) -> Self {
        Self {
            server,
            name: name.to_string(),
            rtype: "A".into(),
            class: "IN".into(),
            opts: Vec::new(),
            timeout_secs: 2,
            kdig: false,
        }
    }

    /// Runs Knot's `kdig` instead of bind9's `dig` (same options where both share them:
    /// `+tcp`, `+dnssec`, `+bufsize=N`, `+ignore`...).
    pub fn kdig(mut self) -> Self {
        self.kdig = true;
        self
    }

    /// Query type mnemonic.
    pub fn rtype(mut self, t: &str) -> Self {
        self.rtype = t.to_string();
        self
    }

    /// Query class mnemonic (`CH` for the counters).
    pub fn class(mut self, c: &str) -> Self {
        self.class = c.to_string();
        self
    }

    /// Adds a dig option such as `+tcp`, `+dnssec`, `+bufsize=512`, `+ignore`.
    pub fn opt(mut self, o: &str) -> Self {
        self.opts.push(o.to_string());
        self
    }

    /// Per-try timeout in seconds.
    pub fn timeout(mut self, secs: u32) -> Self {
        self.timeout_secs = secs.max(1);
        self
    }

    /// Runs dig (or kdig) and parses the response.
    pub fn run(&self) -> Result<DigAnswer> {
        let (tool, fixed, tries) = if self.kdig {
            ("kdig", ["+noall", "+answer", "+header", "+opt"], "+retry=0")
        } else {
            (
                "dig",
                ["+noall", "+answer", "+comments", "+nottlunits"],
                "+tries=1",
            )
        };
        let out = Command::new(tool)
            .arg(format!("@{}", self.server.ip()))
            .arg("-p")
            .arg(self.server.port().to_string())
            .arg("-c")
            .arg(&self.class)
            .arg("-t")
            .arg(&self.rtype)
            .arg("-q")
            .arg(&self.name)
            .args(fixed)
            .arg(tries)
            .arg(format!("+time={}", self.timeout_secs))
            .args(&self.opts)
            .output()
            .map_err(|e| HarnessError::io(format!("run {tool}"), e))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let errors = String::from_utf8_lossy(&out.stderr);
        if text.contains("no servers could be reached")
            || text.contains("timed out")
            || errors.contains("failed to query server")
        {
            return Err(HarnessError::Timeout {
                server: self.server.to_string(),
                timeout: std::time::Duration::from_secs(u64::from(self.timeout_secs)),
            });
        }
        DigAnswer::parse(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from dig 9.18 against knotd 3.2.6.
    const CHAIN: &str = ";; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 34795
;; flags: qr aa rd; QUERY: 1, ANSWER: 3, AUTHORITY: 0, ADDITIONAL: 1
;; WARNING: recursion requested but not available

;; OPT PSEUDOSECTION:
; EDNS: version: 0, flags:; udp: 1232
;; ANSWER SECTION:
c1.lab.test.\t\t3600\tIN\tCNAME\tc2.lab.test.
c2.lab.test.\t\t3600\tIN\tCNAME\twww.lab.test.
www.lab.test.\t\t3600\tIN\tA\t192.0.2.1

";

    const NX_DO: &str = ";; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 26183
;; flags: qr aa rd; QUERY: 1, ANSWER: 0, AUTHORITY: 1, ADDITIONAL: 1
;; WARNING: recursion requested but not available

;; OPT PSEUDOSECTION:
; EDNS: version: 0, flags: do; udp: 1232
";

    const NO_EDNS: &str = ";; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 49126
;; flags: qr aa; QUERY: 1, ANSWER: 3, AUTHORITY: 0, ADDITIONAL: 0

;; ANSWER SECTION:
c1.lab.test.\t\t3600\tIN\tCNAME\tc2.lab.test.
";

    // Captured from kdig 3.2.6 against knotd 3.2.6.
    const KDIG: &str = ";; ->>HEADER<<- opcode: QUERY; status: NXDOMAIN; id: 49745
;; Flags: qr aa rd; QUERY: 1; ANSWER: 0; AUTHORITY: 1; ADDITIONAL: 1
;;Version: 0; flags: do; UDP size: 1232 B; ext-rcode: NOERROR
";

    const KDIG_CHAIN: &str = ";; ->>HEADER<<- opcode: QUERY; status: NOERROR; id: 2659
;; Flags: qr aa rd; QUERY: 1; ANSWER: 3; AUTHORITY: 0; ADDITIONAL: 0
c1.lab.test.        \t3600\tIN\tCNAME\tc2.lab.test.
c2.lab.test.        \t3600\tIN\tCNAME\twww.lab.test.
www.lab.test.       \t3600\tIN\tA\t192.0.2.1
";

    #[test]
    fn parses_kdig() {
        let a = DigAnswer::parse(KDIG).unwrap();
        assert_eq!((a.status.as_str(), a.id), ("NXDOMAIN", 49745));
        assert_eq!(a.counts, [1, 0, 1, 1]);
        let e = a.edns.unwrap();
        assert_eq!((e.version, e.udp), (0, 1232));
        assert_eq!(e.flags, ["do"]);
        let c = DigAnswer::parse(KDIG_CHAIN).unwrap();
        assert_eq!(
            c.answer_keys(),
            DigAnswer::parse(CHAIN).unwrap().answer_keys()
        );
        assert!(c.edns.is_none());
    }

    #[test]
    fn parses_chain() {
        let a = DigAnswer::parse(CHAIN).unwrap();
        assert_eq!(a.status, "NOERROR");
        assert_eq!(a.id, 34795);
        assert_eq!(a.flags, ["qr", "aa", "rd"]);
        assert_eq!(a.counts, [1, 3, 0, 1]);
        let e = a.edns.as_ref().unwrap();
        assert_eq!((e.version, e.udp), (0, 1232));
        assert!(e.flags.is_empty());
        assert_eq!(a.answers.len(), 3);
        assert_eq!(a.answers[2].rdata, "192.0.2.1");
        assert_eq!(a.answers[0].ttl, 3600);
        assert_eq!(a.answers[0].key(), "c1.lab.test. CNAME c2.lab.test.");
    }

    #[test]
    fn parses_nxdomain_with_do() {
        let a = DigAnswer::parse(NX_DO).unwrap();
        assert_eq!(a.status, "NXDOMAIN");
        assert_eq!(a.edns.unwrap().flags, ["do"]);
        assert!(a.answers.is_empty());
    }

    #[test]
    fn parses_without_edns() {
        let a = DigAnswer::parse(NO_EDNS).unwrap();
        assert!(a.edns.is_none());
        assert!(!a.has_flag("rd"));
    }

    #[test]
    fn last_response_wins() {
        let both = format!("{NX_DO}{CHAIN}");
        assert_eq!(DigAnswer::parse(&both).unwrap().id, 34795);
    }

    #[test]
    fn rejects_garbage() {
        assert!(DigAnswer::parse("nothing here").is_err());
    }
}
