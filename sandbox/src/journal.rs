//! The journal: every request a fake received, with secrets redacted.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use http::HeaderMap;
use pull_through_core::redact;
use serde::{Deserialize, Serialize};

/// How much of a request body the journal keeps.
const MAX_JOURNAL_BODY: usize = 64 * 1024;

/// One request a fake received.
///
/// ```
/// # async fn example(sandbox: &pull_through_sandbox::Sandbox) {
/// for entry in sandbox.journal().entries_for("artifactory") {
///     println!("{} {} {} -> {:?}", entry.seq, entry.method, entry.path, entry.status);
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JournalEntry {
    /// Order of arrival across all services, from 1.
    pub seq: u64,
    /// The service that received it (`artifactory`, `cgr.dev`, ...).
    pub service: String,
    /// The method.
    pub method: String,
    /// The path, percent-encoded as sent.
    pub path: String,
    /// The query string, with secret parameters redacted.
    pub query: Option<String>,
    /// The headers, lower-cased, with credentials redacted (`Bearer [REDACTED]`).
    pub headers: Vec<(String, String)>,
    /// The body: JSON and forms with secret fields redacted, other text as is, binary as
    /// a byte count; cut at 64 KiB.
    pub body: Option<String>,
    /// The status answered, or `None` when the connection was dropped.
    pub status: Option<u16>,
    /// The fault injected, if one was: instead of the real answer (`status 503`,
    /// `dropped connection`, a rate limit's 429), or after it (`lost answer: the request
    /// was performed, then status 502`).
    pub fault: Option<String>,
    /// The status of the fake's own answer when the request reached the fake and was
    /// performed: equal to `status`, except after a lost answer, where the client got
    /// `status` (or nothing) instead; `None` when the request never reached the fake (a
    /// fault injected instead of it, a rate limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performed_status: Option<u16>,
}

impl JournalEntry {
    pub(crate) fn new(
        service: &str,
        method: &http::Method,
        uri: &http::Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Self {
        JournalEntry {
            seq: 0,
            service: service.to_owned(),
            method: method.to_string(),
            path: uri.path().to_owned(),
            query: uri.query().map(redact::redact_form),
            headers: headers
                .iter()
                .map(|(name, value)| {
                    let value = String::from_utf8_lossy(value.as_bytes());
                    (
                        name.as_str().to_owned(),
                        redact::redact_header_value(name.as_str(), &value),
                    )
                })
                .collect(),
            body: redact_body(body),
            status: None,
            fault: None,
            performed_status: None,
        }
    }

    /// The value of a header, by lower-case name.
    ///
    /// ```
    /// # fn example(entry: &pull_through_sandbox::JournalEntry) {
    /// assert_eq!(entry.header("authorization"), Some("Bearer [REDACTED]"));
    /// # }
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Whether the fake performed the request although the client never got its answer
    /// (a [`LostAnswer`](crate::FaultKind::LostAnswer) fault).
    ///
    /// ```
    /// # fn example(journal: &pull_through_sandbox::Journal) {
    /// let lost_writes = journal.entries().iter().filter(|e| e.is_write() && e.answer_lost()).count();
    /// # }
    /// ```
    pub fn answer_lost(&self) -> bool {
        self.performed_status.is_some() && self.fault.is_some()
    }

    /// Whether the request could have changed state.
    ///
    /// ```
    /// # fn example(journal: &pull_through_sandbox::Journal) {
    /// let writes = journal.entries().iter().filter(|entry| entry.is_write()).count();
    /// assert_eq!(writes, 0, "a second ensure must not write");
    /// # }
    /// ```
    pub fn is_write(&self) -> bool {
        !matches!(self.method.as_str(), "GET" | "HEAD" | "OPTIONS" | "TRACE")
    }

    /// The body parsed as JSON, if it is JSON.
    ///
    /// ```
    /// # fn example(entry: &pull_through_sandbox::JournalEntry) {
    /// let body = entry.json().unwrap();
    /// assert_eq!(body["enableTokenAuthentication"], true);
    /// # }
    /// ```
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(self.body.as_deref()?).ok()
    }
}

fn redact_body(body: &[u8]) -> Option<String> {
    if body.is_empty() {
        return None;
    }
    if let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(body) {
        redact::redact_json(&mut json);
        redact_vendor_fields(&mut json);
        return Some(cut(json.to_string()));
    }
    match std::str::from_utf8(body) {
        // Any text that holds key=value pairs gets the form treatment, whatever its
        // declared type: a secret in a mislabelled form is still a secret.
        Ok(text) if !text.chars().any(|c| c.is_control() && !c.is_whitespace()) => {
            Some(cut(redact::redact_form(text)))
        }
        _ => Some(format!("<{} bytes of binary data>", body.len())),
    }
}

/// Body fields holding secrets whose names the core's rules cannot tell from harmless
/// fields, as each fake's module registers them (the vendor knowledge stays with the
/// fake).
const VENDOR_SECRET_FIELDS: &[&[&str]] = &[crate::cloudsmith::JOURNAL_SECRET_FIELDS];

/// Redacts, in the journal only, the fields of [`VENDOR_SECRET_FIELDS`] at any depth.
fn redact_vendor_fields(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                let secret = VENDOR_SECRET_FIELDS
                    .iter()
                    .any(|fields| fields.contains(&key.as_str()));
                if secret && !field.is_null() {
                    *field = serde_json::Value::String(redact::REDACTED.to_owned());
                } else {
                    redact_vendor_fields(field);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_vendor_fields),
        _ => {}
    }
}

fn cut(mut text: String) -> String {
    if text.len() > MAX_JOURNAL_BODY {
        let mut end = MAX_JOURNAL_BODY;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// The shared journal of a running sandbox. Cheap to clone; every clone sees the same
/// entries.
///
/// ```
/// # async fn example() -> Result<(), pull_through_sandbox::SandboxError> {
/// let sandbox = pull_through_sandbox::Sandbox::builder().start().await?;
/// let journal = sandbox.journal();
/// assert!(journal.entries().is_empty());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Journal {
    inner: Arc<Mutex<JournalInner>>,
}

#[derive(Debug, Default)]
struct JournalInner {
    entries: Vec<JournalEntry>,
    next_seq: u64,
    sink: Option<BufWriter<File>>,
}

impl Journal {
    pub(crate) fn with_sink(path: &Path) -> std::io::Result<Self> {
        let journal = Journal::default();
        journal.lock().sink = Some(BufWriter::new(
            crate::open_private_file(path, crate::OpenPrivate::Truncate)?.file,
        ));
        Ok(journal)
    }

    fn lock(&self) -> MutexGuard<'_, JournalInner> {
        // Entries are pushed whole; a poisoned lock still holds a consistent Vec.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn push(&self, mut entry: JournalEntry) {
        let mut inner = self.lock();
        inner.next_seq += 1;
        entry.seq = inner.next_seq;
        if let Some(sink) = &mut inner.sink {
            // The journal file is a debugging aid: a full disk must not fail the request.
            let line = serde_json::to_string(&entry).unwrap_or_default();
            let _ = writeln!(sink, "{line}").and_then(|()| sink.flush());
        }
        inner.entries.push(entry);
    }

    /// Every entry so far, oldest first.
    ///
    /// ```
    /// # let journal = pull_through_sandbox::Journal::default();
    /// assert!(journal.entries().is_empty());
    /// ```
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.lock().entries.clone()
    }

    /// The entries of one service.
    ///
    /// ```
    /// # let journal = pull_through_sandbox::Journal::default();
    /// assert!(journal.entries_for("cgr.dev").is_empty());
    /// ```
    pub fn entries_for(&self, service: &str) -> Vec<JournalEntry> {
        self.lock()
            .entries
            .iter()
            .filter(|entry| entry.service == service)
            .cloned()
            .collect()
    }

    /// The entries after `seq` (use the `seq` of the last entry you saw).
    ///
    /// ```
    /// # fn example(journal: &pull_through_sandbox::Journal) {
    /// let mark = journal.last_seq();
    /// // ... run the second ensure ...
    /// assert!(journal.since(mark).iter().all(|entry| !entry.is_write()));
    /// # }
    /// ```
    pub fn since(&self, seq: u64) -> Vec<JournalEntry> {
        self.lock()
            .entries
            .iter()
            .filter(|entry| entry.seq > seq)
            .cloned()
            .collect()
    }

    /// The `seq` of the newest entry, 0 when there is none.
    ///
    /// ```
    /// # let journal = pull_through_sandbox::Journal::default();
    /// assert_eq!(journal.last_seq(), 0);
    /// ```
    pub fn last_seq(&self) -> u64 {
        self.lock().entries.last().map_or(0, |entry| entry.seq)
    }

    /// Every entry as JSON, one per line.
    ///
    /// ```
    /// # let journal = pull_through_sandbox::Journal::default();
    /// std::fs::write(std::env::temp_dir().join("journal.jsonl"), journal.to_json_lines()).unwrap();
    /// ```
    pub fn to_json_lines(&self) -> String {
        self.lock()
            .entries
            .iter()
            .map(|entry| serde_json::to_string(entry).unwrap_or_default() + "\n")
            .collect()
    }

    /// Forgets the entries (the file sink, if any, keeps what it wrote).
    ///
    /// ```
    /// # let journal = pull_through_sandbox::Journal::default();
    /// journal.clear();
    /// assert_eq!(journal.last_seq(), 0);
    /// ```
    pub fn clear(&self) {
        self.lock().entries.clear();
    }
}

/// Whether any entry's text contains `needle`; for tests asserting a secret never
/// reached the journal.
///
/// ```
/// # let journal = pull_through_sandbox::Journal::default();
/// assert!(!pull_through_sandbox::journal_contains(&journal, "hunter2"));
/// ```
pub fn journal_contains(journal: &Journal, needle: &str) -> bool {
    journal.to_json_lines().contains(needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use pull_through_core::redact::REDACTED;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn bodies_are_redacted_by_kind() {
        let json = redact_body(br#"{"key":"k","password":"p4ss"}"#).unwrap();
        assert_eq!(json, r#"{"key":"k","password":"[REDACTED]"}"#);
        let form = redact_body(b"username=u&password=p4ss").unwrap();
        assert_eq!(form, format!("username=u&password={REDACTED}"));
        assert_eq!(redact_body(b"OK").unwrap(), "OK");
        assert_eq!(
            redact_body(b"password=hunter2").unwrap(),
            format!("password={REDACTED}")
        );
        assert_eq!(
            redact_body(&[0x1f, 0x8b, 0, 1]).unwrap(),
            "<4 bytes of binary data>"
        );
        assert_eq!(redact_body(b""), None);
    }

    #[test]
    fn entries_redact_headers_and_query() {
        let entry = JournalEntry::new(
            "svc",
            &http::Method::GET,
            &"/token?scope=repository:x:pull&token=abc".parse().unwrap(),
            &headers(&[("authorization", "Basic dTpw"), ("accept", "*/*")]),
            b"",
        );
        assert_eq!(entry.header("authorization"), Some("Basic [REDACTED]"));
        assert_eq!(entry.header("Accept"), Some("*/*"));
        assert_eq!(
            entry.query.as_deref(),
            Some("scope=repository:x:pull&token=[REDACTED]")
        );
        assert!(!entry.is_write());
    }
}
