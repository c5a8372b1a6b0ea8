//! The request messages the fakes parse, field for field from Google's protos
//! (`google/devtools/artifactregistry/v1/repository.proto`,
//! `google/cloud/secretmanager/v1/resources.proto`, `google/iam/v1/policy.proto`, as
//! `google-cloud-artifact-registry` 1.23.0 and `google-cloud-secret-manager` 2.32.0
//! carry them), with the enum numbers Google's REST clients send.

use super::schema::{Enum, Kind, Message, field};

const AR: &str = "google.devtools.artifactregistry.v1";

pub(crate) static FORMAT: Enum = Enum {
    type_name: "google.devtools.artifactregistry.v1.Repository.Format",
    values: &[
        ("FORMAT_UNSPECIFIED", 0),
        ("DOCKER", 1),
        ("MAVEN", 2),
        ("NPM", 3),
        ("APT", 5),
        ("YUM", 6),
        ("PYTHON", 8),
        ("KFP", 9),
        ("GO", 10),
        ("GENERIC", 11),
        ("RUBY", 12),
    ],
};

pub(crate) static MODE: Enum = Enum {
    type_name: "google.devtools.artifactregistry.v1.Repository.Mode",
    values: &[
        ("MODE_UNSPECIFIED", 0),
        ("STANDARD_REPOSITORY", 1),
        ("VIRTUAL_REPOSITORY", 2),
        ("REMOTE_REPOSITORY", 3),
    ],
};

static DOCKER_PUBLIC: Enum = Enum {
    type_name: "google.devtools.artifactregistry.v1.RemoteRepositoryConfig.DockerRepository.PublicRepository",
    values: &[("PUBLIC_REPOSITORY_UNSPECIFIED", 0), ("DOCKER_HUB", 1)],
};
static MAVEN_PUBLIC: Enum = Enum {
    type_name: "google.devtools.artifactregistry.v1.RemoteRepositoryConfig.MavenRepository.PublicRepository",
    values: &[("PUBLIC_REPOSITORY_UNSPECIFIED", 0), ("MAVEN_CENTRAL", 1)],
};
static NPM_PUBLIC: Enum = Enum {
    type_name: "google.devtools.artifactregistry.v1.RemoteRepositoryConfig.NpmRepository.PublicRepository",
    values: &[("PUBLIC_REPOSITORY_UNSPECIFIED", 0), ("NPMJS", 1)],
};
static PYTHON_PUBLIC: Enum = Enum {
    type_name: "google.devtools.artifactregistry.v1.RemoteRepositoryConfig.PythonRepository.PublicRepository",
    values: &[("PUBLIC_REPOSITORY_UNSPECIFIED", 0), ("PYPI", 1)],
};
/// Every `publicRepository` enum value, for answers with enum numbers (each is 1).
pub(crate) static PUBLIC_REPOSITORY_ANY: Enum = Enum {
    type_name: "",
    values: &[
        ("DOCKER_HUB", 1),
        ("MAVEN_CENTRAL", 1),
        ("NPMJS", 1),
        ("PYPI", 1),
    ],
};
static APT_BASE: Enum = Enum {
    type_name: "google.devtools.artifactregistry.v1.RemoteRepositoryConfig.AptRepository.PublicRepository.RepositoryBase",
    values: &[
        ("REPOSITORY_BASE_UNSPECIFIED", 0),
        ("DEBIAN", 1),
        ("UBUNTU", 2),
        ("DEBIAN_SNAPSHOT", 3),
    ],
};
static YUM_BASE: Enum = Enum {
    type_name: "google.devtools.artifactregistry.v1.RemoteRepositoryConfig.YumRepository.PublicRepository.RepositoryBase",
    values: &[
        ("REPOSITORY_BASE_UNSPECIFIED", 0),
        ("CENTOS", 1),
        ("CENTOS_DEBUG", 2),
        ("CENTOS_VAULT", 3),
        ("CENTOS_STREAM", 4),
        ("ROCKY", 5),
        ("EPEL", 6),
    ],
};
static TAG_STATE: Enum = Enum {
    type_name: "google.devtools.artifactregistry.v1.CleanupPolicyCondition.TagState",
    values: &[
        ("TAG_STATE_UNSPECIFIED", 0),
        ("TAGGED", 1),
        ("UNTAGGED", 2),
        ("ANY", 3),
    ],
};
static ACTION: Enum = Enum {
    type_name: "google.devtools.artifactregistry.v1.CleanupPolicy.Action",
    values: &[("ACTION_UNSPECIFIED", 0), ("DELETE", 1), ("KEEP", 2)],
};
static VERSION_POLICY: Enum = Enum {
    type_name: "google.devtools.artifactregistry.v1.Repository.MavenRepositoryConfig.VersionPolicy",
    values: &[
        ("VERSION_POLICY_UNSPECIFIED", 0),
        ("RELEASE", 1),
        ("SNAPSHOT", 2),
    ],
};
pub(crate) static ENABLEMENT_CONFIG: Enum = Enum {
    type_name: "google.devtools.artifactregistry.v1.Repository.VulnerabilityScanningConfig.EnablementConfig",
    values: &[
        ("ENABLEMENT_CONFIG_UNSPECIFIED", 0),
        ("INHERITED", 1),
        ("DISABLED", 2),
    ],
};
pub(crate) static ENABLEMENT_STATE: Enum = Enum {
    type_name: "google.devtools.artifactregistry.v1.Repository.VulnerabilityScanningConfig.EnablementState",
    values: &[
        ("ENABLEMENT_STATE_UNSPECIFIED", 0),
        ("SCANNING_UNSUPPORTED", 1),
        ("SCANNING_DISABLED", 2),
        ("SCANNING_ACTIVE", 3),
    ],
};

static UPSTREAM_POLICY: Message = Message {
    type_name: "google.devtools.artifactregistry.v1.UpstreamPolicy",
    fields: &[
        field("id", Kind::String),
        field("repository", Kind::String),
        field("priority", Kind::Int32),
    ],
};
static CLEANUP_CONDITION: Message = Message {
    type_name: "google.devtools.artifactregistry.v1.CleanupPolicyCondition",
    fields: &[
        field("tagState", Kind::Enum(&TAG_STATE)),
        field("tagPrefixes", Kind::String).repeated(),
        field("versionNamePrefixes", Kind::String).repeated(),
        field("packageNamePrefixes", Kind::String).repeated(),
        field("olderThan", Kind::Duration),
        field("newerThan", Kind::Duration),
    ],
};
static CLEANUP_MOST_RECENT: Message = Message {
    type_name: "google.devtools.artifactregistry.v1.CleanupPolicyMostRecentVersions",
    fields: &[
        field("packageNamePrefixes", Kind::String).repeated(),
        field("keepCount", Kind::Int32),
    ],
};
static CLEANUP_POLICY: Message = Message {
    type_name: "google.devtools.artifactregistry.v1.CleanupPolicy",
    fields: &[
        field("condition", Kind::Message(&CLEANUP_CONDITION)).oneof("condition_type"),
        field("mostRecentVersions", Kind::Message(&CLEANUP_MOST_RECENT)).oneof("condition_type"),
        field("id", Kind::String),
        field("action", Kind::Enum(&ACTION)),
    ],
};
static CLEANUP_POLICY_KIND: Kind = Kind::Message(&CLEANUP_POLICY);
static VIRTUAL_CONFIG: Message = Message {
    type_name: "google.devtools.artifactregistry.v1.VirtualRepositoryConfig",
    fields: &[field("upstreamPolicies", Kind::Message(&UPSTREAM_POLICY)).repeated()],
};
static USERNAME_PASSWORD: Message = Message {
    type_name: "google.devtools.artifactregistry.v1.RemoteRepositoryConfig.UpstreamCredentials.UsernamePasswordCredentials",
    fields: &[
        field("username", Kind::String),
        field("passwordSecretVersion", Kind::String),
    ],
};
static UPSTREAM_CREDENTIALS: Message = Message {
    type_name: "google.devtools.artifactregistry.v1.RemoteRepositoryConfig.UpstreamCredentials",
    fields: &[field(
        "usernamePasswordCredentials",
        Kind::Message(&USERNAME_PASSWORD),
    )
    .oneof("credentials")],
};
static CUSTOM_REPOSITORY: Message = Message {
    type_name: "google.devtools.artifactregistry.v1.RemoteRepositoryConfig.DockerRepository.CustomRepository",
    fields: &[field("uri", Kind::String)],
};

/// `{publicRepository (enum) | customRepository}`, the shape of the Docker, Maven, npm and
/// Python upstreams.
macro_rules! enum_upstream {
    ($name:ident, $type_name:expr, $public:expr) => {
        static $name: Message = Message {
            type_name: $type_name,
            fields: &[
                field("publicRepository", Kind::Enum($public)).oneof("upstream"),
                field("customRepository", Kind::Message(&CUSTOM_REPOSITORY)).oneof("upstream"),
            ],
        };
    };
}
enum_upstream!(
    DOCKER_REPOSITORY,
    "google.devtools.artifactregistry.v1.RemoteRepositoryConfig.DockerRepository",
    &DOCKER_PUBLIC
);
enum_upstream!(
    MAVEN_REPOSITORY,
    "google.devtools.artifactregistry.v1.RemoteRepositoryConfig.MavenRepository",
    &MAVEN_PUBLIC
);
enum_upstream!(
    NPM_REPOSITORY,
    "google.devtools.artifactregistry.v1.RemoteRepositoryConfig.NpmRepository",
    &NPM_PUBLIC
);
enum_upstream!(
    PYTHON_REPOSITORY,
    "google.devtools.artifactregistry.v1.RemoteRepositoryConfig.PythonRepository",
    &PYTHON_PUBLIC
);

static APT_PUBLIC: Message = Message {
    type_name: "google.devtools.artifactregistry.v1.RemoteRepositoryConfig.AptRepository.PublicRepository",
    fields: &[
        field("repositoryBase", Kind::Enum(&APT_BASE)),
        field("repositoryPath", Kind::String),
    ],
};
static YUM_PUBLIC: Message = Message {
    type_name: "google.devtools.artifactregistry.v1.RemoteRepositoryConfig.YumRepository.PublicRepository",
    fields: &[
        field("repositoryBase", Kind::Enum(&YUM_BASE)),
        field("repositoryPath", Kind::String),
    ],
};
static APT_REPOSITORY: Message = Message {
    type_name: "google.devtools.artifactregistry.v1.RemoteRepositoryConfig.AptRepository",
    fields: &[
        field("publicRepository", Kind::Message(&APT_PUBLIC)).oneof("upstream"),
        field("customRepository", Kind::Message(&CUSTOM_REPOSITORY)).oneof("upstream"),
    ],
};
static YUM_REPOSITORY: Message = Message {
    type_name: "google.devtools.artifactregistry.v1.RemoteRepositoryConfig.YumRepository",
    fields: &[
        field("publicRepository", Kind::Message(&YUM_PUBLIC)).oneof("upstream"),
        field("customRepository", Kind::Message(&CUSTOM_REPOSITORY)).oneof("upstream"),
    ],
};
static COMMON_REPOSITORY: Message = Message {
    type_name: "google.devtools.artifactregistry.v1.RemoteRepositoryConfig.CommonRemoteRepository",
    fields: &[field("uri", Kind::String)],
};

/// The remote sources, one of which a remote repository names.
pub(crate) const REMOTE_SOURCES: [&str; 7] = [
    "dockerRepository",
    "mavenRepository",
    "npmRepository",
    "pythonRepository",
    "aptRepository",
    "yumRepository",
    "commonRepository",
];

static REMOTE_CONFIG: Message = Message {
    type_name: "google.devtools.artifactregistry.v1.RemoteRepositoryConfig",
    fields: &[
        field("dockerRepository", Kind::Message(&DOCKER_REPOSITORY)).oneof("remote_source"),
        field("mavenRepository", Kind::Message(&MAVEN_REPOSITORY)).oneof("remote_source"),
        field("npmRepository", Kind::Message(&NPM_REPOSITORY)).oneof("remote_source"),
        field("pythonRepository", Kind::Message(&PYTHON_REPOSITORY)).oneof("remote_source"),
        field("aptRepository", Kind::Message(&APT_REPOSITORY)).oneof("remote_source"),
        field("yumRepository", Kind::Message(&YUM_REPOSITORY)).oneof("remote_source"),
        field("commonRepository", Kind::Message(&COMMON_REPOSITORY)).oneof("remote_source"),
        field("description", Kind::String),
        field("upstreamCredentials", Kind::Message(&UPSTREAM_CREDENTIALS)),
        // INPUT_ONLY: taken on create and patch, never stored or answered.
        field("disableUpstreamValidation", Kind::Bool),
    ],
};
static MAVEN_CONFIG: Message = Message {
    type_name: "google.devtools.artifactregistry.v1.Repository.MavenRepositoryConfig",
    fields: &[
        field("allowSnapshotOverwrites", Kind::Bool),
        field("versionPolicy", Kind::Enum(&VERSION_POLICY)),
    ],
};
static DOCKER_CONFIG: Message = Message {
    type_name: "google.devtools.artifactregistry.v1.Repository.DockerRepositoryConfig",
    fields: &[field("immutableTags", Kind::Bool)],
};
static VULNERABILITY_CONFIG: Message = Message {
    type_name: "google.devtools.artifactregistry.v1.Repository.VulnerabilityScanningConfig",
    fields: &[
        field("enablementConfig", Kind::Enum(&ENABLEMENT_CONFIG)),
        field("lastEnableTime", Kind::Timestamp).output(),
        field("enablementState", Kind::Enum(&ENABLEMENT_STATE)).output(),
        field("enablementStateReason", Kind::String).output(),
    ],
};

/// `google.devtools.artifactregistry.v1.Repository`.
pub(crate) static REPOSITORY: Message = Message {
    type_name: "google.devtools.artifactregistry.v1.Repository",
    fields: &[
        field("mavenConfig", Kind::Message(&MAVEN_CONFIG)).oneof("format_config"),
        field("dockerConfig", Kind::Message(&DOCKER_CONFIG)).oneof("format_config"),
        field("virtualRepositoryConfig", Kind::Message(&VIRTUAL_CONFIG)).oneof("mode_config"),
        field("remoteRepositoryConfig", Kind::Message(&REMOTE_CONFIG)).oneof("mode_config"),
        field("name", Kind::String),
        field("format", Kind::Enum(&FORMAT)),
        field("description", Kind::String),
        field("labels", Kind::Map(&Kind::String)),
        field("createTime", Kind::Timestamp).output(),
        field("updateTime", Kind::Timestamp).output(),
        field("kmsKeyName", Kind::String),
        field("mode", Kind::Enum(&MODE)),
        field("cleanupPolicies", Kind::Map(&CLEANUP_POLICY_KIND)),
        field("sizeBytes", Kind::Int64).output(),
        field("satisfiesPzs", Kind::Bool).output(),
        field("cleanupPolicyDryRun", Kind::Bool),
        field(
            "vulnerabilityScanningConfig",
            Kind::Message(&VULNERABILITY_CONFIG),
        ),
        field("disallowUnspecifiedMode", Kind::Bool),
        field("satisfiesPzi", Kind::Bool).output(),
        field("registryUri", Kind::String).output(),
    ],
};

/// The `@type` of an Artifact Registry message in an `Any`.
pub(crate) fn ar_type(message: &str) -> String {
    format!("type.googleapis.com/{AR}.{message}")
}

// Secret Manager.

pub(crate) static VERSION_STATE: Enum = Enum {
    type_name: "google.cloud.secretmanager.v1.SecretVersion.State",
    values: &[
        ("STATE_UNSPECIFIED", 0),
        ("ENABLED", 1),
        ("DISABLED", 2),
        ("DESTROYED", 3),
    ],
};
static SECRET_TYPE: Enum = Enum {
    type_name: "google.cloud.secretmanager.v1.Secret.SecretType",
    values: &[
        ("SECRET_TYPE_UNSPECIFIED", 0),
        ("CLOUD_SQL_DB_CREDENTIALS", 1),
        ("ACCESS_KEY", 2),
        ("CERTIFICATE", 3),
        ("OTHER_DB_CREDENTIALS", 4),
        ("OTHER", 50),
    ],
};
static CMEK: Message = Message {
    type_name: "google.cloud.secretmanager.v1.CustomerManagedEncryption",
    fields: &[field("kmsKeyName", Kind::String)],
};
static REPLICA: Message = Message {
    type_name: "google.cloud.secretmanager.v1.Replication.UserManaged.Replica",
    fields: &[
        field("location", Kind::String),
        field("customerManagedEncryption", Kind::Message(&CMEK)),
    ],
};
static USER_MANAGED: Message = Message {
    type_name: "google.cloud.secretmanager.v1.Replication.UserManaged",
    fields: &[field("replicas", Kind::Message(&REPLICA)).repeated()],
};
static AUTOMATIC: Message = Message {
    type_name: "google.cloud.secretmanager.v1.Replication.Automatic",
    fields: &[field("customerManagedEncryption", Kind::Message(&CMEK))],
};
static REPLICATION: Message = Message {
    type_name: "google.cloud.secretmanager.v1.Replication",
    fields: &[
        field("automatic", Kind::Message(&AUTOMATIC)).oneof("replication"),
        field("userManaged", Kind::Message(&USER_MANAGED)).oneof("replication"),
    ],
};
static TOPIC: Message = Message {
    type_name: "google.cloud.secretmanager.v1.Topic",
    fields: &[field("name", Kind::String)],
};
static ROTATION: Message = Message {
    type_name: "google.cloud.secretmanager.v1.Rotation",
    fields: &[
        field("nextRotationTime", Kind::Timestamp),
        field("rotationPeriod", Kind::Duration),
    ],
};
static POLICY_MEMBER: Message = Message {
    type_name: "google.iam.v1.ResourcePolicyMember",
    fields: &[
        field("iamPolicyNamePrincipal", Kind::String).output(),
        field("iamPolicyUidPrincipal", Kind::String).output(),
    ],
};

/// `google.cloud.secretmanager.v1.Secret`.
pub(crate) static SECRET: Message = Message {
    type_name: "google.cloud.secretmanager.v1.Secret",
    fields: &[
        field("name", Kind::String),
        field("replication", Kind::Message(&REPLICATION)),
        field("createTime", Kind::Timestamp).output(),
        field("labels", Kind::Map(&Kind::String)),
        field("topics", Kind::Message(&TOPIC)).repeated(),
        field("expireTime", Kind::Timestamp).oneof("expiration"),
        field("ttl", Kind::Duration).oneof("expiration"),
        field("etag", Kind::String),
        field("rotation", Kind::Message(&ROTATION)),
        field("versionAliases", Kind::Map(&Kind::Int64)),
        field("annotations", Kind::Map(&Kind::String)),
        field("versionDestroyTtl", Kind::Duration),
        field("customerManagedEncryption", Kind::Message(&CMEK)),
        field("tags", Kind::Map(&Kind::String)),
        field("secretType", Kind::Enum(&SECRET_TYPE)),
        field("policyMember", Kind::Message(&POLICY_MEMBER)).output(),
    ],
};
static PAYLOAD: Message = Message {
    type_name: "google.cloud.secretmanager.v1.SecretPayload",
    fields: &[field("data", Kind::Bytes), field("dataCrc32c", Kind::Int64)],
};

/// `AddSecretVersionRequest`, whose body is the whole request but the path's `parent`.
pub(crate) static ADD_VERSION: Message = Message {
    type_name: "google.cloud.secretmanager.v1.AddSecretVersionRequest",
    fields: &[field("payload", Kind::Message(&PAYLOAD))],
};

/// The body of `:disable`, `:enable` and `:destroy`.
pub(crate) static VERSION_ACTION: Message = Message {
    type_name: "google.cloud.secretmanager.v1.DisableSecretVersionRequest",
    fields: &[field("etag", Kind::String)],
};

// IAM.

static EXPR: Message = Message {
    type_name: "google.type.Expr",
    fields: &[
        field("expression", Kind::String),
        field("title", Kind::String),
        field("description", Kind::String),
        field("location", Kind::String),
    ],
};
static BINDING: Message = Message {
    type_name: "google.iam.v1.Binding",
    fields: &[
        field("role", Kind::String),
        field("members", Kind::String).repeated(),
        field("condition", Kind::Message(&EXPR)),
    ],
};
static LOG_TYPE: Enum = Enum {
    type_name: "google.iam.v1.AuditLogConfig.LogType",
    values: &[
        ("LOG_TYPE_UNSPECIFIED", 0),
        ("ADMIN_READ", 1),
        ("DATA_WRITE", 2),
        ("DATA_READ", 3),
    ],
};
static AUDIT_LOG_CONFIG: Message = Message {
    type_name: "google.iam.v1.AuditLogConfig",
    fields: &[
        field("logType", Kind::Enum(&LOG_TYPE)),
        field("exemptedMembers", Kind::String).repeated(),
    ],
};
static AUDIT_CONFIG: Message = Message {
    type_name: "google.iam.v1.AuditConfig",
    fields: &[
        field("service", Kind::String),
        field("auditLogConfigs", Kind::Message(&AUDIT_LOG_CONFIG)).repeated(),
    ],
};
static POLICY: Message = Message {
    type_name: "google.iam.v1.Policy",
    fields: &[
        field("version", Kind::Int32),
        field("bindings", Kind::Message(&BINDING)).repeated(),
        field("auditConfigs", Kind::Message(&AUDIT_CONFIG)).repeated(),
        field("etag", Kind::Bytes),
    ],
};

/// `google.iam.v1.SetIamPolicyRequest` without the path's `resource`.
pub(crate) static SET_IAM_POLICY: Message = Message {
    type_name: "google.iam.v1.SetIamPolicyRequest",
    fields: &[
        field("policy", Kind::Message(&POLICY)),
        field("updateMask", Kind::FieldMask),
    ],
};
