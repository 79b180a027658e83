//! Malformed answers from the upstream itself (right address, port and ID): a scripted upstream
//! answers each forwarded question `cN.hostile.test` with class N of the corpus in
//! `hostile_answers`, then 5 ms later with a good answer. Data from a malformed message never
//! reaches the client or the cache: the client gets the good answer or SERVFAIL, twice in a row
//! (the second time the cache would show a stored bad answer), every bad message is counted in
//! `malformed-answer` or `rejected-answer`, and the server stays up.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::ensure;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, RecordType};
use ringmasq_tests::drops::{delta, stats};
use ringmasq_tests::hostile_answers::{GOOD, MARK, classes, good};
use ringmasq_tests::scripted::ScriptedUpstream;
use ringmasq_tests::{Backend, Ringmasq, backend_tests};

fn hostile_upstream(backend: Backend) -> anyhow::Result<()> {
    let upstream = ScriptedUpstream::start(
        Duration::from_millis(5),
        Box::new(|rx| {
            let n: Option<usize> = rx
                .name
                .strip_prefix('c')
                .and_then(|r| r.split('.').next())
                .and_then(|n| n.parse().ok());
            let all = classes();
            match n.and_then(|n| all.get(n)) {
                Some((_, build)) => vec![build(rx), good(rx)],
                None => vec![good(rx)],
            }
        }),
    )?;
    let mut rm = Ringmasq::start(backend, &upstream.server_spec())?;
    let client = rm.client().timeout(Duration::from_secs(3));
    let all = classes();
    let mut outcomes = Vec::new();
    for (i, (name, _)) in all.iter().enumerate() {
        let before = stats(&rm)?;
        let qname = format!("c{i}.hostile.test.");
        let mut seen = Vec::new();
        for round in 0..2 {
            let m = client.query(&qname, RecordType::A)?;
            let addrs: Vec<IpAddr> = m
                .answers
                .iter()
                .filter_map(|r| match &r.data {
                    RData::A(a) => Some(IpAddr::V4(a.0)),
                    _ => None,
                })
                .collect();
            ensure!(
                !addrs.contains(&IpAddr::V4(MARK)),
                "{name} (round {round}): data from the malformed answer reached the client: {m:?}"
            );
            let rc = m.metadata.response_code;
            ensure!(
                (rc == ResponseCode::NoError && addrs == [IpAddr::V4(GOOD)])
                    || rc == ResponseCode::ServFail,
                "{name} (round {round}): expected the good answer or SERVFAIL, got {rc:?} {addrs:?}"
            );
            seen.push(rc);
        }
        rm.check_running()?;
        // The counters are read from SIGUSR1's log lines; read again (bounded) until the drop
        // shows, since the statistics can be written a moment before the count reaches them.
        let mut counted = 0;
        for _ in 0..20 {
            let after = stats(&rm)?;
            counted = delta(&before, &after, "malformed-answer")
                + delta(&before, &after, "rejected-answer");
            if counted >= 1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        ensure!(counted >= 1, "{name}: the malformed answer was not counted");
        outcomes.push(format!("{name}: {seen:?}, {counted} counted"));
    }
    eprintln!("{}", outcomes.join("\n"));
    ensure!(
        upstream.queries() >= all.len() as u64,
        "upstream saw too few queries"
    );
    Ok(())
}

backend_tests!(hostile_upstream);
