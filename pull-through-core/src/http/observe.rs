//! Watching requests as they are made: [`HttpObserver`].

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Method;
use serde::Serialize;

/// One attempt of one request, as an [`HttpObserver`] sees it. Holds no secrets: the URL
/// has no userinfo or query, and no header or body is included.
///
/// ```
/// use pull_through_core::http::{HttpClient, RecordingObserver};
/// # async fn example(client: &HttpClient, recorder: &RecordingObserver) -> Result<(), pull_through_core::Error> {
/// client.get("api/system/ping").send().await?;
/// for record in recorder.records() {
///     println!("{} {} attempt {} -> {:?}", record.method, record.url, record.attempt, record.status);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AttemptRecord {
    /// The vendor called.
    pub vendor: String,
    /// The method.
    #[serde(serialize_with = "method_as_str")]
    pub method: Method,
    /// The URL without userinfo or query.
    pub url: String,
    /// Which attempt, from 1.
    pub attempt: u32,
    /// The answer's status, if there was an answer.
    pub status: Option<u16>,
    /// What went wrong if there was no answer.
    pub failure: Option<String>,
    /// How long the attempt took.
    #[serde(serialize_with = "duration_as_millis")]
    pub elapsed: Duration,
    /// How long until the next attempt, if there will be one.
    #[serde(serialize_with = "optional_duration_as_millis")]
    pub retry_in: Option<Duration>,
}

fn method_as_str<S: serde::Serializer>(method: &Method, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(method.as_str())
}

fn duration_as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn optional_duration_as_millis<S: serde::Serializer>(
    d: &Option<Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => duration_as_millis(d, s),
        None => s.serialize_none(),
    }
}

impl AttemptRecord {
    /// Whether this attempt could have changed something on the server.
    ///
    /// ```
    /// # use pull_through_core::http::RecordingObserver;
    /// # fn example(recorder: &RecordingObserver) {
    /// let writes = recorder.records().iter().filter(|record| record.is_write()).count();
    /// # }
    /// ```
    pub fn is_write(&self) -> bool {
        !matches!(
            self.method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
        )
    }
}

/// Sees every attempt an [`HttpClient`](super::HttpClient) makes. The program's
/// `--journal` and the conformance suite's write counting are observers.
///
/// ```
/// use pull_through_core::http::{AttemptRecord, HttpObserver};
///
/// /// Prints every attempt as a JSON line, as `--journal` does.
/// #[derive(Debug)]
/// struct JsonLines;
///
/// impl HttpObserver for JsonLines {
///     fn on_attempt(&self, record: &AttemptRecord) {
///         println!("{}", serde_json::to_string(record).unwrap());
///     }
/// }
/// ```
pub trait HttpObserver: Send + Sync + fmt::Debug {
    /// Called after each attempt.
    ///
    /// ```
    /// use pull_through_core::http::{AttemptRecord, HttpObserver};
    /// fn forward(observer: &dyn HttpObserver, record: &AttemptRecord) {
    ///     observer.on_attempt(record);
    /// }
    /// # let _ = forward;
    /// ```
    fn on_attempt(&self, record: &AttemptRecord);
}

/// An observer that keeps every record in memory; share it with `Arc` and read it back.
///
/// ```
/// use pull_through_core::http::RecordingObserver;
/// let recorder = RecordingObserver::new();
/// assert!(recorder.records().is_empty());
/// ```
#[derive(Debug, Default, Clone)]
pub struct RecordingObserver {
    records: Arc<Mutex<Vec<AttemptRecord>>>,
}

impl RecordingObserver {
    /// An empty recorder.
    ///
    /// ```
    /// # use pull_through_core::http::RecordingObserver;
    /// let recorder = RecordingObserver::new();
    /// let shared = recorder.clone(); // clones share the records
    /// ```
    pub fn new() -> Self {
        RecordingObserver::default()
    }

    /// Every record so far, oldest first.
    ///
    /// ```
    /// # use pull_through_core::http::RecordingObserver;
    /// assert_eq!(RecordingObserver::new().records().len(), 0);
    /// ```
    pub fn records(&self) -> Vec<AttemptRecord> {
        self.lock().clone()
    }

    /// Forgets the records so far.
    ///
    /// ```
    /// # use pull_through_core::http::RecordingObserver;
    /// let recorder = RecordingObserver::new();
    /// recorder.clear();
    /// assert!(recorder.records().is_empty());
    /// ```
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<AttemptRecord>> {
        // A panic while pushing a record cannot leave the Vec inconsistent.
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl HttpObserver for RecordingObserver {
    fn on_attempt(&self, record: &AttemptRecord) {
        self.lock().push(record.clone());
    }
}
