//! A pull through an APK cache as a verification: the index, then one package, each
//! reported as a [`Check`] with the caller's hint on failure. Backends call
//! [`check_repository`] from their `verify` instead of fetching by hand, so every cache of
//! APK packages is verified by the same client that reads the index the way apk-tools does.

use std::time::Instant;

use pull_through_core::Check;

use crate::fetch::RepoClient;
use crate::index::ApkIndex;

/// Fetches `<arch>/APKINDEX.tar.gz` through `client`, then `package` (or, when `None`, a
/// package with `+` in its name if there is one, since URL normalization mangles those,
/// else the first), and reports each step. A named package missing from the index is a
/// failed check: a probe that fetches nothing must not pass. `hint` turns a failure's text
/// into the vendor's advice.
///
/// The index is read without verifying its signature: the cache's keys are the upstream's,
/// which the caller may not have; what is checked here is that the cache answers.
///
/// ```no_run
/// use apk_repo::fetch::RepoClient;
/// use apk_repo::probe::check_repository;
/// # async fn example() -> Result<(), apk_repo::index::IndexError> {
/// let client = RepoClient::builder("https://packages.wolfi.dev/os".parse().unwrap()).build()?;
/// for check in check_repository(&client, "x86_64", Some("busybox"), |_| None).await {
///     println!("{check}");
/// }
/// # Ok(()) }
/// ```
pub async fn check_repository(
    client: &RepoClient,
    arch: &str,
    package: Option<&str>,
    hint: impl Fn(&str) -> Option<String>,
) -> Vec<Check> {
    let started = Instant::now();
    let step = format!("{arch}/APKINDEX.tar.gz");
    let index = match client.fetch_index(arch).await {
        Ok(bytes) => ApkIndex::read_unverified(&bytes).map_err(|err| err.to_string()),
        Err(err) => Err(err.to_string()),
    };
    let index = match index {
        Ok(index) => index,
        Err(problem) => {
            let advice = hint(&problem);
            return vec![Check::failed(step, problem, advice, started.elapsed())];
        }
    };
    let mut checks = vec![Check::passed(
        step,
        format!("{} packages", index.packages.len()),
        started.elapsed(),
    )];
    let wanted = package.map(str::to_owned).or_else(|| {
        index
            .packages
            .iter()
            .find(|p| p.name.contains('+'))
            .or(index.packages.first())
            .map(|p| p.name.clone())
    });
    let Some(wanted) = wanted else {
        return checks;
    };
    let Some(found) = index.packages.iter().find(|p| p.name == wanted) else {
        checks.push(Check::failed(
            format!("package {wanted}"),
            format!("{wanted} is not in {arch}/APKINDEX.tar.gz"),
            Some(
                "probe a package the repository has (`pull-through apk search --repo ...`)"
                    .to_owned(),
            ),
            started.elapsed(),
        ));
        return checks;
    };
    let file = found.file_name();
    let at = Instant::now();
    checks.push(match client.fetch_file(arch, &file).await {
        Ok(_) => Check::passed(format!("package {file}"), "fetched", at.elapsed()),
        Err(err) => {
            let problem = err.to_string();
            let advice = hint(&problem);
            Check::failed(format!("package {file}"), problem, advice, at.elapsed())
        }
    });
    checks
}
