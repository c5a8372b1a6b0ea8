//! Printing results for people or as JSON.

use serde::Serialize;

use crate::Failure;
use crate::cli::OutputFormat;

/// Prints `value` as one JSON document, or `human` as text.
pub(crate) fn emit<T: Serialize>(
    format: OutputFormat,
    value: &T,
    human: impl FnOnce() -> String,
) -> Result<(), Failure> {
    match format {
        OutputFormat::Human => println!("{}", human()),
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string(value)
                .map_err(|err| Failure::Step(format!("could not write JSON output: {err}")))?
        ),
    }
    Ok(())
}
