//! `pull-through plan | apply | verify | status | rotate | destroy`: a config file run
//! end to end. Without `--config` (and with no backend in the environment) the shipped
//! seeds config runs against the embedded sandbox.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal};

use clap::{Args, Subcommand};
use pull_through_core::{CacheState, ExposeSecret, FieldChange, Reveal};
use pull_through_fleet::{CacheOutcome, Config, Deployment, Environment};
use pull_through_sandbox::Sandbox;
use pull_through_sandbox::artifactory::Artifactory;
use pull_through_sandbox::chainguard::Chainguard;
use pull_through_sandbox::gar::Gar;
use serde_json::json;

use crate::Failure;
use crate::cli::{GlobalArgs, OutputFormat};
use crate::output::{check_writable_location, emit, fleet_failure, journal};
use crate::report::{self, Progress};

/// The config shipped with the program: everything in seeds 000, 001 and 003 on one
/// Artifactory, seed 002 on one Google Artifact Registry project, and seed 004 in one
/// Cloudsmith workspace. The default run applies it to the embedded sandbox.
pub(crate) const SEEDS: &str = include_str!("../seeds.toml");

/// The name the shipped config is reported under.
pub(crate) const SEEDS_FILE: &str = "examples/seeds.toml";

/// The flows.
#[derive(Debug, Subcommand)]
pub(crate) enum FlowCommand {
    /// What apply would create or change, field by field; writes nothing.
    Plan,
    /// Create what is missing, update what drifted, and print the client access. Without
    /// --config: the seeds on the embedded sandbox, then verify and a second plan.
    Apply,
    /// Pull through every cache as a client would; exit 1 if any fails, with the hint.
    Verify,
    /// What exists now, and this config's pull tokens and when they expire.
    Status,
    /// New pull tokens for the caches that have one: written, verified, and only then
    /// the old ones revoked.
    Rotate(RotateArgs),
    /// Delete the caches this config names and revoke the pull tokens it made.
    Destroy(DestroyArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RotateArgs {
    /// Only this cache (repeatable); every cache with a pull token when omitted.
    #[arg(long = "cache", value_name = "NAME")]
    caches: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct DestroyArgs {
    /// Do not ask for confirmation.
    #[arg(long)]
    yes: bool,
}

/// Where the config and the variables come from.
struct Source {
    config: Config,
    env: Environment,
    sandbox: Option<Sandbox>,
}

async fn source(global: &GlobalArgs) -> Result<Source, Failure> {
    if let Some(path) = &global.config {
        let text = std::fs::read_to_string(path)
            .map_err(|err| Failure::Usage(format!("--config {}: {err}", path.display())))?;
        let config = Config::parse(
            &path.display().to_string(),
            &text,
            &crate::factory::factories(),
        )
        .map_err(|err| Failure::Usage(err.to_string()))?;
        return Ok(Source {
            config,
            env: Environment::Process,
            sandbox: None,
        });
    }
    if let Some(var) = crate::factory::REAL_BACKEND_VARIABLES
        .iter()
        .find(|var| std::env::var_os(var).is_some())
    {
        return Err(Failure::Usage(format!(
            "{var} is set but no --config was given: pass --config {SEEDS_FILE} (or your own \
             file) to run against that instance, or unset {var} to run on the embedded sandbox"
        )));
    }
    let config = Config::parse(SEEDS_FILE, SEEDS, &crate::factory::factories())
        .map_err(|err| Failure::Usage(err.to_string()))?;
    let chainguard = Chainguard::new(config.org.as_str());
    let sandbox = Sandbox::builder()
        .chainguard(&chainguard)
        .cloudsmith(&pull_through_sandbox::cloudsmith::Cloudsmith::new())
        .artifactory(&Artifactory::new())
        .gar(&sandbox_gar())
        .start()
        .await
        .map_err(|err| Failure::Step(format!("could not start the embedded sandbox: {err}")))?;
    let env = Environment::fixed(sandbox.env());
    Ok(Source {
        config,
        env,
        sandbox: Some(sandbox),
    })
}

/// Google's fakes as the program runs them: each operation answers `done: false` when it
/// starts and is done at the first poll (the fake's default is two polls, for the
/// client's own tests). The client waits a second before its first poll, so this keeps a
/// repository's create or delete at about a second instead of three.
pub(crate) fn sandbox_gar() -> Gar {
    Gar::new().with_operation_polls(1)
}

pub(crate) async fn run(global: &GlobalArgs, command: &FlowCommand) -> Result<(), Failure> {
    check_writable_location("--journal", global.journal.as_deref())?;
    check_writable_location("--secrets-out", global.secrets_out.as_deref())?;
    let source = source(global).await?;
    let on_sandbox = source.sandbox.is_some();
    let journal = journal(global)?;
    let tokens = crate::factory::pull_tokens(&source.env, journal.clone())?;
    let deployment = Deployment::connect(
        source.config,
        &crate::factory::factories(),
        &source.env,
        tokens,
        journal,
        usize::from(global.concurrency),
    )
    .await
    .map_err(fleet_failure)?;
    let result = Flow {
        global,
        deployment: &deployment,
        on_sandbox,
    }
    .run(command)
    .await;
    if let Some(sandbox) = source.sandbox {
        sandbox.shutdown().await;
    }
    result
}

struct Flow<'a> {
    global: &'a GlobalArgs,
    deployment: &'a Deployment,
    on_sandbox: bool,
}

impl Flow<'_> {
    fn human(&self) -> bool {
        self.global.output == OutputFormat::Human
    }

    fn reveal(&self) -> Reveal {
        if self.global.show_secrets {
            Reveal::Secrets
        } else {
            Reveal::Names
        }
    }

    fn header(&self, command: &str) -> String {
        let config = &self.deployment.config;
        let place = if self.on_sandbox {
            // Per vendor, in the order the config's backends sort: "Artifactory at URL,
            // Google Artifact Registry at URL".
            let mut vendors: Vec<(&str, Vec<&str>)> = Vec::new();
            for (name, backend) in &self.deployment.backends {
                let kind = config.backends.get(name).map_or("", |t| t.kind.as_str());
                let product = crate::factory::product(kind);
                match vendors.iter_mut().find(|(p, _)| *p == product) {
                    Some((_, urls)) => urls.push(backend.url.as_str()),
                    None => vendors.push((product, vec![backend.url.as_str()])),
                }
            }
            let shown: Vec<String> = vendors
                .iter()
                .map(|(product, urls)| format!("{product} at {}", urls.join(" and ")))
                .collect();
            format!(" on the embedded sandbox ({})", shown.join(", "))
        } else {
            String::new()
        };
        format!(
            "pull-through {command}: {} ({}){place}",
            config.file, config.name
        )
    }

    fn document(&self, command: &str, mut body: serde_json::Value) -> serde_json::Value {
        if let Some(map) = body.as_object_mut() {
            map.insert("command".into(), json!(command));
            map.insert("config".into(), json!(self.deployment.config.file));
            map.insert("sandbox".into(), json!(self.on_sandbox));
        }
        body
    }

    async fn run(&self, command: &FlowCommand) -> Result<(), Failure> {
        let progress = Progress::new(self.human());
        match command {
            FlowCommand::Plan => {
                let plans = self.deployment.plan().await.map_err(fleet_failure)?;
                let changes = plans.iter().any(|p| p.has_changes());
                let failed = plans.iter().filter(|p| p.error.is_some()).count();
                emit(
                    self.global.output,
                    &self.document("plan", json!({"changes": changes, "caches": plans})),
                    || format!("{}\n{}", self.header("plan"), report::plan_text(&plans)),
                )?;
                failed_caches(failed, plans.len(), "could not be planned")
            }
            FlowCommand::Apply => self.apply(&progress).await,
            FlowCommand::Verify => {
                let results = self.deployment.verify(&progress).await;
                let failed = results.iter().filter(|r| !r.passed).count();
                emit(
                    self.global.output,
                    &self.document("verify", json!({"ok": failed == 0, "caches": results})),
                    || {
                        format!(
                            "{}\n{}",
                            self.header("verify"),
                            report::verify_text(&results)
                        )
                    },
                )?;
                failed_caches(failed, results.len(), "failed to pull through")
            }
            FlowCommand::Status => {
                let status = self.deployment.status().await.map_err(fleet_failure)?;
                let body = serde_json::to_value(&status).unwrap_or_default();
                emit(self.global.output, &self.document("status", body), || {
                    format!(
                        "{}\n{}",
                        self.header("status"),
                        report::status_text(&status)
                    )
                })?;
                let unreadable = status.caches.iter().filter(|c| c.error.is_some()).count();
                failed_caches(unreadable, status.caches.len(), "could not be read")
            }
            FlowCommand::Rotate(args) => {
                let with_token: Vec<&str> = self
                    .deployment
                    .private_caches()
                    .into_iter()
                    .map(|(c, _)| c.name.as_str())
                    .collect();
                for name in &args.caches {
                    if !with_token.contains(&name.as_str()) {
                        return Err(Failure::Usage(format!(
                            "--cache {name}: not a cache of {} with a pull token; allowed: {}",
                            self.deployment.config.file,
                            with_token.join(", ")
                        )));
                    }
                }
                let rotating: Vec<&str> = with_token
                    .iter()
                    .copied()
                    .filter(|c| args.caches.is_empty() || args.caches.iter().any(|a| a == c))
                    .collect();
                let before = self.states(&rotating).await;
                let mut outcomes = self
                    .deployment
                    .rotate(&args.caches, &progress)
                    .await
                    .map_err(fleet_failure)?;
                for outcome in &mut outcomes {
                    settings_changed(outcome, before.get(&outcome.cache));
                }
                self.write_secrets(&outcomes)?;
                let failed = outcomes.iter().filter(|o| !o.ok()).count();
                emit(
                    self.global.output,
                    &self.document("rotate", json!({"ok": failed == 0, "caches": outcomes})),
                    || {
                        let body = if outcomes.is_empty() {
                            "  no cache has a pull token".to_owned()
                        } else {
                            report::outcomes_text(&outcomes)
                        };
                        format!("{}\n{}", self.header("rotate"), body.trim_end())
                    },
                )?;
                failed_caches(failed, outcomes.len(), "could not be rotated")
            }
            FlowCommand::Destroy(args) => {
                self.confirm_destroy(args.yes)?;
                let destroyed = self
                    .deployment
                    .destroy(&progress)
                    .await
                    .map_err(fleet_failure)?;
                let failed = destroyed.caches.iter().filter(|o| !o.ok()).count();
                let mut body = serde_json::to_value(&destroyed).unwrap_or_default();
                if let Some(map) = body.as_object_mut() {
                    map.insert("ok".into(), json!(destroyed.ok()));
                }
                emit(self.global.output, &self.document("destroy", body), || {
                    format!(
                        "{}\n{}",
                        self.header("destroy"),
                        report::destroyed_text(&destroyed)
                    )
                })?;
                if !destroyed.errors.is_empty() {
                    return Err(Failure::Step(format!(
                        "{} pull tokens could not be revoked; run destroy again",
                        destroyed.errors.len()
                    )));
                }
                failed_caches(failed, destroyed.caches.len(), "could not be deleted")
            }
        }
    }

    async fn apply(&self, progress: &Progress) -> Result<(), Failure> {
        let outcomes = self
            .deployment
            .apply(progress)
            .await
            .map_err(fleet_failure)?;
        self.write_secrets(&outcomes)?;
        let access = self.deployment.access(&outcomes, self.reveal());
        let failed = outcomes.iter().filter(|o| !o.ok()).count();
        let mut body = json!({"ok": failed == 0, "caches": outcomes, "access": access});
        let mut text = format!(
            "{}\ncaches:\n{}client access:\n{}",
            self.header("apply"),
            report::outcomes_text(&outcomes),
            report::access_text(&access)
        );
        if let Some(path) = &self.global.secrets_out {
            text.push_str(&format!(
                "  (the variables these lines name are in {})\n",
                path.display()
            ));
        }
        if self.on_sandbox && failed == 0 {
            // The demo: show that what was applied works and that a second run is a no-op.
            let verified = self.deployment.verify(progress).await;
            let plans = self.deployment.plan().await.map_err(fleet_failure)?;
            let verify_failed = verified.iter().filter(|r| !r.passed).count();
            let changes = plans.iter().any(|p| p.has_changes());
            text.push_str(&format!(
                "verify:\n{}\nplan after apply:\n{}\n",
                report::verify_text(&verified),
                report::plan_text(&plans)
            ));
            text.push_str(&format!(
                "Summary: {} caches applied on the embedded sandbox, {} pulled through, second plan: {}. \
                 Point --config at your own file (see {SEEDS_FILE}) to do the same against real services.",
                outcomes.len(),
                verified.len() - verify_failed,
                if changes { "CHANGES (unexpected)" } else { "no changes" }
            ));
            if let Some(map) = body.as_object_mut() {
                map.insert("verify".into(), json!(verified));
                map.insert(
                    "plan_after".into(),
                    json!({"changes": changes, "caches": plans}),
                );
                map.insert("ok".into(), json!(verify_failed == 0 && !changes));
            }
            emit(self.global.output, &self.document("apply", body), || text)?;
            if verify_failed > 0 || changes {
                return Err(Failure::Step(format!(
                    "the sandbox run did not settle: {verify_failed} caches failed verify, second plan {}",
                    if changes {
                        "shows changes"
                    } else {
                        "shows none"
                    }
                )));
            }
            return Ok(());
        }
        emit(self.global.output, &self.document("apply", body), || {
            text.trim_end().to_owned()
        })?;
        failed_caches(
            failed,
            outcomes.len(),
            "could not be applied; the others are done, and apply can be run again",
        )
    }

    /// The caches of `names` as their backends describe them now; a cache that cannot be
    /// read is left out (the flow that follows reports it).
    async fn states(&self, names: &[&str]) -> BTreeMap<String, CacheState> {
        let mut states = BTreeMap::new();
        for cache in &self.deployment.config.caches {
            if !names.contains(&cache.name.as_str()) {
                continue;
            }
            if let Ok(Some(state)) = self
                .deployment
                .backend(cache)
                .api
                .describe(&cache.name)
                .await
            {
                states.insert(cache.name.to_string(), state);
            }
        }
        states
    }

    /// `--secrets-out`: the backends' variables the access lines name, and the pull
    /// tokens made by this run (shown nowhere else).
    fn write_secrets(&self, outcomes: &[CacheOutcome]) -> Result<(), Failure> {
        if self.global.secrets_out.is_none() {
            return Ok(());
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        for backend in self.deployment.backends.values() {
            for (var, value) in &backend.variables {
                if pairs.iter().all(|(v, _)| v != var) {
                    pairs.push((var.clone(), value.expose_secret().to_owned()));
                }
            }
        }
        for outcome in outcomes {
            if let Some(token) = &outcome.new_token {
                let var = format!("PULL_TOKEN_{}", env_name(&outcome.cache));
                pairs.push((format!("{var}_IDENTITY"), token.identity_id.clone()));
                pairs.push((var, token.secret.expose_secret().to_owned()));
            }
        }
        crate::output::write_secrets(self.global, &pairs)
    }

    fn confirm_destroy(&self, yes: bool) -> Result<(), Failure> {
        if yes {
            return Ok(());
        }
        let names: Vec<&str> = self
            .deployment
            .config
            .caches
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        let what = format!(
            "destroy deletes {} caches ({}) and everything they cached, and revokes the pull tokens \
             config {:?} made",
            names.len(),
            names.join(", "),
            self.deployment.config.name
        );
        if !std::io::stdin().is_terminal() {
            return Err(Failure::Usage(format!("{what}; pass --yes to confirm")));
        }
        eprint!("{what}.\nType yes to continue: ");
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|err| Failure::Usage(format!("could not read the confirmation: {err}")))?;
        if answer.trim() == "yes" {
            Ok(())
        } else {
            Err(Failure::Usage(
                "not confirmed; nothing was deleted".to_owned(),
            ))
        }
    }
}

/// Adds to a rotation's changes the settings the backend reports that moved besides the
/// credentials, such as the secret version a Google Artifact Registry repository pins
/// (each rotation adds a version and pins it), so that people see what was written.
fn settings_changed(outcome: &mut CacheOutcome, before: Option<&CacheState>) {
    let (Some(before), Some(after)) = (before, &outcome.state) else {
        return;
    };
    for (field, value) in &after.settings {
        let old = before.settings.get(field);
        if old != Some(value) && outcome.changes.iter().all(|c| &c.field != field) {
            outcome
                .changes
                .push(FieldChange::new(field.clone(), old.cloned(), value.clone()));
        }
    }
}

fn failed_caches(failed: usize, total: usize, what: &str) -> Result<(), Failure> {
    if failed == 0 {
        Ok(())
    } else {
        Err(Failure::Step(format!("{failed} of {total} caches {what}")))
    }
}

/// `cg-private` -> `CG_PRIVATE`.
fn env_name(cache: &str) -> String {
    cache
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}
