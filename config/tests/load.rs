//! End-to-end tests of `load`: command line plus the corpus files under
//! tests/data (cargo runs tests from the crate directory, so the relative
//! include in basic.conf resolves).

use std::ffi::OsString;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use ringmasq_config::{
    Config, ConfigError, ConfigErrors, DomainMatch, IoBackend, LocalService, Origin, ServerAction,
    load_servers_file, load_with_default,
};

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn args(list: &[&str]) -> Vec<OsString> {
    list.iter().map(OsString::from).collect()
}

fn load(list: &[&str]) -> Result<Config, ConfigErrors> {
    load_with_default(&args(list), None)
}

fn ok(list: &[&str]) -> Config {
    load(list).unwrap_or_else(|e| panic!("{list:?}:\n{e}"))
}

fn err(list: &[&str]) -> ConfigErrors {
    match load(list) {
        Ok(c) => panic!("{list:?} loaded: {c:?}"),
        Err(e) => e,
    }
}

/// A scratch directory unique to this test process and name.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ringmasq-config-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn forward_addr(action: &ServerAction) -> SocketAddr {
    match action {
        ServerAction::Forward(u) => u.addr,
        other => panic!("not a forward: {other:?}"),
    }
}

#[test]
fn basic_corpus_parses_into_the_model() {
    let c = ok(&["-C", &data("basic.conf")]);
    assert!(c.keep_in_foreground);
    assert_eq!(c.port, 5353);
    let ips: Vec<IpAddr> = ["127.0.0.1", "::1", "127.0.0.2"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(c.listen_addresses, ips);
    assert_eq!(c.interfaces, ["lo"]);
    assert_eq!(c.except_interfaces, ["eth9", "wlan*"]);
    assert!(c.bind_interfaces);
    assert_eq!(c.local_service, Some(LocalService::Host));
    assert_eq!(
        c.resolv_files,
        [PathBuf::from("/tmp/ringmasq-test-resolv.conf")]
    );
    assert!(c.no_poll && c.strict_order && c.all_servers && !c.no_resolv);
    assert_eq!(c.dns_forward_max, 300);
    assert_eq!(c.fast_dns_retry, Some((200, 2000)));
    assert_eq!(
        (c.query_port, c.min_port, c.max_port),
        (Some(0), Some(2000), Some(60000))
    );
    assert_eq!(c.edns_packet_max, 4096);
    assert_eq!(c.cache_size, 10000);
    assert!(c.no_negcache);
    assert_eq!(c.neg_ttl, Some(60));
    assert_eq!(c.max_cache_ttl, Some(3600));
    assert_eq!(c.min_cache_ttl, Some(3600), "clamped like dnsmasq");
    assert_eq!(c.max_ttl, Some(600));
    assert_eq!(c.use_stale_cache, Some(86_400));
    assert_eq!(c.local_ttl, 5);
    assert!(c.no_hosts);
    assert_eq!(
        c.addn_hosts,
        [
            PathBuf::from("/tmp/hosts with space"),
            PathBuf::from("/tmp/hosts.d")
        ]
    );
    assert!(c.log_queries && c.log_queries_extra);
    assert_eq!(c.log_facility.as_deref(), Some("local3"));
    assert_eq!(
        c.pid_file,
        Some(PathBuf::new()),
        "empty pid-file disables it"
    );
    assert_eq!(c.effective_pid_file(true), None);
    assert_eq!(c.max_tcp_connections, 64);
    assert_eq!(c.threads, Some(2));
    assert_eq!(c.io_backend, IoBackend::Epoll);
    assert_eq!(c.tcp_idle_timeout_secs, 120);
    assert_eq!(c.conf_files_read.len(), 2);
    assert!(c.conf_files_read[1].ends_with("tests/data/included.conf"));

    // Servers, in file order, the include's at the point of the include.
    let s = &c.servers;
    assert_eq!(s.len(), 9);
    assert!(s[0].is_default());
    assert_eq!(
        forward_addr(&s[0].action),
        "192.0.2.1:5300".parse().unwrap()
    );
    assert_eq!(
        (&s[1].domains[..], &s[1].action),
        (
            &[DomainMatch::Suffix("lan".into())][..],
            &ServerAction::LocalOnly
        )
    );
    assert_eq!(s[2].domains, [DomainMatch::Suffix("home.arpa".into())]);
    assert_eq!(s[2].action, ServerAction::LocalOnly);
    match &s[3].action {
        ServerAction::Forward(u) => assert_eq!(u.interface.as_deref(), Some("lo")),
        other => panic!("{other:?}"),
    }
    assert_eq!(s[4].action, ServerAction::UseDefault);
    assert_eq!(s[5].domains, [DomainMatch::Unqualified]);
    assert_eq!(s[6].domains, [DomainMatch::Wildcard("wild.test".into())]);
    assert_eq!(
        s[7].domains,
        [DomainMatch::Suffix("1.10.in-addr.arpa".into())]
    );
    assert_eq!(s[5].origin, Origin::file(data("basic.conf"), 19));
    // Relative includes are relative to the working directory, as in dnsmasq.
    assert_eq!(s[8].origin, Origin::file("tests/data/included.conf", 3));
}

#[test]
fn included_server_is_after_the_including_files_servers() {
    let c = ok(&["-C", &data("basic.conf")]);
    let last = c.servers.last().unwrap();
    assert!(last.is_default());
    assert_eq!(forward_addr(&last.action), "192.0.2.9:53".parse().unwrap());
    let _ = &c;
}

#[test]
fn command_line_wins_for_single_values_and_lists_accumulate() {
    let c = ok(&[
        "-C",
        &data("basic.conf"),
        "--port=5454",
        "-S",
        "192.0.2.99",
        "-c",
        "0",
        "-a",
        "127.0.0.9",
    ]);
    assert_eq!(c.port, 5454);
    assert_eq!(c.cache_size, 0);
    assert_eq!(c.listen_addresses.len(), 4);
    assert_eq!(
        c.listen_addresses[3],
        "127.0.0.9".parse::<IpAddr>().unwrap()
    );
    let last = c.servers.last().unwrap();
    assert_eq!(last.origin, Origin::CommandLine);
    assert_eq!(forward_addr(&last.action), "192.0.2.99:53".parse().unwrap());
}

#[test]
fn defaults_without_any_file() {
    let c = ok(&[]);
    assert_eq!(c, Config::default());
    let c = ok(&["--conf-file"]);
    assert!(c.conf_files_read.is_empty());
}

#[test]
fn missing_default_file_is_fine_but_missing_named_file_is_not() {
    let missing = "/nonexistent/ringmasq-test.conf";
    let c = load_with_default(&args(&["-p", "1053"]), Some(Path::new(missing))).unwrap();
    assert_eq!(c.port, 1053);
    assert!(c.conf_files_read.is_empty());

    let e = err(&["-C", missing]);
    assert!(matches!(e.errors(), [ConfigError::Io { option, .. }] if option == "conf-file"));
    let text = e.to_string();
    assert!(
        text.contains("command line") && text.contains(missing),
        "{text}"
    );
}

#[test]
fn default_file_is_read_when_no_conf_file_is_named() {
    let dir = scratch("default");
    let file = dir.join("ringmasq.conf");
    std::fs::write(&file, "port=2053\n").unwrap();
    let c = load_with_default(&args(&[]), Some(&file)).unwrap();
    assert_eq!(c.port, 2053);
    assert_eq!(c.conf_files_read, std::slice::from_ref(&file));
    // Naming another file skips the default.
    let other = dir.join("other.conf");
    std::fs::write(&other, "port=3053\n").unwrap();
    let c = load_with_default(&args(&["-C", other.to_str().unwrap()]), Some(&file)).unwrap();
    assert_eq!(c.port, 3053);
    assert_eq!(c.conf_files_read, [other]);
    // --help does not read files, so a broken default cannot hide it.
    std::fs::write(&file, "bogus\n").unwrap();
    let c = load_with_default(&args(&["--help"]), Some(&file)).unwrap();
    assert!(c.show_help);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn errors_name_file_line_and_option_and_are_all_collected() {
    let file = data("bad.conf");
    let e = err(&["-C", &file]);
    let errors = e.errors();
    let lines: Vec<usize> = errors
        .iter()
        .filter_map(|e| match e.origin() {
            Some(Origin::File { line, .. }) => Some(*line),
            _ => None,
        })
        .collect();
    assert_eq!(lines, [2, 3, 4, 5, 6, 8], "{e}");
    let text = e.to_string();
    for needle in [
        format!("{file} line 2: option `port`: bad value `99999`: expected a port number"),
        format!("{file} line 3: unknown option `no-such-option`"),
        format!("{file} line 4: option `no-resolv` takes no value"),
        format!("{file} line 5: option `cache-size` needs a value"),
        format!("{file} line 6: option `server`: bad value `dns.example.net`"),
        format!("{file} line 8: syntax error"),
    ] {
        assert!(text.contains(&needle), "missing {needle:?} in\n{text}");
    }
    match errors.last().unwrap() {
        ConfigError::NotImplemented(list) => {
            let names: Vec<&str> = list.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, ["enable-dbus", "enable-ubus"]);
            assert_eq!(list[0].1, Origin::file(&file, 7));
        }
        other => panic!("{other}"),
    }
    assert!(
        text.contains("ringmasq does not implement these dnsmasq options yet: --enable-dbus ("),
        "{text}"
    );
}

#[test]
fn gentoo_option_string_parses_user_and_group() {
    let c = ok(&[
        "--user=dnsmasq",
        "--group=dnsmasq",
        "-H",
        "/srv/virt/gentoo/hosts",
        "--max-cache-ttl=10",
    ]);
    assert_eq!(c.user.as_deref(), Some("dnsmasq"));
    assert_eq!(c.group.as_deref(), Some("dnsmasq"));
    assert_eq!(c.addn_hosts, [PathBuf::from("/srv/virt/gentoo/hosts")]);
    assert_eq!(c.max_cache_ttl, Some(10));
}

#[test]
fn user_and_group_empty_means_unchanged() {
    let c = ok(&["--user", "--group="]);
    assert_eq!((c.user, c.group), (None, None));
    let c = ok(&["--user=", "--group=", "-u", "nobody"]);
    assert_eq!(c.user.as_deref(), Some("nobody"));
    assert_eq!(c.group, None);
    let e = err(&["--user=no body"]);
    assert!(
        e.to_string().contains("option `user`: bad value `no body`"),
        "{e}"
    );
}

#[test]
fn log_async_and_log_debug() {
    let c = ok(&[]);
    assert_eq!((c.log_async, c.log_debug), (None, false));
    assert_eq!(ok(&["--log-async"]).log_async, Some(5));
    assert_eq!(ok(&["--log-async=0"]).log_async, Some(5));
    assert_eq!(ok(&["--log-async=25"]).log_async, Some(25));
    assert_eq!(ok(&["--log-async=999999"]).log_async, Some(65_536));
    assert!(ok(&["--log-debug"]).log_debug);
    assert!(err(&["--log-async=lots"]).to_string().contains("log-async"));
}

#[test]
fn conf_dir_filters_by_name_and_extension() {
    let dir = data("conf.d");
    let servers = |c: &Config| -> Vec<String> {
        c.servers
            .iter()
            .map(|s| forward_addr(&s.action).ip().to_string())
            .collect()
    };
    let c = ok(&["--conf-file", "--conf-dir", &dir]);
    assert_eq!(
        servers(&c),
        ["192.0.2.21", "192.0.2.22", "192.0.2.23", "192.0.2.27"]
    );
    let c = ok(&["-7", &format!("{dir},.bak,.txt")]);
    assert_eq!(servers(&c), ["192.0.2.21", "192.0.2.22"]);
    let c = ok(&[&format!("--conf-dir={dir},*.conf")]);
    assert_eq!(servers(&c), ["192.0.2.21", "192.0.2.22"]);
    let c = ok(&[&format!("--conf-dir={dir},*.txt,*.bak")]);
    assert_eq!(servers(&c), ["192.0.2.23", "192.0.2.27"]);
    assert_eq!(c.conf_files_read.len(), 2);
    let e = err(&["-7", "/nonexistent/ringmasq.d"]);
    assert!(e.to_string().contains("conf-dir"), "{e}");
}

#[test]
fn servers_file_is_restricted_and_remembered() {
    let list = data("servers.list");
    let c = ok(&["--servers-file", &list, "--server=192.0.2.1"]);
    assert_eq!(c.servers_files, [PathBuf::from(&list)]);
    assert_eq!(c.servers.len(), 4);
    assert_eq!(c.servers[1].domains.len(), 1);
    assert_eq!(c.servers[3].origin, Origin::CommandLine);
    let again = load_servers_file(Path::new(&list)).unwrap();
    assert_eq!(&again[..], &c.servers[..3]);

    let bad = data("servers-bad.list");
    let e = err(&["--servers-file", &bad]);
    assert!(
        e.to_string().contains(&format!(
            "{bad} line 2: option `port` is not allowed in a servers-file"
        )),
        "{e}"
    );
    assert!(load_servers_file(Path::new(&bad)).is_err());
}

#[test]
fn includes_are_read_once() {
    let dir = scratch("loop");
    let a = dir.join("a.conf");
    let b = dir.join("b.conf");
    std::fs::write(&a, format!("port=1\nconf-file={}\n", b.display())).unwrap();
    std::fs::write(&b, format!("conf-file={}\nserver=192.0.2.1\n", a.display())).unwrap();
    let c = ok(&["-C", a.to_str().unwrap(), "-C", b.to_str().unwrap()]);
    assert_eq!(c.conf_files_read, [a, b]);
    assert_eq!(c.servers.len(), 1);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn resolv_file_replaces_then_accumulates_or_clears() {
    let c = ok(&["-r", "/a", "--resolv-file=/b"]);
    assert_eq!(c.resolv_files, [PathBuf::from("/a"), PathBuf::from("/b")]);
    let c = ok(&["--resolv-file"]);
    assert!(c.resolv_files.is_empty());
    let c = ok(&["-R"]);
    assert!(c.effective_resolv_files().is_empty());
}

#[test]
fn value_validation_and_clamping() {
    assert_eq!(ok(&["-c", "999999999"]).cache_size, 5_000_000);
    assert_eq!(ok(&["-P", "100"]).edns_packet_max, 512);
    assert_eq!(
        ok(&["--fast-dns-retry"]).fast_dns_retry,
        Some((1000, 10_000))
    );
    assert_eq!(
        ok(&["--fast-dns-retry=50"]).fast_dns_retry,
        Some((50, 10_000))
    );
    assert_eq!(ok(&["--use-stale-cache=0"]).use_stale_cache, Some(0));
    assert_eq!(
        ok(&["--local-service"]).local_service,
        Some(LocalService::Net)
    );
    assert_eq!(ok(&["--threads=0"]).threads, None);
    assert_eq!(ok(&["--io-backend=uring"]).io_backend, IoBackend::Uring);
    assert_eq!(ok(&["-p", "0"]).port, 0);
    // Empty numbers read as 0 and empty interface names add nothing, as in dnsmasq.
    assert_eq!(ok(&["--port="]).port, 0);
    assert_eq!(ok(&["--local-ttl=", "-c", ""]).cache_size, 0);
    assert!(ok(&["--interface="]).interfaces.is_empty());
    assert_eq!(
        ok(&["-x", "/tmp/r.pid"]).pid_file,
        Some(PathBuf::from("/tmp/r.pid"))
    );
    assert_eq!(ok(&["-8", "-"]).log_facility.as_deref(), Some("-"));
    assert_eq!(
        ok(&["-8", "/var/log/r.log"]).log_facility.as_deref(),
        Some("/var/log/r.log")
    );
    for bad in [
        &["--fast-dns-retry=49"][..],
        &["--fast-dns-retry=100,x"],
        &["--max-tcp-connections=0"],
        &["--local-service=NET"],
        &["-8", "bogus"],
        &["-a", "127.0.0.1,bogus"],
        &["-a", "::1%lo"],
        &["-P", "70000"],
        &["--threads=5000"],
        &["--io-backend=kqueue"],
        &["--tcp-idle-timeout=0"],
        &["--neg-ttl=1h"],
        &["--log-queries=foo"],
        &["--min-port=2000", "--max-port=1000"],
        &["--rev-server=1.2.3.0/33,1.1.1.1"],
        &["-i", "waytoolonginterfacename"],
    ] {
        let e = err(bad);
        assert!(e.to_string().contains("command line"), "{bad:?}: {e}");
    }
}

#[test]
fn unknown_options_are_errors_everywhere() {
    let e = err(&["--frobnicate"]);
    assert!(matches!(e.errors(), [ConfigError::UnknownOption { .. }]));
    let dir = scratch("unknown");
    let f = dir.join("u.conf");
    std::fs::write(&f, "\n\nfrobnicate=1\n").unwrap();
    let e = err(&["-C", f.to_str().unwrap()]);
    assert_eq!(
        e.to_string(),
        format!("{} line 3: unknown option `frobnicate`", f.display())
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn test_help_and_version_flags() {
    let c = ok(&["--test"]);
    assert!(c.test_only);
    assert!(ok(&["-w"]).show_help);
    assert!(ok(&["-v"]).show_version);
}

/// Uncomments every option line of Debian's dnsmasq.conf.example (when
/// installed) and checks each is accepted or named as not implemented, never
/// reported as unknown.
#[test]
fn dnsmasq_example_options_are_all_known() {
    let example = Path::new("/usr/share/doc/dnsmasq-base/examples/dnsmasq.conf.example");
    let Ok(text) = std::fs::read_to_string(example) else {
        println!("note: {} not installed; skipping", example.display());
        return;
    };
    let dir = scratch("example");
    let mut out = String::new();
    let mut count = 0;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix('#') else {
            continue;
        };
        let key = rest.split('=').next().unwrap_or("");
        if !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            let key_only = key.to_string();
            if matches!(
                key_only.as_str(),
                "conf-file" | "conf-dir" | "servers-file" | "dhcp-hostsfile"
            ) {
                continue; // would read files that do not exist here
            }
            out.push_str(rest);
            out.push('\n');
            count += 1;
        }
    }
    assert!(count > 100, "only {count} option lines found");
    let file = dir.join("example.conf");
    std::fs::write(&file, &out).unwrap();
    match load(&["-C", file.to_str().unwrap()]) {
        Ok(_) => {}
        Err(e) => {
            for error in e.errors() {
                assert!(
                    !matches!(
                        error,
                        ConfigError::UnknownOption { .. } | ConfigError::Syntax { .. }
                    ),
                    "{error}"
                );
            }
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}
