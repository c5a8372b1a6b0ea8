//! The control endpoints answer only requests addressed to loopback: a page on another
//! site whose name was rebound to 127.0.0.1 (DNS rebinding) cannot reset the sandbox.

use pull_through_sandbox::{CONTROL_SERVICE, FaultKind, FaultRule, Sandbox};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends one raw HTTP/1.1 request with `host` as its `Host` header (`None`: no header) and
/// returns the status code and body.
async fn raw(port: u16, method: &str, path: &str, host: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let host = host
        .map(|host| format!("Host: {host}\r\n"))
        .unwrap_or_default();
    let request =
        format!("{method} {path} HTTP/1.1\r\n{host}Content-Length: 0\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {answer:?}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn control_endpoints_refuse_a_foreign_host() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let url = sandbox.url(CONTROL_SERVICE).unwrap();
    let port = url.port().unwrap();
    sandbox
        .faults()
        .add(FaultRule::new(FaultKind::Status { status: 503 }));

    for host in [
        Some("evil.example".to_owned()),
        Some(format!("evil.example:{port}")),
        Some(format!("127.0.0.1.evil.example:{port}")),
        Some(format!("localhost.evil.example:{port}")),
        Some(format!("0.0.0.0:{port}")),
        Some(format!("192.168.1.10:{port}")),
        None,
    ] {
        let (status, body) = raw(port, "POST", "/_sandbox/reset", host.as_deref()).await;
        assert!(
            status == 403 || status == 421,
            "Host {host:?}: {status} {body}"
        );
        assert!(body.contains("Host"), "Host {host:?}: {body}");
        let (status, _) = raw(port, "GET", "/_sandbox/journal", host.as_deref()).await;
        assert!(status == 403 || status == 421, "Host {host:?}: {status}");
    }
    assert_eq!(
        sandbox.faults().rules().len(),
        1,
        "a refused reset changed nothing"
    );

    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("LOCALHOST:{port}"),
        format!("[::1]:{port}"),
        "127.0.0.1".to_owned(),
        format!("127.1.2.3:{port}"),
    ] {
        let (status, _) = raw(port, "GET", "/_sandbox/services", Some(&host)).await;
        assert_eq!(status, 200, "Host {host}");
    }
    let (status, body) = raw(
        port,
        "POST",
        "/_sandbox/reset",
        Some(&format!("127.0.0.1:{port}")),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    assert!(sandbox.faults().rules().is_empty(), "the reset ran");
    sandbox.shutdown().await;
}

/// A web page's no-cors `POST` carries the sandbox's own `Host` but also the page's
/// `Origin` (and `Sec-Fetch-Site`): refused, while tools, which send neither, are served.
#[tokio::test]
async fn control_endpoints_refuse_a_page_of_another_site() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let port = sandbox.url(CONTROL_SERVICE).unwrap().port().unwrap();
    let send = |extra: String| async move {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let request = format!(
            "POST /_sandbox/reset HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        String::from_utf8_lossy(&answer)
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse::<u16>().ok())
            .unwrap()
    };
    assert_eq!(send("Origin: https://evil.example\r\n".into()).await, 403);
    assert_eq!(send("Origin: null\r\n".into()).await, 403);
    assert_eq!(send("Sec-Fetch-Site: cross-site\r\n".into()).await, 403);
    assert_ne!(send(String::new()).await, 403, "a tool's request is served");
    assert_ne!(
        send(format!("Origin: http://127.0.0.1:{port}\r\n")).await,
        403
    );
    sandbox.shutdown().await;
}
