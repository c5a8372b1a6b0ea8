//! Parse-and-verify speed and peak memory of APKINDEX reading, against `gzip -dc` of the
//! same file: the Alpine v3.16 index from `../shared/testdata/apk` (skipped when absent)
//! and a generated, signed 200,000-package index.
//!
//! Run with `cargo bench -p apk-repo --bench apkindex`. Peak memory is each measurement's
//! own: it runs in a child process and reads `VmHWM` from `/proc/self/status` (Linux).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use apk_repo::index::{
    ApkIndex, Keyring, Package, ReadOptions, SignedIndex, SigningKey, for_each_package, sign_index,
    write_index,
};

const RUNS: usize = 5;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--child") {
        child(
            &args[at + 1],
            Path::new(&args[at + 2]),
            Path::new(&args[at + 3]),
        );
        return;
    }
    let scratch = tempfile::tempdir().expect("a temporary folder");
    let mut cases = Vec::new();
    let alpine = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/testdata/apk/alpine-v3.16-main-x86_64");
    if alpine.is_dir() {
        cases.push((
            "alpine v3.16 main x86_64",
            alpine.join("APKINDEX.tar.gz"),
            alpine.clone(),
        ));
    } else {
        eprintln!("skipping the Alpine index: {} is absent", alpine.display());
    }
    let (generated, keys) = generate(scratch.path(), 200_000);
    cases.push(("generated 200,000 packages", generated, keys));

    println!(
        "{:<28} {:>10} {:>12} {:>9} {:>11} {:>11} {:>10} {:>10}",
        "index",
        "gz bytes",
        "text bytes",
        "packages",
        "gzip -dc",
        "verify+parse",
        "stream",
        "peak RSS"
    );
    for (label, file, keys) in cases {
        let bytes = std::fs::read(&file).expect("the index");
        let keyring = Keyring::from_dir(&keys).expect("the keys");
        let packages = ApkIndex::read(&bytes, &keyring)
            .expect("a valid index")
            .packages
            .len();
        let text_bytes = gzip_size(&file);
        let gzip = median(|| {
            let status = Command::new("gzip")
                .arg("-dc")
                .arg(&file)
                .stdout(std::process::Stdio::null())
                .status();
            assert!(
                status.map(|s| s.success()).unwrap_or(false),
                "gzip -dc failed (is gzip installed?)"
            );
        });
        let full = median(|| {
            let index = ApkIndex::read(&bytes, &keyring).expect("valid");
            std::hint::black_box(index.packages.len());
        });
        let stream = median(|| {
            let split = SignedIndex::split(&bytes).expect("valid");
            split.verify(&keyring).expect("trusted");
            let mut count = 0usize;
            for_each_package(split.signed, ReadOptions::default(), |_| {
                count += 1;
                Ok(())
            })
            .expect("valid");
            std::hint::black_box(count);
        });
        let peak_full = peak(&file, &keys, "read");
        let peak_stream = peak(&file, &keys, "stream");
        println!(
            "{:<28} {:>10} {:>12} {:>9} {:>9.1}ms {:>10.1}ms {:>8.1}ms {:>4}/{:>4} MiB",
            label,
            bytes.len(),
            text_bytes,
            packages,
            ms(gzip),
            ms(full),
            ms(stream),
            peak_full / 1024,
            peak_stream / 1024,
        );
    }
    println!(
        "\nmedian of {RUNS} runs; verify+parse = ApkIndex::read (signature check, every package \
         collected); stream = verify + for_each_package without collecting; peak RSS in a \
         child process for read/stream"
    );
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn median(mut run: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed()
        })
        .collect();
    times.sort();
    times[RUNS / 2]
}

fn gzip_size(file: &Path) -> usize {
    let output = Command::new("gzip")
        .arg("-dc")
        .arg(file)
        .output()
        .expect("gzip runs");
    output.stdout.len()
}

/// Peak resident memory, in KiB, of a child process that reads the index one way.
fn peak(file: &Path, keys: &Path, mode: &str) -> u64 {
    let output = Command::new(std::env::current_exe().expect("own path"))
        .args(["--child", mode])
        .arg(file)
        .arg(keys)
        .output()
        .expect("the child runs");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

fn child(mode: &str, file: &Path, keys: &Path) {
    let bytes = std::fs::read(file).expect("the index");
    let keyring = Keyring::from_dir(keys).expect("the keys");
    match mode {
        "read" => {
            let index = ApkIndex::read(&bytes, &keyring).expect("valid");
            std::hint::black_box(index.packages.len());
        }
        _ => {
            let split = SignedIndex::split(&bytes).expect("valid");
            split.verify(&keyring).expect("trusted");
            for_each_package(split.signed, ReadOptions::default(), |p| {
                std::hint::black_box(p);
                Ok(())
            })
            .expect("valid");
        }
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .unwrap_or(0);
    println!("{peak}");
}

/// A signed index of `count` packages shaped like Wolfi's (about 500 bytes a record).
fn generate(dir: &Path, count: usize) -> (PathBuf, PathBuf) {
    let key = SigningKey::generate("bench.rsa.pub").expect("a key");
    let packages: Vec<Package> = (0..count)
        .map(|i| {
            let mut p = Package::default();
            p.checksum = Some(format!("Q1{:027}=", i));
            p.name = format!(
                "package-{}-{}",
                i % 40_000,
                ["dev", "doc", "libs", "bin", "static"][i % 5]
            );
            p.version = format!("{}.{}.{}-r{}", i % 7, i % 13, i % 29, i % 5);
            p.arch = Some("x86_64".into());
            p.size = Some(10_000 + i as u64);
            p.installed_size = Some(40_000 + i as u64);
            p.description = Some(format!(
                "Generated package {i} for the APKINDEX benchmark: a plausible description"
            ));
            p.url = Some("https://example.com/project".into());
            p.license = Some("Apache-2.0 AND MIT".into());
            p.origin = Some(format!("package-{}", i % 40_000));
            p.maintainer = Some("Benchmark <bench@example.com>".into());
            p.build_time = Some(1_700_000_000 + i as u64);
            p.commit = Some(format!("{:040x}", i));
            p.depends = vec![
                "so:libc.so.6".into(),
                format!("so:libdep{}.so.1", i % 300),
                "ca-certificates-bundle".into(),
            ];
            p.provides = vec![
                format!("so:libpackage{i}.so.1=1"),
                format!("cmd:package-{i}={}", p.version),
            ];
            p
        })
        .collect();
    let signed = sign_index(&write_index(&packages, "generated"), &[&key]).expect("signed");
    let file = dir.join("APKINDEX.tar.gz");
    std::fs::write(&file, signed).expect("written");
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys).expect("keys folder");
    std::fs::write(keys.join(key.name()), key.public_key_pem()).expect("key written");
    (file, keys)
}
