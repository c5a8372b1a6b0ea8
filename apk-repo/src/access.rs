//! Client access to a cache of APK packages, shared by every backend that holds one: the
//! `/etc/apk/repositories` line, the `HTTP_AUTH` export, and the Dockerfile and apko
//! snippets, with secrets named by variable unless revealed.

use pull_through_core::{AccessItem, ClientLogin, Error, Sensitive, SnippetKind, ValidationError};

use crate::http_auth::HttpAuth;
use crate::repo_url::RepoUrl;
use crate::snippet::{Dockerfile, apko_contents};

fn invalid(field: &str, problem: String) -> Error {
    Error::InvalidInput(ValidationError::InvalidValue {
        field: field.to_owned(),
        problem,
    })
}

/// What a person adds to reach the APK repository at `base` (a cache's URL, without
/// credentials) as `login`: the repository line (credentials in its userinfo, the password
/// shown as `${VAR}`), `HTTP_AUTH` for apko and apk-tools (only for a host without a port,
/// which apko cannot express), and the Dockerfile and apko snippets.
///
/// # Errors
///
/// [`Error::InvalidInput`] when the login cannot be written into a line (apk-tools'
/// limits).
///
/// ```
/// use apk_repo::access::apk_access;
/// use apk_repo::repo_url::RepoUrl;
/// use pull_through_core::{ClientLogin, Reveal};
/// let base = RepoUrl::artifactory("https://example.jfrog.io", "cg-private")?;
/// let login = ClientLogin::new("linky@example.com", "s3cret", "ARTIFACTORY_TOKEN");
/// let items = apk_access(&base, Some(&login)).unwrap();
/// assert_eq!(items[0].render(Reveal::Names), "https://linky%40example.com:${ARTIFACTORY_TOKEN}@example.jfrog.io/artifactory/cg-private/");
/// assert_eq!(items[1].render(Reveal::Names), "export HTTP_AUTH=\"basic:example.jfrog.io:linky@example.com:${ARTIFACTORY_TOKEN}\"");
/// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
/// ```
pub fn apk_access(base: &RepoUrl, login: Option<&ClientLogin>) -> Result<Vec<AccessItem>, Error> {
    let url = base.base();
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    let line = match login {
        Some(login) => {
            let line = base
                .clone()
                .with_credentials(&login.username, login.password.clone())
                .map_err(|err| invalid("login", err.to_string()))?
                .to_sensitive();
            // Shown with the variable in place of the masked password, so the line works
            // in a shell where the variable holds the token (access tokens need no
            // percent-encoding).
            let shown = line
                .shown()
                .replacen(":*@", &format!(":${{{}}}@", login.password_var), 1);
            Sensitive::new(shown, line.expose())
        }
        None => Sensitive::new(base.expose(), base.expose()),
    };
    let mut items = vec![AccessItem::ApkRepository { url: line }];
    // apk-tools and apko match HTTP_AUTH's second field against the host, and apko cannot
    // express a port, so a host with a port gets only the line.
    if let (Some(login), false) = (login, host.contains(':')) {
        let auth = HttpAuth::basic(&host, &login.username, login.password.clone())
            .map_err(|err| invalid("login", err.to_string()))?;
        items.push(AccessItem::HttpAuth {
            value: Sensitive::new(
                format!(
                    "basic:{host}:{}:${{{}}}",
                    login.username, login.password_var
                ),
                auth.value(),
            ),
        });
    }
    let dockerfile = Dockerfile::new("cgr.dev/chainguard/wolfi-base", ["wget"]).render();
    let apko = apko_contents(std::slice::from_ref(base), &[], &["wget"], &["x86_64"]);
    let apko = format!(
        "# apko reads credentials from HTTP_AUTH=basic:<host>:<user>:<token>, sent only to\n\
         # exactly that host; keep the keyring your image already uses\n{apko}"
    );
    items.push(AccessItem::Snippet {
        kind: SnippetKind::Dockerfile,
        title: "Dockerfile: the cache's line as a build secret mounted over /etc/apk/repositories"
            .to_owned(),
        text: Sensitive::new(dockerfile.clone(), dockerfile),
    });
    items.push(AccessItem::Snippet {
        kind: SnippetKind::Apko,
        title: "apko: the cache as the image's repository".to_owned(),
        text: Sensitive::new(apko.clone(), apko),
    });
    Ok(items)
}
