//! Backend tables reach their vendor's factory with every problem named by file, line and
//! field, before any variable is read or request sent.

use pull_through_fleet::{
    BackendFactory, BackendTable, Config, ConfigError, ConnectContext, Connected, Factories,
    FleetError, Setting,
};

/// A vendor with one required field, `project`, and one optional variable, `token_env`.
struct Example;

impl BackendFactory for Example {
    fn kind(&self) -> &str {
        "example"
    }
    fn fields(&self) -> &[&str] {
        &["project", "token_env"]
    }
    fn check(&self, table: &BackendTable) -> Result<(), ConfigError> {
        table.variable("token_env")?;
        match table.string("project")? {
            Some(project) if project.len() >= 6 => Ok(()),
            Some(_) => Err(table.error("project", "is shorter than 6 characters")),
            None => Err(table.table_error("missing project")),
        }
    }
    fn connect(
        &self,
        table: &BackendTable,
        _: &ConnectContext<'_>,
    ) -> Result<Connected, ConfigError> {
        Err(table.table_error("not connected in these tests"))
    }
}

fn config(backend: &str) -> String {
    format!(
        "name = \"t\"\n[chainguard]\norg = \"example.com\"\n[backends.ex]\n{backend}\n[[caches]]\nname = \"pub\"\nupstream = \"cgr.dev/chainguard\"\n"
    )
}

fn refused(backend: &str) -> ConfigError {
    Config::parse("t.toml", &config(backend), &Factories::new().with(Example))
        .expect_err("the backend table should be refused")
}

#[test]
fn a_good_table_keeps_its_fields_with_their_lines() {
    let text = config("type = \"example\"\nproject = \"my-project\"\ntoken_env = \"EX_TOKEN\"");
    let parsed = Config::parse("t.toml", &text, &Factories::new().with(Example)).unwrap();
    let table = &parsed.backends["ex"];
    assert_eq!((table.kind.as_str(), table.line), ("example", 4));
    assert_eq!(table.fields["project"].line, 6);
    assert_eq!(
        table.string("project").unwrap().as_deref(),
        Some("my-project")
    );
    assert_eq!(
        table
            .setting("project", "token_env")
            .unwrap_err()
            .to_string(),
        "t.toml:6: backends.ex.project: give project or token_env, not both"
    );
    assert_eq!(parsed.caches[0].backend, "ex");
}

#[test]
fn each_problem_names_its_line_and_field() {
    let cases = [
        (
            "type = \"nexus\"",
            "t.toml:5: backends.ex.type: \"nexus\" is not a backend type this program knows; allowed: \"example\"",
        ),
        (
            "type = 5",
            "t.toml:5: backends.ex.type: invalid type: integer, expected a string",
        ),
        (
            "project = \"my-project\"",
            "t.toml:4: backends.ex.type: missing field `type`; allowed: \"example\"",
        ),
        (
            "type = \"example\"\nprojekt = \"x\"",
            "t.toml:6: backends.ex.projekt: unknown field `projekt`, expected one of `type`, `project`, `token_env`",
        ),
        (
            "type = \"example\"\nproject = \"short\"",
            "t.toml:6: backends.ex.project: is shorter than 6 characters",
        ),
        (
            "type = \"example\"\nproject = [\"a\"]",
            "t.toml:6: backends.ex.project: invalid type: array, expected a string",
        ),
        (
            "type = \"example\"",
            "t.toml:4: backends.ex: missing project",
        ),
    ];
    for (backend, says) in cases {
        assert_eq!(refused(backend).to_string(), says, "for {backend:?}");
    }
}

#[test]
fn a_secret_pasted_for_a_variable_is_refused_unechoed() {
    let err =
        refused("type = \"example\"\nproject = \"my-project\"\ntoken_env = \"ghp_s3cretvalue\"");
    assert_eq!((err.line, err.field.as_str()), (7, "backends.ex.token_env"));
    assert!(err.problem.contains("15 characters, not shown"), "{err}");
    assert!(!err.to_string().contains("s3cret"), "{err}");
}

#[test]
fn no_backend_lists_the_known_types() {
    let text = "name = \"t\"\n[chainguard]\norg = \"example.com\"\n";
    let err = Config::parse("t.toml", text, &Factories::new().with(Example)).unwrap_err();
    assert_eq!(err.field, "backends");
    assert_eq!(
        err.problem,
        "no backend: add a [backends.NAME] table with type = one of \"example\""
    );
}

#[test]
fn factories_are_found_by_type() {
    let factories = Factories::new().with(Example);
    assert_eq!(factories.kinds(), ["example"]);
    assert!(factories.get("example").is_some());
    assert!(factories.get("artifactory").is_none());
    assert_eq!(format!("{factories:?}"), "[\"example\"]");
}

#[test]
fn settings_read_their_variable_or_their_value() {
    let env = pull_through_fleet::Environment::fixed([("EX_URL", "https://ex.example")]);
    assert_eq!(
        Setting::Env("EX_URL".into()).read(&env).as_deref(),
        Some("https://ex.example")
    );
    assert_eq!(Setting::Env("UNSET".into()).read(&env), None);
    assert_eq!(
        Setting::Literal("v".into()).read(&env).as_deref(),
        Some("v")
    );
}

#[test]
fn usage_errors_are_the_callers_and_the_rest_the_services() {
    let config = FleetError::Config(refused("type = 5"));
    assert!(config.is_usage());
    assert!(FleetError::Usage("bad org_id".into()).is_usage());
    assert!(!FleetError::Refused("the token was refused".into()).is_usage());
    let invalid =
        pull_through_core::Error::InvalidInput(pull_through_core::ValidationError::InvalidValue {
            field: "name".into(),
            problem: "twin".into(),
        });
    assert!(FleetError::Backend(invalid).is_usage());
    let answered = pull_through_core::Error::Unsupported {
        vendor: "example".into(),
        what: "x".into(),
        hint: "y".into(),
    };
    assert!(!FleetError::Backend(answered).is_usage());
}
