//! Error texts never echo a secret: a token pasted where a URL belongs, an STS answer
//! that is a bare string.

use std::collections::HashMap;

use chainguard_client::ChainguardClient;
use chainguard_client::auth::Sts;
use pull_through_core::SecretString;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A JWT's three parts; none may appear in a message.
const HEADER: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6InB1bGwifQ";
const PAYLOAD: &str = "eyJzdWIiOiJwYXN0ZWQtdG9rZW4iLCJleHAiOjQxMDI0NDQ4MDB9";
const SIGNATURE: &str = "c2lnbmF0dXJlLW9mLWEtcGFzdGVkLXRva2Vu";

fn jwt() -> String {
    format!("{HEADER}.{PAYLOAD}.{SIGNATURE}")
}

fn assert_unechoed(what: &str, text: &str) {
    for part in [HEADER, PAYLOAD, SIGNATURE] {
        assert!(!text.contains(part), "{what} echoes the token: {text}");
    }
}

#[test]
fn a_token_pasted_as_a_url_is_refused_without_echo() {
    let jwt = jwt();
    for var in ["CHAINGUARD_API_URL", "CHAINGUARD_ISSUER_URL"] {
        for pasted in [
            jwt.clone(),
            format!("Bearer {jwt}"),
            format!("https://{jwt}"),
            format!("https://console-api.example/{jwt}"),
            format!("https://console-api.example/?token={jwt}"),
            format!("https://user:{jwt}@console-api.example"),
        ] {
            let vars = HashMap::from([(var, pasted.clone()), ("CHAINGUARD_TOKEN", "t".into())]);
            let err = ChainguardClient::builder()
                .from_env_with(|v| vars.get(v).cloned())
                .and_then(|builder| builder.build())
                .expect_err(&pasted);
            assert!(err.is_invalid_input(), "{err:?}");
            let message = err.to_string();
            assert!(message.contains(var), "{message}");
            assert_unechoed(var, &message);
            assert_unechoed(var, &format!("{err:?}"));
        }
    }
}

async fn sts_answering(status: u16, body: String) -> (MockServer, Sts) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/sts/exchange"))
        .respond_with(
            ResponseTemplate::new(status).set_body_raw(body.into_bytes(), "application/json"),
        )
        .mount(&server)
        .await;
    let sts = Sts::new(server.uri().parse().unwrap()).unwrap();
    (server, sts)
}

#[tokio::test]
async fn a_bare_string_sts_answer_is_not_shown() {
    let upstream = SecretString::from("upstream-oidc-token");
    let opaque = "opaque-0123456789-abcdefghij-token";
    for (status, body) in [
        (200, format!("\"{}\"", jwt())),
        (200, jwt()),
        (200, format!("\"{opaque}\"")),
        (401, format!("\"{}\"", jwt())),
        (400, format!("\"{opaque}\"")),
    ] {
        let (_server, sts) = sts_answering(status, body.clone()).await;
        let err = sts
            .exchange(&upstream, "cgr.dev", None)
            .await
            .expect_err(&body);
        for text in [err.to_string(), format!("{err:?}")] {
            assert_unechoed("STS error", &text);
            assert!(!text.contains(opaque), "STS error echoes the token: {text}");
        }
    }
}
