//! The DNSSEC options at start: the shipped root anchors file is accepted with `--dnssec`,
//! `--dnssec` without a trust anchor is refused, and a bad `--trust-anchor` or
//! `--dnssec-limits` line is reported with its file and line.

use std::path::PathBuf;
use std::process::Command;

use anyhow::ensure;
use ringmasq_tests::TempDir;
use ringmasq_tests::binary::ringmasq_bin;

fn run(args: &[String]) -> anyhow::Result<(bool, String)> {
    let out = Command::new(ringmasq_bin()?).args(args).output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text))
}

#[test]
fn dnssec_options_at_start() -> anyhow::Result<()> {
    let anchors = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../contrib/trust-anchors.conf");
    let (ok, text) = run(&[
        "--test".into(),
        "--dnssec".into(),
        "--dnssec-check-unsigned=no".into(),
        "--dnssec-limits=0,0,20".into(),
        format!("--conf-file={}", anchors.display()),
    ])?;
    ensure!(ok, "root anchors refused: {text}");

    let (ok, text) = run(&["--test".into(), "--dnssec".into()])?;
    ensure!(
        !ok && text.contains("trust-anchor"),
        "--dnssec alone accepted: {text}"
    );

    let dir = TempDir::new("dnssec-opts")?;
    let conf = dir.join("bad.conf");
    std::fs::write(
        &conf,
        "dnssec\ntrust-anchor=.,20326,8,2,E06D44B8\ntrust-anchor=.,20326,8,2,XYZ\ndnssec-limits=1,2,3,4,5\n",
    )?;
    let (ok, text) = run(&["--test".into(), format!("--conf-file={}", conf.display())])?;
    ensure!(!ok, "bad lines accepted: {text}");
    ensure!(
        text.contains("bad.conf") && text.contains("line 3"),
        "no file:line for the anchor: {text}"
    );
    ensure!(
        text.contains("line 4"),
        "no file:line for the limits: {text}"
    );
    Ok(())
}
