//! `[backends.NAME] type = "gar"`: the factory's checks (`file:line: field:`) and a
//! connected backend working against the fake Google.
#![cfg(feature = "fleet")]

mod common;

use common::fake::FakeGoogle;
use common::{Google, LOCATION, PROJECT, TOKEN};
use gar_client::GarFactory;
use pull_through_core::{CacheName, CacheSpec, Ensured, ExposeSecret, Upstream};
use pull_through_fleet::{BackendFactory, BackendTable, ConnectContext, Environment};

fn table() -> BackendTable {
    BackendTable::new("seeds.toml", "gar", "gar", 3)
}

#[test]
fn tables_are_checked_without_reading_variables() {
    let check = |table: BackendTable| GarFactory.check(&table).map_err(|e| e.to_string());
    assert_eq!(GarFactory.kind(), "gar");
    assert_eq!(
        GarFactory.fields(),
        [
            "project",
            "project_env",
            "location",
            "location_env",
            "token_env"
        ]
    );
    let err = check(table()).unwrap_err();
    assert!(
        err.starts_with("seeds.toml:3: backends.gar: missing project"),
        "{err}"
    );
    let err = check(table().with_field("project", "My Project", 4)).unwrap_err();
    assert!(
        err.starts_with(
            "seeds.toml:4: backends.gar.project: invalid input: Google Cloud project id"
        ),
        "{err}"
    );
    let err = check(table().with_field("project_env", "GOOGLE_CLOUD_PROJECT", 4)).unwrap_err();
    assert!(
        err.starts_with("seeds.toml:3: backends.gar: missing location"),
        "{err}"
    );
    let err = check(table().with_field("project", PROJECT, 4).with_field(
        "location",
        "us-central1-a",
        5,
    ))
    .unwrap_err();
    assert!(
        err.starts_with("seeds.toml:5: backends.gar.location:"),
        "{err}"
    );
    let err = check(
        table()
            .with_field("project", PROJECT, 4)
            .with_field("project_env", "GOOGLE_CLOUD_PROJECT", 5)
            .with_field("location", LOCATION, 6),
    )
    .unwrap_err();
    assert!(
        err.contains("give project or project_env, not both"),
        "{err}"
    );
    let err = check(
        table()
            .with_field("project", PROJECT, 4)
            .with_field("location", LOCATION, 5)
            .with_field("token_env", TOKEN, 6),
    )
    .unwrap_err();
    assert!(
        err.starts_with("seeds.toml:6: backends.gar.token_env:") && !err.contains(TOKEN),
        "{err}"
    );
    assert!(
        check(table().with_field("project", PROJECT, 4).with_field(
            "location_env",
            "GOOGLE_CLOUD_LOCATION",
            5
        ))
        .is_ok()
    );
}

#[tokio::test]
async fn a_connected_backend_uses_the_environment_s_token_and_endpoints() {
    let google = Google::start().await;
    let fake = FakeGoogle::mount(&google.ar, &google.sm, &google.crm).await;
    // The factory keeps the default polling (a second's wait first): one poll is enough.
    fake.with(|s| s.polls = 0);
    let env = Environment::fixed([
        ("GOOGLE_CLOUD_PROJECT", PROJECT.to_owned()),
        ("GOOGLE_CLOUD_LOCATION", LOCATION.to_owned()),
        ("SANDBOX_GAR_TOKEN", TOKEN.to_owned()),
        (
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_ARTIFACTREGISTRY",
            format!("{}/", google.ar.uri()),
        ),
        (
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER",
            format!("{}/", google.sm.uri()),
        ),
        (
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER",
            format!("{}/", google.crm.uri()),
        ),
        (
            "GAR_DOCKER_REGISTRY_URL",
            format!("{}/", google.docker.uri()),
        ),
    ]);
    let org = "example.com".parse().unwrap();
    let table = table()
        .with_field("project_env", "GOOGLE_CLOUD_PROJECT", 4)
        .with_field("location_env", "GOOGLE_CLOUD_LOCATION", 5)
        .with_field("token_env", "SANDBOX_GAR_TOKEN", 6);
    let connected = GarFactory
        .connect(&table, &ConnectContext::new(&env, &org))
        .unwrap();
    assert_eq!(connected.login.username, "oauth2accesstoken");
    assert_eq!(connected.login.password.expose_secret(), TOKEN);
    assert_eq!(connected.login.password_var, "SANDBOX_GAR_TOKEN");
    assert_eq!(connected.credential_source, "SANDBOX_GAR_TOKEN");
    assert_eq!(connected.variables[0].0, "SANDBOX_GAR_TOKEN");
    assert_eq!(connected.url, format!("{}/{PROJECT}", google.docker.uri()));
    let spec = CacheSpec::remote(CacheName::new("cgr-public").unwrap(), Upstream::CgrPublic);
    assert!(matches!(
        connected.api.ensure(&spec).await.unwrap(),
        Ensured::Created { .. }
    ));
    assert!(fake.with(|s| s.repositories.contains_key("cgr-public")));
    assert!(!format!("{connected:?}").contains(TOKEN));
}

#[test]
fn an_unset_variable_is_named_and_no_token_means_application_default_credentials() {
    let env = Environment::fixed([("GOOGLE_CLOUD_PROJECT", PROJECT)]);
    let org = "example.com".parse().unwrap();
    let context = ConnectContext::new(&env, &org);
    let err = GarFactory
        .connect(
            &table()
                .with_field("project_env", "GOOGLE_CLOUD_PROJECT", 4)
                .with_field("location_env", "GOOGLE_CLOUD_LOCATION", 5),
            &context,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "seeds.toml:3: backends.gar.location_env: GOOGLE_CLOUD_LOCATION is not set; export it \
         with the location, such as us-central1"
    );
    let err = GarFactory
        .connect(
            &table()
                .with_field("project", PROJECT, 4)
                .with_field("location", LOCATION, 5)
                .with_field("token_env", "GAR_TOKEN", 6),
            &context,
        )
        .unwrap_err();
    assert!(err.to_string().contains("GAR_TOKEN is not set"), "{err}");
    // No token_env: ADC, looked for only when a token is needed (nothing is sent here).
    let connected = GarFactory
        .connect(
            &table()
                .with_field("project", PROJECT, 4)
                .with_field("location", LOCATION, 5),
            &context,
        )
        .unwrap();
    assert_eq!(
        connected.credential_source,
        "Application Default Credentials"
    );
    assert!(connected.login.password.expose_secret().is_empty());
    assert!(connected.variables.is_empty());
    assert_eq!(
        connected.url,
        format!("https://{LOCATION}-docker.pkg.dev/{PROJECT}")
    );
}
