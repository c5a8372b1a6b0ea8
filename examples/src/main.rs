//! `pull-through`: runs Chainguard pull-through cache flows from one config file, and
//! serves the sandbox of fake vendor APIs.
//!
//! Exit codes: 0 done, 1 a step failed, 2 bad usage or configuration.

mod apk_cmd;
mod artifactory_cmd;
mod bar_state;
mod chainguard_cmd;
mod cli;
mod cloudsmith_cmd;
#[cfg(test)]
mod config_tests;
mod factory;
mod flow_cmd;
mod gar_cmd;
mod output;
mod progress_bar;
mod report;
mod sandbox_cmd;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, SandboxCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: could not start the async runtime: {err}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Sandbox {
                command: SandboxCommand::Serve(args),
            } => sandbox_cmd::serve(&cli.global, args).await,
            Command::Flow(command) => flow_cmd::run(&cli.global, command).await,
            Command::Apk { command } => apk_cmd::run(&cli.global, command).await,
            Command::Cloudsmith { command } => cloudsmith_cmd::run(&cli.global, command).await,
            Command::Chainguard { command } => chainguard_cmd::run(&cli.global, command).await,
            Command::Artifactory { command } => artifactory_cmd::run(&cli.global, command).await,
            Command::Gar { command } => gar_cmd::run(&cli.global, command).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}

/// Logs go to stderr (above the progress bar while one is drawn), filtered by `RUST_LOG`
/// (default: warnings).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(progress_bar::LogWriter)
        .try_init();
}

/// Why a command failed, and so which exit code it ends with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    /// Bad usage or configuration: exit code 2.
    #[error("{0}")]
    Usage(String),
    /// A step failed: exit code 1.
    #[error("{0}")]
    Step(String),
}

impl Failure {
    fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Step(_) => 1,
        }
    }
}
