//! The node's dependency tree holds none of the crates with known advisories that rosrust's XML-RPC
//! stack used to pull (crates/vendor/xml-rpc replaces them through `[patch.crates-io]`):
//! hyper 0.10 (RUSTSEC-2021-0078 request smuggling, RUSTSEC-2021-0079 integer overflow in
//! Transfer-Encoding parsing), time 0.1 (RUSTSEC-2020-0071), and rouille's unmaintained multipart and
//! buf_redux. Read from Cargo.lock, which is what every build of the node resolves.

use std::collections::BTreeSet;

fn locked_packages() -> BTreeSet<(String, String, bool)> {
    let lock = std::fs::read_to_string(sensorium_testkit::testdata::repo_root().join("Cargo.lock"))
        .expect("Cargo.lock at the repository root");
    let mut out = BTreeSet::new();
    for block in lock.split("[[package]]").skip(1) {
        let field = |k: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{k} = \"")))
                .map(|v| v.trim_end_matches('"').to_string())
        };
        if let (Some(name), Some(version)) = (field("name"), field("version")) {
            out.insert((name, version, field("source").is_some()));
        }
    }
    out
}

#[test]
fn no_known_vulnerable_or_unmaintained_crates_reach_the_node() {
    let pkgs = locked_packages();
    assert!(
        pkgs.iter().any(|(n, _, _)| n == "rosrust"),
        "Cargo.lock lists rosrust: {} packages",
        pkgs.len()
    );
    let bad: Vec<_> = pkgs
        .iter()
        .filter(|(n, v, _)| {
            (n == "hyper" && v.starts_with("0.10."))
                || (n == "time" && v.starts_with("0.1."))
                || ["rouille", "multipart", "buf_redux"].contains(&n.as_str())
        })
        .collect();
    assert!(
        bad.is_empty(),
        "known-vulnerable or unmaintained crates locked: {bad:?}"
    );
    // rosrust's XML-RPC is the patched copy in crates/vendor/xml-rpc (a path crate has no source)
    let xmlrpc: Vec<_> = pkgs.iter().filter(|(n, _, _)| n == "xml-rpc").collect();
    assert!(
        xmlrpc.len() == 1 && !xmlrpc[0].2,
        "xml-rpc must come from crates/vendor/xml-rpc: {xmlrpc:?}"
    );
}
