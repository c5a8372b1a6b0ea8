//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Set up, check, rotate and tear down pull-through caches of Chainguard's registry and
/// APK repositories.
#[derive(Debug, Parser)]
#[command(name = "pull-through", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// The config file for plan, apply, verify, status, rotate and destroy. Without it
    /// they run the shipped seeds config on the embedded sandbox.
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    /// How results are printed: for people, or as stable JSON for programs.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Human)]
    pub(crate) output: OutputFormat,

    /// Write every HTTP request to this file as JSON lines, secrets redacted. For
    /// `sandbox serve`: every request the sandbox receives.
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) journal: Option<PathBuf>,

    /// How many calls the flows run at once against each backend, and as many against
    /// Chainguard (1 to 32). Sixteen suits a fleet of hundreds of caches; a 429 holds
    /// every call of that backend's client for its Retry-After, so a rate limit slows the
    /// run instead of failing it.
    #[arg(long, global = true, value_name = "N", default_value_t = 16,
          value_parser = clap::value_parser!(u16).range(1..=32))]
    pub(crate) concurrency: u16,

    /// Print secret values where a command would otherwise name their variable or mask
    /// them.
    #[arg(long, global = true)]
    pub(crate) show_secrets: bool,

    /// Write the secrets a command produces to this file as KEY=value lines (mode 0600)
    /// instead of printing them.
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) secrets_out: Option<PathBuf>,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// Readable text.
    Human,
    /// One JSON document on stdout.
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    #[command(flatten)]
    Flow(crate::flow_cmd::FlowCommand),
    /// The sandbox: in-process fakes of the vendor APIs.
    Sandbox {
        #[command(subcommand)]
        command: SandboxCommand,
    },
    /// The Chainguard side: organizations, roles, pull tokens, role bindings, tokens.
    Chainguard {
        #[command(subcommand)]
        command: crate::chainguard_cmd::ChainguardCommand,
    },
    /// Artifactory: repositories, access tokens, cache clearing.
    Artifactory {
        #[command(subcommand)]
        command: crate::artifactory_cmd::ArtifactoryCommand,
    },
    /// Google Artifact Registry: repositories, and the tutorial's checks with a pull.
    Gar {
        #[command(subcommand)]
        command: crate::gar_cmd::GarCommand,
    },
    /// The apk client side: HTTP_AUTH, repository lines, repositories files, indexes.
    Apk {
        #[command(subcommand)]
        command: crate::apk_cmd::ApkCommand,
    },
    /// Cloudsmith: repositories with their Docker upstreams, and the seed's checks.
    Cloudsmith {
        #[command(subcommand)]
        command: crate::cloudsmith_cmd::CloudsmithCommand,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum SandboxCommand {
    /// Run the sandbox in the foreground, print its endpoints, and write an env file.
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Write the endpoints and credentials as KEY=value lines (mode 0600) to this file.
    #[arg(long, value_name = "FILE")]
    pub(crate) env_file: Option<PathBuf>,

    /// Delay every answer by this many milliseconds.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) latency_ms: u64,

    /// Answer this fraction of requests (0 to 1) with an injected fault, drawn from
    /// --fault-mix: by default 500, 502, 503, 429 with Retry-After, a dropped connection,
    /// or a lost answer (the fake performs the request, then the client gets a 502 or a
    /// dropped connection).
    #[arg(long, value_name = "F", default_value_t = 0.0, value_parser = parse_rate)]
    pub(crate) fault_rate: f64,

    /// Which faults --fault-rate draws from, each as likely as the others.
    #[arg(long, value_enum, value_name = "MIX", default_value_t = FaultMix::All)]
    pub(crate) fault_mix: FaultMix,

    /// Limit every fake to this many requests per second per credential (each token or
    /// API key, and anonymous callers, counted apart at each service), as the vendors
    /// rate-limit each token: past it a request is answered 429 as the vendor answers it
    /// (its error format; Retry-After only from Cloudsmith's API, the one vendor that
    /// documents it), without being performed. Requests one fake makes to another are not
    /// counted. Off by default.
    #[arg(long, value_name = "PER_SECOND", value_parser = parse_per_second)]
    pub(crate) rate_limit: Option<f64>,

    /// Seed for the injected faults: a request's fault depends on the seed, what it is
    /// (service, method, path) and how many such requests came before, so the same seed
    /// and requests give the same faults whatever order requests of different kinds
    /// arrive in; requests of one kind sent at once take that kind's faults in the order
    /// they arrive. Printed when not given, so a run can be repeated.
    #[arg(long, value_name = "N")]
    pub(crate) seed: Option<u64>,

    /// Stop after this many seconds instead of waiting for Ctrl-C.
    #[arg(long, value_name = "SECONDS")]
    pub(crate) stop_after: Option<u64>,

    /// The fake Chainguard organization's name.
    #[arg(long, default_value = "example.com")]
    pub(crate) org_name: String,
}

/// The faults `sandbox serve --fault-rate` draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FaultMix {
    /// The faults that replace the request and the lost answers.
    All,
    /// Only faults that replace the request, which the fake never sees: 500, 502, 503,
    /// 429 with Retry-After, a dropped connection.
    Unprocessed,
    /// Only lost answers: the fake performs the request (a create creates), then the
    /// client gets a 502 or a dropped connection.
    LostAnswers,
}

fn parse_per_second(text: &str) -> Result<f64, String> {
    let rate: f64 = text.parse().map_err(|_| {
        format!("{text:?} is not a number; give requests per second, such as 10 or 0.5")
    })?;
    if rate.is_finite() && rate > 0.0 {
        Ok(rate)
    } else {
        Err(format!(
            "{rate} is not a positive number of requests per second; give one such as 10 or 0.5"
        ))
    }
}

fn parse_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number; give a fraction from 0 to 1"))?;
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!(
            "{rate} is outside 0 to 1; give a fraction such as 0.1"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("0.25"), Ok(0.25));
        assert!(parse_rate("1.5").unwrap_err().contains("outside 0 to 1"));
        assert!(parse_rate("x").unwrap_err().contains("not a number"));
    }
}
