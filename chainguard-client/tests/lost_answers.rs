//! Pull tokens whose identity or role binding create lost its answer (the fake made it,
//! then answered 502 or dropped the connection): the client reads back what exists and
//! makes nothing twice, and resends a create that never arrived.

use std::sync::Arc;
use std::time::Duration;

use chainguard_client::auth::StaticToken;
use chainguard_client::{ChainguardClient, PullTokenOptions};
use pull_through_core::http::RetryConfig;
use pull_through_core::{OrgId, PullTokenRole};
use pull_through_sandbox::chainguard::Chainguard;
use pull_through_sandbox::{FaultKind, FaultRule, Sandbox};

struct World {
    sandbox: Sandbox,
    org: OrgId,
    client: ChainguardClient,
}

async fn world() -> World {
    let chainguard = Chainguard::new("example.com");
    let sandbox = Sandbox::builder()
        .chainguard(&chainguard)
        .start()
        .await
        .unwrap();
    let client = ChainguardClient::builder()
        .with_api_url(sandbox.url("chainguard-api").unwrap().clone())
        .with_issuer_url(sandbox.url("chainguard-sts").unwrap().clone())
        .with_token_source(Arc::new(StaticToken::new(
            chainguard.admin_token().expose(),
        )))
        .with_retry(
            RetryConfig::default()
                .with_max_attempts(3)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
        .with_binding_retry(vec![Duration::from_millis(10)])
        .with_key_size(chainguard_client::KeySize::Rsa2048)
        .build()
        .unwrap();
    World {
        org: OrgId::new(chainguard.org_id()).unwrap(),
        sandbox,
        client,
    }
}

impl World {
    fn fault(&self, fault: FaultKind, method: &str, path_prefix: &str) {
        self.sandbox.faults().add(
            FaultRule::new(fault)
                .service("chainguard-api")
                .method(method)
                .path_prefix(path_prefix)
                .times(1),
        );
    }

    /// Method and path of every request the console API received, in order.
    fn requests(&self) -> Vec<String> {
        self.sandbox
            .journal()
            .entries_for("chainguard-api")
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e.method,
                    e.path.split('/').take(4).collect::<Vec<_>>().join("/")
                )
            })
            .collect()
    }

    /// The identities and role bindings the fake holds.
    fn held(&self) -> (Vec<String>, Vec<String>) {
        let state = &self.sandbox.state()["chainguard-api"];
        (
            state.objects["identities"].clone(),
            state.objects["role_bindings"].clone(),
        )
    }
}

const LOST: [FaultKind; 2] = [
    FaultKind::LostAnswer { status: Some(502) },
    FaultKind::LostAnswer { status: None },
];

#[tokio::test]
async fn an_identity_whose_create_lost_its_answer_is_found_not_made_twice() {
    for lost in LOST {
        let world = world().await;
        world.fault(lost, "POST", "/iam/v1/identities/");
        let token = world
            .client
            .create_pull_token(
                &world.org,
                PullTokenOptions::new(PullTokenRole::RegistryPull),
            )
            .await
            .unwrap_or_else(|err| panic!("{lost:?}: {err}"));
        let (identities, bindings) = world.held();
        assert_eq!(identities, [token.identity_id.as_str()], "{lost:?}");
        assert_eq!(bindings, [format!("{} registry.pull", token.identity_id)]);
        assert_eq!(
            world.requests(),
            [
                "GET /iam/v1/roles",
                "POST /iam/v1/identities",
                "GET /iam/v1/identities",
                "POST /iam/v1/rolebindings",
            ],
            "{lost:?}: one create, read back, then the binding"
        );
    }
}

#[tokio::test]
async fn a_binding_whose_create_lost_its_answer_is_found_not_made_twice() {
    for lost in LOST {
        let world = world().await;
        world.fault(lost, "POST", "/iam/v1/rolebindings/");
        let token = world
            .client
            .create_pull_token(&world.org, PullTokenOptions::new(PullTokenRole::ApkPull))
            .await
            .unwrap_or_else(|err| panic!("{lost:?}: {err}"));
        let (identities, bindings) = world.held();
        assert_eq!(identities, [token.identity_id.as_str()]);
        assert_eq!(
            bindings,
            [format!("{} apk.pull", token.identity_id)],
            "{lost:?}"
        );
        assert_eq!(
            world.requests(),
            [
                "GET /iam/v1/roles",
                "POST /iam/v1/identities",
                "POST /iam/v1/rolebindings",
                "GET /iam/v1/rolebindings",
            ],
            "{lost:?}"
        );
    }
}

#[tokio::test]
async fn a_create_that_never_arrived_is_sent_again_once_the_read_finds_nothing() {
    let world = world().await;
    // 502 instead of the request: the fake never saw either create.
    world.fault(
        FaultKind::Status { status: 502 },
        "POST",
        "/iam/v1/identities/",
    );
    world.fault(FaultKind::DropConnection, "POST", "/iam/v1/rolebindings/");
    let token = world
        .client
        .create_pull_token(
            &world.org,
            PullTokenOptions::new(PullTokenRole::RegistryPull),
        )
        .await
        .unwrap();
    let (identities, bindings) = world.held();
    assert_eq!(identities, [token.identity_id.as_str()]);
    assert_eq!(bindings, [format!("{} registry.pull", token.identity_id)]);
    assert_eq!(
        world.requests(),
        [
            "GET /iam/v1/roles",
            "POST /iam/v1/identities",
            "GET /iam/v1/identities",
            "POST /iam/v1/identities",
            "POST /iam/v1/rolebindings",
            "GET /iam/v1/rolebindings",
            "POST /iam/v1/rolebindings",
        ]
    );
}
