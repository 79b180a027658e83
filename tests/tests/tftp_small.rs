//! Small files in octet and netascii mode with every client, including empty files and sizes
//! that are exact multiples of the block size (they end with an empty DATA block).

use std::path::Path;

use ringmasq_tests::tftp::{TftpServer, pattern};
use ringmasq_tests::{Backend, backend_tests};

type Fetch<'a> = Box<dyn Fn(&Path) -> std::process::Output + 'a>;

fn ok(o: &std::process::Output, what: &str) {
    assert!(
        o.status.success(),
        "{what}: {:?} {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
}

fn small_files_with_every_client(b: Backend) -> anyhow::Result<()> {
    let sizes = [0usize, 1, 511, 512, 513, 1468, 2936, 100_000];
    let s = TftpServer::start(b, &[], |root| {
        for n in sizes {
            std::fs::write(root.join(format!("f{n}")), pattern(n, n as u64 + 1)).unwrap();
        }
        std::fs::create_dir_all(root.join("boot/efi")).unwrap();
        std::fs::write(root.join("boot/efi/grubx64.efi"), b"grub").unwrap();
        std::fs::write(root.join("text.cfg"), b"line one\nline two\r\nbare\rcr\n").unwrap();
    })
    .unwrap();
    let tmp = s.scratch("out");
    for n in sizes {
        let want = std::fs::read(s.root().join(format!("f{n}"))).unwrap();
        let name = format!("f{n}");
        let cases: Vec<(&str, Fetch)> = vec![
            ("curl", Box::new(|o: &Path| s.curl(&name, None, o))),
            (
                "curl 1468",
                Box::new(|o: &Path| s.curl(&name, Some(1468), o)),
            ),
            (
                "tftp-hpa",
                Box::new(|o: &Path| s.tftp_hpa(&name, "binary", o)),
            ),
            ("atftp", Box::new(|o: &Path| s.atftp(&name, &[], o))),
            (
                "atftp window",
                Box::new(|o: &Path| s.atftp(&name, &[("blksize", 512), ("windowsize", 4)], o)),
            ),
        ];
        for (what, f) in cases {
            let out = tmp.join(format!("{what}-{n}").replace(' ', "_"));
            ok(&f(&out), &format!("{what} size {n}"));
            assert_eq!(std::fs::read(&out).unwrap(), want, "{what} size {n}");
        }
    }
    // Subdirectories, and a leading slash taken inside the root.
    let out = tmp.join("grub");
    ok(
        &s.tftp_hpa("/boot/efi/grubx64.efi", "binary", &out),
        "nested",
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"grub");
    // netascii: converted on the wire, converted back by the client.
    let out = tmp.join("text");
    ok(&s.tftp_hpa("text.cfg", "netascii", &out), "netascii");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        b"line one\nline two\r\nbare\rcr\n"
    );
    Ok(())
}

backend_tests!(small_files_with_every_client);
