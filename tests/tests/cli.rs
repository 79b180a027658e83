//! The command line without a server: `--help`, `--version`, and `--test` on good and bad
//! configuration files (every error reported, each naming its file and line).

use std::process::{Command, Output};

use anyhow::{Context, ensure};
use ringmasq_tests::TempDir;
use ringmasq_tests::binary::ringmasq_bin;

fn run(args: &[&str]) -> anyhow::Result<(Output, String, String)> {
    let out = Command::new(ringmasq_bin()?)
        .args(args)
        .output()
        .context("run ringmasq")?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    Ok((out, stdout, stderr))
}

#[test]
fn help_lists_options_and_exits_zero() -> anyhow::Result<()> {
    for flag in ["--help", "-w"] {
        let (out, stdout, _) = run(&[flag])?;
        ensure!(out.status.success(), "{flag}: {}", out.status);
        for needle in [
            "Usage: ringmasq",
            "-p, --port",
            "-u, --user",
            "-g, --group",
            "-8, --log-facility",
            "--log-async",
            "-x, --pid-file",
            "--test",
            "Unlike dnsmasq there is no default",
        ] {
            ensure!(
                stdout.contains(needle),
                "{flag}: no {needle:?} in\n{stdout}"
            );
        }
    }
    Ok(())
}

#[test]
fn version_prints_name_and_number() -> anyhow::Result<()> {
    for flag in ["--version", "-v"] {
        let (out, stdout, _) = run(&[flag])?;
        ensure!(out.status.success(), "{flag}: {}", out.status);
        ensure!(
            stdout.starts_with("ringmasq version ") && stdout.trim().len() > 17,
            "{stdout}"
        );
    }
    Ok(())
}

#[test]
fn test_accepts_a_good_configuration() -> anyhow::Result<()> {
    let dir = TempDir::new("rmq-cli")?;
    let extra = dir.join("extra.conf");
    std::fs::write(&extra, "server=/lab.test/127.0.0.1#5353\nlog-async=20\n")?;
    let conf = dir.join("good.conf");
    std::fs::write(
        &conf,
        format!(
            "# a good file\nport=5353\nlisten-address=127.0.0.1\nno-resolv\nserver=192.0.2.1\n\
             cache-size=1000\nuser=nobody\nlog-facility=local0\nlog-debug\n\
             pid-file={}\nconf-file={}\n",
            dir.join("x.pid").display(),
            extra.display()
        ),
    )?;
    let (out, stdout, stderr) = run(&["--test", "-C", conf.to_str().unwrap()])?;
    ensure!(out.status.success(), "{}: {stdout}{stderr}", out.status);
    ensure!(
        stdout.contains("ringmasq: syntax check OK."),
        "{stdout}{stderr}"
    );
    // --test never starts a server.
    ensure!(!dir.join("x.pid").exists(), "--test wrote the pid file");
    Ok(())
}

#[test]
fn test_reports_every_error_with_file_and_line() -> anyhow::Result<()> {
    let dir = TempDir::new("rmq-cli")?;
    let included = dir.join("included.conf");
    std::fs::write(&included, "# fine\ncache-size=lots\n")?;
    let conf = dir.join("bad.conf");
    std::fs::write(
        &conf,
        format!(
            "port=5353\nport=70000\nno-such-option\nconf-file={}\nlog-facility=nowhere\n",
            included.display()
        ),
    )?;
    let path = conf.display().to_string();
    let (out, stdout, stderr) = run(&["--test", "-C", &path])?;
    ensure!(!out.status.success(), "bad file passed: {stdout}");
    ensure!(!stdout.contains("syntax check OK"), "{stdout}");
    for needle in [
        format!("{path} line 2: option `port`: bad value `70000`"),
        format!("{path} line 3: unknown option `no-such-option`"),
        format!(
            "{} line 2: option `cache-size`: bad value `lots`",
            included.display()
        ),
        format!("{path} line 5: option `log-facility`: bad value `nowhere`"),
    ] {
        ensure!(stderr.contains(&needle), "no {needle:?} in\n{stderr}");
    }
    Ok(())
}

#[test]
fn test_reports_unknown_user_and_group() -> anyhow::Result<()> {
    let (out, stdout, stderr) = run(&[
        "--test",
        "--conf-file=/dev/null",
        "--user=no-such-user-rmq",
        "--group=no-such-group-rmq",
    ])?;
    ensure!(!out.status.success(), "{stdout}");
    ensure!(
        stderr.contains("unknown user or group: no-such-user-rmq"),
        "{stderr}"
    );
    // Only the first unknown name is reported (as dnsmasq), so fix it and try again.
    let (out, _, stderr) = run(&[
        "--test",
        "--conf-file=/dev/null",
        "--user=nobody",
        "--group=no-such-group-rmq",
    ])?;
    ensure!(!out.status.success());
    ensure!(
        stderr.contains("unknown user or group: no-such-group-rmq"),
        "{stderr}"
    );
    Ok(())
}
