//! The listeners: one loopback port per service, each request journaled, delayed and
//! possibly faulted before it reaches the fake.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Request, Response, StatusCode};
use axum::routing::get;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;
use url::Url;

use crate::faults::{FaultKind, FaultRule, Faults};
use crate::journal::{Journal, JournalEntry};
use crate::rate_limit::{RateLimiter, Throttle};
use crate::service::FakeService;
use crate::state::ServiceState;

/// Largest request body a fake accepts.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// What every listener of one sandbox shares.
pub(crate) struct Shared {
    pub(crate) journal: Journal,
    pub(crate) faults: Faults,
    pub(crate) latency: Duration,
    pub(crate) rate_limit: Option<RateLimiter>,
    pub(crate) services: Vec<Arc<dyn FakeService>>,
    pub(crate) endpoints: std::sync::OnceLock<Vec<(String, Url)>>,
}

impl Shared {
    /// What each fake that reports its state holds, by service name.
    pub(crate) fn state(&self) -> std::collections::BTreeMap<String, ServiceState> {
        self.services
            .iter()
            .filter_map(|service| Some((service.name().to_owned(), service.state()?)))
            .collect()
    }

    pub(crate) fn reset(&self) {
        self.journal.clear();
        self.faults.reset();
        for service in &self.services {
            service.reset();
        }
    }
}

struct Listener {
    name: String,
    fake: Option<Router>,
    /// The fake itself, for its rate-limit answer.
    service: Option<Arc<dyn FakeService>>,
    control: Router,
    shared: Arc<Shared>,
}

/// Returned by the request handler to make hyper close the connection without answering.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fault injected: dropped connection")
    }
}

impl std::error::Error for DropConnection {}

/// Binds a loopback port and serves `fake` (or only the control endpoints) until
/// `shutdown` turns true.
pub(crate) async fn serve(
    name: String,
    fake: Option<(Router, Arc<dyn FakeService>)>,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<(Url, JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let url = Url::parse(&format!("http://{address}/")).expect("a socket address makes a URL");
    let (fake, service) = fake.unzip();
    let state = Arc::new(Listener {
        name,
        fake,
        service,
        control: control_router(shared.clone()),
        shared,
    });
    let task = tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    };
                    let state = state.clone();
                    connections.spawn(async move {
                        let service = hyper::service::service_fn(move |request| {
                            handle(request, state.clone())
                        });
                        // A connection ending badly (a dropped-connection fault, a client
                        // hanging up) concerns only that connection.
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
                _ = shutdown.changed() => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        connections.shutdown().await;
    });
    Ok((url, task))
}

async fn handle(
    request: Request<Incoming>,
    listener: Arc<Listener>,
) -> Result<Response<Body>, DropConnection> {
    let request = request.map(Body::new);
    if request.uri().path().starts_with("/_sandbox/") {
        if !addressed_to_loopback(request.headers()) || from_another_site(request.headers()) {
            return Ok(text(
                StatusCode::FORBIDDEN,
                "the control endpoints answer only requests whose Host is 127.0.0.1, [::1] or \
                 localhost (with the port): another Host is a page that renamed the sandbox \
                 (DNS rebinding)",
            ));
        }
        return Ok(call(listener.control.clone(), request).await);
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return Ok(text(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body too large or broken",
            ));
        }
    };
    let shared = &listener.shared;
    let mut entry = JournalEntry::new(
        &listener.name,
        &parts.method,
        &parts.uri,
        &parts.headers,
        &bytes,
    );
    if !shared.latency.is_zero() {
        tokio::time::sleep(shared.latency).await;
    }
    let from_fake = parts
        .headers
        .contains_key(crate::upstream::FROM_FAKE_HEADER);
    // A request from another fake is not counted, as it draws no random fault: it stands
    // for traffic between two vendors, whose 429 no client would see or wait out.
    if let (Some(limiter), Some(service), false) =
        (&shared.rate_limit, &listener.service, from_fake)
    {
        if let Err(wait) = limiter.admit(&listener.name, &parts.headers) {
            let response = service.throttled(&Throttle::new(wait, limiter.per_second()));
            let told = match response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
            {
                Some(value) => format!("with Retry-After: {value}"),
                None => "without Retry-After".to_owned(),
            };
            entry.fault = Some(format!(
                "rate limit: {} {told} (past {} requests per second for this credential)",
                response.status().as_u16(),
                limiter.per_second()
            ));
            entry.status = Some(response.status().as_u16());
            shared.journal.push(entry);
            return Ok(response);
        }
    }
    let fault = shared.faults.decide(
        &listener.name,
        parts.method.as_str(),
        parts.uri.path(),
        from_fake,
    );
    let request = Request::from_parts(parts, Body::from(bytes));
    let response = match fault {
        Some(fault) => {
            entry.fault = Some(fault.describe());
            match fault {
                FaultKind::DropConnection => {
                    shared.journal.push(entry);
                    return Err(DropConnection);
                }
                FaultKind::Status { status } => text(
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    "fault injected by the sandbox",
                ),
                FaultKind::TooManyRequests { retry_after_secs } => {
                    let mut response = text(
                        StatusCode::TOO_MANY_REQUESTS,
                        "fault injected by the sandbox",
                    );
                    response
                        .headers_mut()
                        .insert("retry-after", HeaderValue::from(retry_after_secs));
                    response
                }
                FaultKind::LostAnswer { status } => {
                    // The fake does the work and its answer is thrown away: the state
                    // changed, and the client cannot know.
                    let performed = perform(&listener, request).await;
                    entry.performed_status = Some(performed.status().as_u16());
                    drop(performed);
                    match status {
                        None => {
                            shared.journal.push(entry);
                            return Err(DropConnection);
                        }
                        Some(status) => text(
                            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
                            "fault injected by the sandbox: the request was performed and \
                             its answer lost",
                        ),
                    }
                }
            }
        }
        None => {
            let response = perform(&listener, request).await;
            entry.performed_status = Some(response.status().as_u16());
            response
        }
    };
    entry.status = Some(response.status().as_u16());
    shared.journal.push(entry);
    Ok(response)
}

/// Whether a browser marks the request as made by a page of another site: a no-cors `POST`
/// from any web page carries the sandbox's own `Host`, but also its `Origin` (or
/// `Sec-Fetch-Site`). Tools (curl, reqwest, the vendors' SDKs) send neither.
fn from_another_site(headers: &http::HeaderMap) -> bool {
    let cross_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| !matches!(site, "same-origin" | "none"));
    let foreign_origin = headers
        .get(http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|origin| {
            url::Url::parse(origin)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .is_none_or(|host| {
                    let host = host.trim_start_matches('[').trim_end_matches(']');
                    host != "localhost"
                        && !host
                            .parse::<std::net::IpAddr>()
                            .is_ok_and(|ip| ip.is_loopback())
                })
        });
    cross_site || foreign_origin
}

/// Whether a request names a loopback host: exactly one `Host` header, whose host is
/// `localhost` or a loopback address (`127.0.0.0/8`, `[::1]`), with or without a port. A
/// browser sends the page's own host name, so a page whose name was rebound to 127.0.0.1
/// (DNS rebinding) is refused, though it reaches the port.
fn addressed_to_loopback(headers: &http::HeaderMap) -> bool {
    let mut hosts = headers.get_all(http::header::HOST).iter();
    let (Some(host), None) = (hosts.next(), hosts.next()) else {
        return false;
    };
    let Ok(host) = host.to_str() else {
        return false;
    };
    let (name, port) = match host.strip_prefix('[') {
        Some(bracketed) => match bracketed.split_once(']') {
            Some((address, rest)) => (address, rest.strip_prefix(':').or(Some(rest))),
            None => return false,
        },
        None => match host.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, Some("")),
        },
    };
    let port_ok = port.is_some_and(|port| {
        port.is_empty() || (port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()))
    });
    let loopback = name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback());
    port_ok && loopback
}

/// The fake's own answer to the request.
async fn perform(listener: &Listener, request: Request<Body>) -> Response<Body> {
    match &listener.fake {
        Some(fake) => call(fake.clone(), request).await,
        None => text(
            StatusCode::NOT_FOUND,
            "no fake serves this port; see GET /_sandbox/services",
        ),
    }
}

async fn call(router: Router, request: Request<Body>) -> Response<Body> {
    match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
}

fn control_router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/_sandbox/journal", get(journal))
        .route("/_sandbox/reset", axum::routing::post(reset))
        .route(
            "/_sandbox/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route(
            "/_sandbox/faults/random",
            axum::routing::delete(stop_random_faults),
        )
        .route("/_sandbox/services", get(services))
        .route("/_sandbox/state", get(state))
        .fallback(|| async {
            text(
                StatusCode::NOT_FOUND,
                "control endpoints: GET /_sandbox/journal, POST /_sandbox/reset, \
                 GET|POST|DELETE /_sandbox/faults, DELETE /_sandbox/faults/random, \
                 GET /_sandbox/services, GET /_sandbox/state",
            )
        })
        .with_state(shared)
}

async fn journal(State(shared): State<Arc<Shared>>) -> Response<Body> {
    let mut response = Response::new(Body::from(shared.journal.to_json_lines()));
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/x-ndjson"),
    );
    response
}

async fn reset(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.reset();
    StatusCode::NO_CONTENT
}

async fn list_faults(State(shared): State<Arc<Shared>>) -> axum::Json<Vec<FaultRule>> {
    axum::Json(shared.faults.rules())
}

async fn add_fault(
    State(shared): State<Arc<Shared>>,
    axum::Json(rule): axum::Json<FaultRule>,
) -> Response<Body> {
    if rule.remaining == Some(0) {
        return text(
            StatusCode::BAD_REQUEST,
            "remaining must be at least 1, or absent for every request",
        );
    }
    if let FaultKind::Status { status }
    | FaultKind::LostAnswer {
        status: Some(status),
    } = rule.fault
    {
        if !(400..=599).contains(&status) {
            return text(StatusCode::BAD_REQUEST, "a status fault must be 400 to 599");
        }
    }
    shared.faults.add(rule);
    text(StatusCode::CREATED, "")
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.faults.clear();
    StatusCode::NO_CONTENT
}

/// Stops random faults for the rest of the sandbox's life ([`Faults::stop_random`]).
async fn stop_random_faults(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.faults.stop_random();
    StatusCode::NO_CONTENT
}

async fn services(State(shared): State<Arc<Shared>>) -> axum::Json<serde_json::Value> {
    let endpoints = shared.endpoints.get().cloned().unwrap_or_default();
    axum::Json(serde_json::Value::Array(
        endpoints
            .into_iter()
            .map(|(name, url)| serde_json::json!({"name": name, "url": url.as_str()}))
            .collect(),
    ))
}

/// What every fake holds, by service: `{"services": {"NAME": {"counts", "objects",
/// "credentials"}}}`.
async fn state(State(shared): State<Arc<Shared>>) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "services": shared.state() }))
}
