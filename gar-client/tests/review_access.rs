//! Client access never puts the access token in a command's argv: the login Google
//! documents, with the token on standard input.

mod common;

use common::Google;
use gar_client::GarBackend;
use pull_through_core::{
    AccessItem, CacheName, CacheState, ClientLogin, PackageFormat, PullThroughBackend, Reveal,
};

#[tokio::test]
async fn the_login_reads_the_token_from_standard_input() {
    let google = Google::start().await;
    let backend = GarBackend::new(google.client());
    let state = CacheState::remote(
        CacheName::new("cgr-public").unwrap(),
        PackageFormat::Docker,
        "https://cgr.dev/",
    );
    let login = ClientLogin::new(
        "oauth2accesstoken",
        "ya29.it's-a-token",
        "GOOGLE_OAUTH_ACCESS_TOKEN",
    );
    let access = backend.client_access(&state, Some(&login)).unwrap();
    assert!(
        access
            .items
            .iter()
            .all(|item| !matches!(item, AccessItem::DockerLogin { .. })),
        "no docker login with --password"
    );
    let registry = google.docker.uri();
    let shown = access.render(Reveal::Names);
    assert!(!shown.contains("--password "), "{shown}");
    assert!(
        shown.contains(&format!(
            "# or log in with the access token in GOOGLE_OAUTH_ACCESS_TOKEN\n\
             echo \"$GOOGLE_OAUTH_ACCESS_TOKEN\" | docker login -u oauth2accesstoken \
             --password-stdin {registry}\n"
        )),
        "{shown}"
    );
    let revealed = access.render(Reveal::Secrets);
    assert!(
        revealed.contains(&format!(
            "echo 'ya29.it'\\''s-a-token' | docker login -u oauth2accesstoken --password-stdin \
             {registry}\n"
        )),
        "{revealed}"
    );
    assert!(!revealed.contains("--password "), "{revealed}");
}
