//! What the flows print for people: progress on a terminal, and each command's summary.
//! The JSON forms are the flows' own serde shapes (see the README's "JSON output").

use std::io::IsTerminal;

use pull_through_core::CheckOutcome;
use pull_through_fleet::{
    CacheAccess, CacheOutcome, CachePlan, CacheVerification, Destroyed, Outcome, Status, remaining,
};

use crate::bar_state::step_line;
use crate::progress_bar::Bar;

/// How the flows' progress reaches a person, on stderr: a bar on a terminal, plain lines
/// (one per finished step) elsewhere, and nothing when the output is JSON, whose reader
/// wants the document alone.
pub(crate) enum Progress {
    /// `--output json`.
    Quiet,
    /// Stderr is not a terminal (a log, a pipe, CI): one line per finished step.
    Lines,
    /// Stderr is a terminal.
    Bar(Bar),
}

impl Progress {
    /// The bar when `human` and stderr is a terminal, plain lines when `human` only.
    pub(crate) fn new(human: bool) -> Progress {
        if !human {
            Progress::Quiet
        } else if std::io::stderr().is_terminal() {
            Progress::Bar(Bar::stderr())
        } else {
            Progress::Lines
        }
    }
}

impl pull_through_fleet::Progress for Progress {
    fn begin(&self, flow: &str, total: usize) {
        if let Progress::Bar(bar) = self {
            bar.begin(flow, total);
        }
    }

    fn started(&self, what: &str, subject: &str) {
        if let Progress::Bar(bar) = self {
            bar.started(what, subject);
        }
    }

    fn step(&self, what: &str, subject: &str, result: &str) {
        match self {
            Progress::Quiet => {}
            Progress::Lines => eprintln!("{}", step_line(what, subject, result)),
            Progress::Bar(bar) => bar.step(what, subject, result),
        }
    }

    fn finished(&self, subject: &str) {
        if let Progress::Bar(bar) = self {
            bar.finished(subject);
        }
    }
}

fn result_word(result: Outcome) -> &'static str {
    match result {
        Outcome::Created => "created",
        Outcome::Updated => "updated",
        Outcome::Unchanged => "unchanged",
        Outcome::Rotated => "rotated",
        Outcome::Deleted => "deleted",
        Outcome::AlreadyAbsent => "already absent",
        Outcome::Failed => "FAILED",
        Outcome::Skipped => "skipped",
        _ => "done",
    }
}

/// The width of a column of cache names: the longest (GAR's ids run to 63 characters),
/// and at least 20 so that short names line up as before.
fn name_width<'a>(names: impl Iterator<Item = &'a str>) -> usize {
    names.map(str::len).max().unwrap_or(0).max(20)
}

/// `plan` for people.
pub(crate) fn plan_text(plans: &[CachePlan]) -> String {
    let mut text = String::new();
    for plan in plans {
        if let Some(token) = &plan.pull_token {
            if token.action == "create" {
                let cache = plan
                    .plan
                    .as_ref()
                    .map(|p| p.cache.to_string())
                    .unwrap_or_default();
                text.push_str(&format!("+ pull token for {cache} ({})\n", token.role));
            }
        }
        for id in &plan.revoke {
            text.push_str(&format!("- pull token {id} (unused or expired)\n"));
        }
        match (&plan.plan, &plan.error) {
            (Some(cache_plan), _) => text.push_str(&format!("{cache_plan}\n")),
            (None, error) => text.push_str(&format!(
                "! {}: could not plan: {}\n",
                plan.failed_cache.as_deref().unwrap_or_default(),
                error.as_deref().unwrap_or_default()
            )),
        }
    }
    let changing = plans.iter().filter(|p| p.has_changes()).count();
    let failed = plans.iter().filter(|p| p.error.is_some()).count();
    if failed > 0 {
        text.push_str(&format!(
            "{failed} of {} caches could not be planned (see above); ",
            plans.len()
        ));
    }
    if changing == 0 && failed == 0 {
        text.push_str("No changes: everything is as the config says.");
    } else if changing == 0 {
        text.push_str("nothing else would change.");
    } else {
        text.push_str(&format!(
            "{changing} of {} caches would change (+ create, ~ update, = unchanged); run `pull-through apply`.",
            plans.len()
        ));
    }
    text
}

/// `apply`, `rotate` and `destroy` outcomes for people.
pub(crate) fn outcomes_text(outcomes: &[CacheOutcome]) -> String {
    let mut text = String::new();
    let width = name_width(outcomes.iter().map(|o| o.cache.as_str()));
    for outcome in outcomes {
        text.push_str(&format!(
            "  {:<width$} {}",
            outcome.cache,
            result_word(outcome.result)
        ));
        if let Some(token) = &outcome.pull_token {
            text.push_str(&format!(
                " (pull token {} {}, {}",
                token.identity_id, token.action, token.role
            ));
            if let Some(left) = remaining(&token.expires_at) {
                text.push_str(&format!(", {left}"));
            }
            text.push(')');
        }
        text.push('\n');
        for change in &outcome.changes {
            text.push_str(&format!("      {change}\n"));
        }
        if outcome.result == Outcome::Rotated {
            // What `rotated` means, said where the old token's revocation follows from it.
            text.push_str("      verified: a pull through the cache with the new pull token\n");
        }
        for id in &outcome.revoked {
            text.push_str(&format!("      revoked pull token {id}\n"));
        }
        for problem in &outcome.not_revoked {
            text.push_str(&format!(
                "      could not revoke pull token {problem}; run the command again\n"
            ));
        }
        if let Some(error) = &outcome.error {
            text.push_str(&format!("      {error}\n"));
        }
        for note in &outcome.notes {
            text.push_str(&format!("      note: {note}\n"));
        }
    }
    text
}

/// Client access for people.
pub(crate) fn access_text(access: &[CacheAccess]) -> String {
    let mut text = String::new();
    // Snippets are the same for every cache of a kind; print each once.
    let mut printed: Vec<(&str, &str)> = Vec::new();
    for cache in access {
        text.push_str(&format!("  {}:\n", cache.cache));
        for line in &cache.lines {
            if line.contains('\n') {
                if let Some((_, first)) = printed.iter().find(|(seen, _)| *seen == line.as_str()) {
                    let title = line
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .trim_start_matches("# ");
                    text.push_str(&format!("    # {title}: as for {first}\n"));
                    continue;
                }
                printed.push((line, &cache.cache));
            }
            for (index, part) in line.lines().enumerate() {
                let indent = if index == 0 { "    " } else { "      " };
                text.push_str(&format!("{indent}{part}\n"));
            }
        }
    }
    text
}

/// `verify` for people.
pub(crate) fn verify_text(results: &[CacheVerification]) -> String {
    let mut text = String::new();
    let width = name_width(results.iter().map(|r| r.verification.cache.as_str()));
    for result in results {
        let mark = if result.passed { "ok  " } else { "FAIL" };
        text.push_str(&format!(
            "  {mark} {:<width$} {}\n",
            result.verification.cache.as_str(),
            result.probe
        ));
        for check in &result.verification.checks {
            match &check.outcome {
                CheckOutcome::Passed { detail } => {
                    text.push_str(&format!(
                        "         {}: {detail} ({} ms)\n",
                        check.step,
                        check.elapsed.as_millis()
                    ));
                }
                CheckOutcome::Failed { reason, hint } => {
                    text.push_str(&format!("         {}: {reason}\n", check.step));
                    if let Some(hint) = hint {
                        text.push_str(&format!("         hint: {hint}\n"));
                    }
                }
                _ => {}
            }
        }
    }
    let failed = results.iter().filter(|r| !r.passed).count();
    if failed == 0 {
        text.push_str(&format!("All {} caches pulled through.", results.len()));
    } else {
        text.push_str(&format!(
            "{failed} of {} caches failed to pull through.",
            results.len()
        ));
    }
    text
}

/// `status` for people.
pub(crate) fn status_text(status: &Status) -> String {
    let mut text = String::new();
    for cache in &status.caches {
        let what = match (&cache.state, &cache.error) {
            (_, Some(error)) => format!("could not read: {error}"),
            (None, None) => "absent".to_owned(),
            (Some(state), None) => {
                let source = match state.upstream_url() {
                    Some(url) => url.to_owned(),
                    None => state
                        .members()
                        .map(|m| m.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", "))
                        .unwrap_or_default(),
                };
                format!("{} {source}", state.format)
            }
        };
        text.push_str(&format!("  {:<20} {what}\n", cache.cache));
        if let Some(endpoint) = cache.state.as_ref().and_then(|s| s.endpoint.as_deref()) {
            text.push_str(&format!("      at {endpoint}\n"));
        }
        if let Some(token) = &cache.pull_token {
            text.push_str(&format!(
                "      pull token {} ({})\n",
                token.identity_id,
                remaining(&token.expires_at).unwrap_or_else(|| token.expires_at.clone())
            ));
        }
    }
    if !status.unused_pull_tokens.is_empty() {
        text.push_str(&format!(
            "  unused pull tokens of this config: {} (apply revokes those of configured caches, \
             destroy those of caches no longer in the config)\n",
            status.unused_pull_tokens.join(", ")
        ));
    }
    text.push_str(&format!(
        "{} pull tokens made by this config.",
        status.pull_tokens.len()
    ));
    text
}

/// `destroy` for people.
pub(crate) fn destroyed_text(destroyed: &Destroyed) -> String {
    let mut text = outcomes_text(&destroyed.caches);
    for id in &destroyed.revoked {
        text.push_str(&format!("  revoked pull token {id}\n"));
    }
    for id in &destroyed.kept {
        text.push_str(&format!(
            "  kept pull token {id}: its cache could not be deleted\n"
        ));
    }
    for error in &destroyed.errors {
        text.push_str(&format!("  {error}\n"));
    }
    text.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use pull_through_core::{CacheName, Check, FieldChange, FieldValue, Plan, Verification};

    use super::*;
    use pull_through_fleet::{TokenOutcome, TokenPlan};

    fn name(text: &str) -> CacheName {
        CacheName::new(text).unwrap()
    }

    #[test]
    fn plans_read_as_changes_with_their_tokens() {
        let create = CachePlan {
            backend: "artifactory".into(),
            plan: Some(Plan::create(
                name("cg-private"),
                vec![
                    FieldChange::new("url", None, "https://apk.cgr.dev/example.com".into()),
                    FieldChange::new("password", None, FieldValue::Secret),
                ],
            )),
            pull_token: Some(TokenPlan {
                action: "create",
                role: "apk.pull".into(),
                identity_id: None,
                expires_at: None,
            }),
            revoke: vec!["org/stale".into()],
            error: None,
            failed_cache: None,
        };
        let same = CachePlan {
            plan: Some(Plan::update(name("cgr-public"), vec![])),
            pull_token: None,
            revoke: vec![],
            ..create.clone()
        };
        assert!(create.has_changes());
        assert!(!same.has_changes());
        assert_eq!(
            plan_text(&[create, same.clone()]),
            "+ pull token for cg-private (apk.pull)\n- pull token org/stale (unused or expired)\n\
             + cg-private\n    url: \"https://apk.cgr.dev/example.com\"\n    password: (sensitive value)\n\
             = cgr-public\n\
             1 of 2 caches would change (+ create, ~ update, = unchanged); run `pull-through apply`."
        );
        assert_eq!(
            plan_text(&[same]),
            "= cgr-public\nNo changes: everything is as the config says."
        );
    }

    #[test]
    fn outcomes_show_tokens_changes_and_errors() {
        let outcome = CacheOutcome {
            cache: "cgr-private".into(),
            backend: "artifactory".into(),
            result: Outcome::Updated,
            changes: vec![FieldChange::new(
                "enableTokenAuthentication",
                Some(false.into()),
                true.into(),
            )],
            pull_token: Some(TokenOutcome {
                action: "kept",
                identity_id: "org/abc".into(),
                role: "registry.pull".into(),
                expires_at: "not a time".into(),
            }),
            revoked: vec!["org/old".into()],
            not_revoked: vec![],
            error: None,
            notes: vec!["the check pull may have come from the cache".into()],
            state: None,
            new_token: None,
        };
        let failed = CacheOutcome {
            cache: "cg-apk-virt".into(),
            result: Outcome::Skipped,
            error: Some("member cg-private was not applied".into()),
            pull_token: None,
            changes: vec![],
            revoked: vec![],
            notes: vec![],
            ..outcome.clone()
        };
        assert_eq!(
            outcomes_text(&[outcome, failed]),
            "  cgr-private          updated (pull token org/abc kept, registry.pull)\n\
             \x20     enableTokenAuthentication: false -> true\n\
             \x20     revoked pull token org/old\n\
             \x20     note: the check pull may have come from the cache\n\
             \x20 cg-apk-virt          skipped\n\
             \x20     member cg-private was not applied\n"
        );
    }

    #[test]
    fn failed_checks_show_their_hint() {
        let mut verification = Verification::new(name("cg-private"));
        verification.push(Check::failed(
            "x86_64/APKINDEX.tar.gz",
            "404 Not Found",
            Some("turn URL normalization off".into()),
            Duration::ZERO,
        ));
        let result = CacheVerification {
            backend: "artifactory".into(),
            probe: "x86_64/APKINDEX.tar.gz".into(),
            passed: false,
            verification,
        };
        assert_eq!(
            verify_text(&[result]),
            "  FAIL cg-private           x86_64/APKINDEX.tar.gz\n\
             \x20        x86_64/APKINDEX.tar.gz: 404 Not Found\n\
             \x20        hint: turn URL normalization off\n\
             1 of 1 caches failed to pull through."
        );
    }
}
