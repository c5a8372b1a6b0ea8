//! `pull-through sandbox serve`.

use std::time::Duration;

use pull_through_sandbox::artifactory::{Artifactory, FieldChecks};
use pull_through_sandbox::chainguard::Chainguard;
use pull_through_sandbox::{FaultKind, Sandbox};
use serde::Serialize;

use crate::Failure;
use crate::cli::{FaultMix, GlobalArgs, ServeArgs};
use crate::output::{check_writable_location, emit, open_journal};

/// What `sandbox serve --output json` prints once the sandbox is up.
#[derive(Debug, Serialize)]
struct Serving {
    endpoints: Vec<Endpoint>,
    env_file: Option<String>,
    journal: Option<String>,
    latency_ms: u64,
    fault_rate: f64,
    fault_mix: &'static str,
    seed: u64,
    /// Requests per second per credential, when limited.
    rate_limit: Option<f64>,
}

#[derive(Debug, Serialize)]
struct Endpoint {
    name: String,
    url: String,
}

pub(crate) async fn serve(global: &GlobalArgs, args: &ServeArgs) -> Result<(), Failure> {
    check_writable_location("--env-file", args.env_file.as_deref())?;
    check_writable_location("--journal", global.journal.as_deref())?;
    if args.seed.is_some() && args.fault_rate == 0.0 {
        eprintln!("note: --seed has no effect without --fault-rate");
    }
    let seed = args.seed.unwrap_or_else(time_seed);
    let org = pull_through_core::OrgName::new(args.org_name.clone())
        .map_err(|err| Failure::Usage(format!("--org-name: {err}")))?;
    let chainguard = Chainguard::new(org.as_str());
    // Lenient: users point their own tools and the vendors' SDKs here, which send every
    // documented field, as a real Artifactory accepts them (the library's default is strict).
    let artifactory = Artifactory::new().field_checks(FieldChecks::Lenient);
    let mut builder = Sandbox::builder()
        .chainguard(&chainguard)
        .cloudsmith(&pull_through_sandbox::cloudsmith::Cloudsmith::new())
        .artifactory(&artifactory)
        .gar(&crate::flow_cmd::sandbox_gar())
        .latency(Duration::from_millis(args.latency_ms));
    if args.fault_rate > 0.0 {
        builder = builder.random_faults_of(args.fault_rate, seed, kinds(args.fault_mix));
    }
    if let Some(rate) = args.rate_limit {
        builder = builder.rate_limit(rate);
    }
    if let Some(path) = &global.journal {
        // The program's own checks and message come first; the sandbox then opens the
        // same file by its own rules (no link, 0600, the file that was checked).
        drop(open_journal(path)?);
        builder = builder.journal_file(path);
    }
    let sandbox = builder
        .start()
        .await
        .map_err(|err| Failure::Step(err.to_string()))?;
    if let Some(path) = &args.env_file {
        sandbox.write_env_file(path).map_err(|err| {
            Failure::Step(format!(
                "could not write the env file {}: {err}",
                path.display()
            ))
        })?;
    }

    let serving = Serving {
        endpoints: sandbox
            .endpoints()
            .iter()
            .map(|(name, url)| Endpoint {
                name: name.clone(),
                url: url.to_string(),
            })
            .collect(),
        env_file: args.env_file.as_ref().map(|p| p.display().to_string()),
        journal: global.journal.as_ref().map(|p| p.display().to_string()),
        latency_ms: args.latency_ms,
        fault_rate: args.fault_rate,
        fault_mix: mix_name(args.fault_mix),
        seed,
        rate_limit: args.rate_limit,
    };
    emit(global.output, &serving, || human(&serving, args.stop_after))?;

    match args.stop_after {
        Some(seconds) => tokio::time::sleep(Duration::from_secs(seconds)).await,
        None => wait_for_signal().await,
    }
    sandbox.shutdown().await;
    Ok(())
}

fn human(serving: &Serving, stop_after: Option<u64>) -> String {
    let mut text = String::from("pull-through sandbox is serving:\n");
    for endpoint in &serving.endpoints {
        text.push_str(&format!("  {:<20} {}\n", endpoint.name, endpoint.url));
    }
    text.push_str(
        "  \"cloudsmith\" is api.cloudsmith.io and \"cloudsmith-docker\" docker.cloudsmith.io, \
         for workspace pull-through-sandbox and user sandbox-user (CLOUDSMITH_API_KEY, \
         CLOUDSMITH_API_URL, CLOUDSMITH_DOCKER_URL, CLOUDSMITH_OWNER and CLOUDSMITH_USER in \
         the env file)\n",
    );
    text.push_str(
        "  control endpoints on every port: GET /_sandbox/journal, POST /_sandbox/reset, \
         GET|POST|DELETE /_sandbox/faults, DELETE /_sandbox/faults/random, GET \
         /_sandbox/services, GET /_sandbox/state (what each fake holds)\n",
    );
    text.push_str(
        "  fakes stand in for console-api.enforce.dev, issuer.enforce.dev, cgr.dev, apk.cgr.dev and \
         virtualapk.cgr.dev; \"artifactory\" is a JFrog Artifactory instance (ARTIFACTORY_URL); \
         \"artifactregistry\", \"secretmanager\" and \"cloudresourcemanager\" are Google's APIs \
         and \"gar-docker\" is LOCATION-docker.pkg.dev, for project pull-through-sandbox in \
         us-central1 (GOOGLE_CLOUD_PROJECT, GOOGLE_OAUTH_ACCESS_TOKEN and gcloud's \
         CLOUDSDK_API_ENDPOINT_OVERRIDES_* in the env file)\n",
    );
    if serving.fault_rate > 0.0 {
        text.push_str(&format!(
            "  faults: {} of requests ({}), seed {} (repeat with --seed {})\n",
            serving.fault_rate,
            match serving.fault_mix {
                "unprocessed" =>
                    "500, 502, 503, 429 or a dropped connection, instead of the request",
                "lost-answers" => "lost answers: performed, then a 502 or a dropped connection",
                _ => "500, 502, 503, 429, a dropped connection, or a lost answer",
            },
            serving.seed,
            serving.seed
        ));
    }
    if let Some(rate) = serving.rate_limit {
        text.push_str(&format!(
            "  rate limit: {rate} requests per second per credential, then 429 (with Retry-After \
             only from the Cloudsmith API, as the vendors document)\n"
        ));
    }
    if serving.latency_ms > 0 {
        text.push_str(&format!(
            "  latency: {} ms per answer\n",
            serving.latency_ms
        ));
    }
    match &serving.env_file {
        Some(path) => text.push_str(&format!("  env file: {path} (mode 0600)\n")),
        None => text.push_str("  no env file written; pass --env-file FILE to write one\n"),
    }
    if let Some(path) = &serving.journal {
        text.push_str(&format!("  journal: {path}\n"));
    }
    text.push_str(&match stop_after {
        Some(seconds) => format!("stopping after {seconds} s"),
        None => "press Ctrl-C to stop".to_owned(),
    });
    text
}

/// The kinds `--fault-mix` names.
fn kinds(mix: FaultMix) -> Vec<FaultKind> {
    match mix {
        FaultMix::All => FaultKind::DEFAULT_MIX.to_vec(),
        FaultMix::Unprocessed => FaultKind::UNPROCESSED_MIX.to_vec(),
        FaultMix::LostAnswers => FaultKind::LOST_ANSWER_MIX.to_vec(),
    }
}

fn mix_name(mix: FaultMix) -> &'static str {
    match mix {
        FaultMix::All => "all",
        FaultMix::Unprocessed => "unprocessed",
        FaultMix::LostAnswers => "lost-answers",
    }
}

fn time_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos() as u64)
        .unwrap_or(0)
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
