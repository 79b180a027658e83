//! Path safety: traversal through `..`, absolute names, symlinks leaving the root, backslashes
//! and odd encodings all get a TFTP error and nothing outside the root is sent; write requests
//! and missing files get clear errors; `--tftp-secure`, `--tftp-lowercase` and
//! `--tftp-unique-root` change what is served as dnsmasq does.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::time::Duration;

use ringmasq_tests::tftp::{Reply, TftpServer};
use ringmasq_tests::{Backend, backend_tests};

const SECRET: &[u8] = b"outside-the-root secret\n";

/// The first reply to a read request for `name`.
fn first_reply(s: &TftpServer, name: &[u8]) -> Reply {
    let c = s.raw_client(Duration::from_secs(3)).unwrap();
    let mut b = vec![0, 1];
    b.extend_from_slice(name);
    b.extend_from_slice(b"\0octet\0");
    c.request(&b).unwrap();
    c.recv().unwrap()
}

fn nothing_outside_the_root_is_served(b: Backend) -> anyhow::Result<()> {
    let s = TftpServer::start(b, &[], |root| {
        let parent = root.parent().unwrap();
        std::fs::write(parent.join("secret.txt"), SECRET).unwrap();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("ok.txt"), b"inside").unwrap();
        symlink(parent.join("secret.txt"), root.join("abs-link")).unwrap();
        symlink("../secret.txt", root.join("rel-link")).unwrap();
        symlink("../../secret.txt", root.join("sub/deep-link")).unwrap();
        symlink("..", root.join("sub/up")).unwrap();
        symlink("../ok.txt", root.join("sub/inside-link")).unwrap();
    })
    .unwrap();
    let parent = s.root().parent().unwrap().to_path_buf();
    let abs_secret = parent.join("secret.txt");
    let attempts: Vec<Vec<u8>> = vec![
        b"../secret.txt".to_vec(),
        b"sub/../../secret.txt".to_vec(),
        b"..\\secret.txt".to_vec(),
        b"sub\\..\\..\\secret.txt".to_vec(),
        b"abs-link".to_vec(),
        b"rel-link".to_vec(),
        b"sub/deep-link".to_vec(),
        b"sub/up/secret.txt".to_vec(),
        b"sub/up/../secret.txt".to_vec(),
        b"/proc/self/root/etc/passwd".to_vec(),
        abs_secret.as_os_str().as_encoded_bytes().to_vec(),
        b"ok.txt\nsecret".to_vec(),
    ];
    for a in &attempts {
        match first_reply(&s, a) {
            Reply::Error(code, msg) => {
                assert!(
                    code == 1 || code == 2,
                    "{:?}: {code} {msg}",
                    String::from_utf8_lossy(a)
                );
                assert!(!msg.is_empty());
            }
            other => panic!(
                "{:?} was answered with {other:?}",
                String::from_utf8_lossy(a)
            ),
        }
    }
    // Odd encodings are plain (missing) names, never decoded into `..`.
    for a in [
        &b"%2e%2e/secret.txt"[..],
        b"\xc0\xae\xc0\xae/secret.txt",
        b"..%2fsecret.txt",
    ] {
        assert_eq!(
            first_reply(&s, a),
            Reply::Error(1, "file not found".into()),
            "{:?}",
            String::from_utf8_lossy(a)
        );
    }
    // A symlink that stays inside the root works, and so does a real client on a bad name.
    let out = s.scratch("o").join("x");
    let o = s.tftp_hpa("sub/inside-link", "binary", &out);
    assert!(o.status.success());
    assert_eq!(std::fs::read(&out).unwrap(), b"inside");
    let o = s.tftp_hpa("../secret.txt", "binary", &out);
    let text = String::from_utf8_lossy(&o.stderr).to_string() + &String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("Error code 2"), "{text}");
    assert!(s.wait_log("TFTP sent", Duration::from_secs(3)));
    let log = s.log();
    assert!(
        log.lines()
            .filter(|l| l.contains("TFTP sent"))
            .all(|l| !l.contains("secret")),
        "{log}"
    );
    assert_eq!(log.matches("TFTP sent").count(), 1, "{log}");
    Ok(())
}

fn write_requests_and_missing_files_get_clear_errors(b: Backend) -> anyhow::Result<()> {
    let s =
        TftpServer::start(b, &[], |root| std::fs::write(root.join("a"), b"a").unwrap()).unwrap();
    let c = s.raw_client(Duration::from_secs(3)).unwrap();
    c.request(b"\x00\x02new.img\x00octet\x00").unwrap();
    match c.recv().unwrap() {
        Reply::Error(2, m) => assert!(m.contains("read-only"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(!s.root().join("new.img").exists());
    assert_eq!(
        first_reply(&s, b"missing.img"),
        Reply::Error(1, "file not found".into())
    );
    assert_eq!(
        first_reply(&s, b"/"),
        Reply::Error(1, "file not found".into())
    );
    assert_eq!(
        first_reply(&s, b"./"),
        Reply::Error(1, "file not found".into())
    );
    Ok(())
}

fn secure_lowercase_and_unique_root(b: Backend) -> anyhow::Result<()> {
    let s = TftpServer::start(
        b,
        &["--tftp-secure", "--tftp-lowercase", "--tftp-unique-root"],
        |root| {
            std::fs::create_dir_all(root.join("127.0.0.1")).unwrap();
            std::fs::write(root.join("pxelinux.0"), b"not this one").unwrap();
            let private = root.join("127.0.0.1/private.img");
            std::fs::write(&private, b"private").unwrap();
            std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600)).unwrap();
            // The client connects from 127.0.0.1: its own directory wins.
            std::fs::create_dir_all(root.join("127.0.0.1")).unwrap();
            std::fs::write(root.join("127.0.0.1/mine.cfg"), b"for 127.0.0.1").unwrap();
            std::fs::write(root.join("127.0.0.1/pxelinux.0"), b"shared").unwrap();
            std::fs::write(root.join("mine.cfg"), b"for everyone").unwrap();
        },
    )
    .unwrap();
    let out = s.scratch("o").join("x");
    // --tftp-lowercase: the upper-case request finds the lower-case file (in the client's
    // own directory: with --tftp-unique-root that directory is the client's whole root).
    assert!(s.tftp_hpa("PXELINUX.0", "binary", &out).status.success());
    assert_eq!(std::fs::read(&out).unwrap(), b"shared");
    // --tftp-unique-root: the client's own directory.
    assert!(s.tftp_hpa("mine.cfg", "binary", &out).status.success());
    assert_eq!(std::fs::read(&out).unwrap(), b"for 127.0.0.1");
    // --tftp-secure as root: a file not world-readable is refused.
    if unsafe_euid() == 0 {
        match first_reply(&s, b"private.img") {
            Reply::Error(2, m) => assert!(m.contains("tftp-secure"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
    Ok(())
}

fn unsafe_euid() -> u32 {
    // SAFETY: geteuid only reads this process's credentials.
    unsafe { libc::geteuid() }
}

backend_tests!(
    nothing_outside_the_root_is_served,
    write_requests_and_missing_files_get_clear_errors,
    secure_lowercase_and_unique_root
);
