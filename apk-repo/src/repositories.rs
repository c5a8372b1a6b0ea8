//! `/etc/apk/repositories`: parse, edit, render and write it back without losing comments,
//! order or anything apk would read differently.
//!
//! Both apk 2.14 and apk 3 syntax are read: blank lines, `#` comments (only at the start
//! of a line), `@tag` lines (apk 2.14 also accepts `:` between tag and URL), local paths,
//! apk 3's `v2|v3|ndx` type words and trailing components, and `set key=value` lines.
//! Lines are kept byte for byte unless an edit touches them.
//!
//! Lines may carry credentials, so rendering returns a [`SecretString`];
//! [`RepositoriesFile::render_masked`] gives the form to print.
//!
//! ```
//! use apk_repo::repositories::RepositoriesFile;
//!
//! let mut file = RepositoriesFile::parse(
//!     "# Alpine defaults\nhttps://dl-cdn.alpinelinux.org/alpine/v3.20/main\n@testing https://dl-cdn.alpinelinux.org/alpine/edge/testing\n",
//! );
//! file.disable_defaults();
//! file.add("https://example.jfrog.io/artifactory/cg-private/".parse()?);
//! let expected = [
//!     "# Alpine defaults",
//!     "# https://dl-cdn.alpinelinux.org/alpine/v3.20/main",
//!     "# @testing https://dl-cdn.alpinelinux.org/alpine/edge/testing",
//!     "https://example.jfrog.io/artifactory/cg-private/",
//! ];
//! assert_eq!(file.render_masked(), expected.join("\n") + "\n");
//! # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
//! ```

use std::fmt;
use std::io::Write;
use std::path::Path;

use pull_through_core::{ExposeSecret, SecretString};

use crate::repo_url::RepoUrl;

/// One line of a repositories file.
///
/// ```
/// use apk_repo::repositories::{Line, RepositoriesFile};
/// let file = RepositoriesFile::parse("# comment\nhttps://packages.wolfi.dev/os\n");
/// assert!(matches!(file.lines()[0], Line::Comment(_)));
/// assert!(matches!(file.lines()[1], Line::Repository(_)));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Line {
    /// An empty or all-whitespace line.
    Blank(String),
    /// A line starting with `#`.
    Comment(String),
    /// An apk 3 `set key=value` line, kept as written.
    Set(String),
    /// A repository.
    Repository(Box<Repository>),
}

/// Where a repository line points.
///
/// ```
/// use apk_repo::repositories::{Location, RepositoriesFile};
/// let file = RepositoriesFile::parse("/srv/local\n");
/// assert_eq!(file.repositories().next().unwrap().location, Location::Local("/srv/local".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// An http(s) or ftp URL, with any credentials it carries.
    Remote(RepoUrl),
    /// Anything else apk treats as a local path (`/srv/repo`, `file:///srv/repo`).
    Local(String),
}

/// A repository line.
///
/// ```
/// use apk_repo::repositories::RepositoriesFile;
/// let file = RepositoriesFile::parse("v3 @x https://example.com/alpine main community\n");
/// let repo = file.repositories().next().unwrap();
/// assert_eq!((repo.kind.as_deref(), repo.tag.as_deref()), (Some("v3"), Some("x")));
/// assert_eq!(repo.components, ["main", "community"]);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct Repository {
    /// The `@tag`, without the `@`.
    pub tag: Option<String>,
    /// apk 3's type word (`v2`, `v3`, `ndx`), when the line has one.
    pub kind: Option<String>,
    /// Where it points.
    pub location: Location,
    /// apk 3's components after the URL (`main community`).
    pub components: Vec<String>,
    raw: SecretString,
    /// Where the URL or path sits in `raw`.
    target: std::ops::Range<usize>,
}

impl PartialEq for Repository {
    fn eq(&self, other: &Self) -> bool {
        self.raw() == other.raw()
    }
}

impl Eq for Repository {}

impl Repository {
    /// A repository line for `url`, untagged.
    ///
    /// ```
    /// use apk_repo::repositories::Repository;
    /// let line = Repository::new("https://packages.wolfi.dev/os".parse()?);
    /// assert_eq!(line.to_string(), "https://packages.wolfi.dev/os");
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn new(url: RepoUrl) -> Repository {
        let raw = url.expose();
        Repository {
            tag: None,
            kind: None,
            location: Location::Remote(url),
            components: Vec::new(),
            target: 0..raw.len(),
            raw: SecretString::from(raw),
        }
    }

    /// Reads one line; `None` for a line that is not a repository.
    fn parse(text: &str) -> Option<Repository> {
        let mut rest = text.trim();
        let mut kind = None;
        if let Some((word, after)) = rest.split_once([' ', '\t']) {
            if matches!(word, "v2" | "v3" | "ndx") {
                kind = Some(word.to_owned());
                rest = after.trim_start();
            }
        }
        let mut tag = None;
        if let Some(tagged) = rest.strip_prefix('@') {
            let end = tagged.find([' ', '\t', ':']).unwrap_or(tagged.len());
            tag = Some(tagged[..end].to_owned());
            rest = tagged[end..].trim_start_matches([' ', '\t', ':']);
        }
        let mut words = rest.split([' ', '\t']).filter(|word| !word.is_empty());
        let target = words.next()?;
        // `target` is a slice of `text`, so its offset locates it in the line.
        let start = target.as_ptr() as usize - text.as_ptr() as usize;
        let components = words.map(str::to_owned).collect();
        // `get`, not indexing: the scheme's length may fall inside a multi-byte character.
        let remote = ["http://", "https://", "ftp://"].iter().any(|scheme| {
            target.len() > scheme.len()
                && target
                    .get(..scheme.len())
                    .is_some_and(|start| start.eq_ignore_ascii_case(scheme))
        });
        let location = match remote.then(|| RepoUrl::parse_line(target)) {
            Some(Ok(url)) => Location::Remote(url),
            _ => Location::Local(target.to_owned()),
        };
        Some(Repository {
            tag,
            kind,
            location,
            components,
            raw: SecretString::from(text),
            target: start..start + target.len(),
        })
    }

    /// The URL, for a remote repository.
    ///
    /// ```
    /// use apk_repo::repositories::RepositoriesFile;
    /// let file = RepositoriesFile::parse("@extras https://apk.cgr.dev/extra-packages\n");
    /// let repo = file.repositories().next().unwrap();
    /// assert_eq!(repo.url().unwrap().base().host_str(), Some("apk.cgr.dev"));
    /// assert_eq!(repo.tag.as_deref(), Some("extras"));
    /// ```
    pub fn url(&self) -> Option<&RepoUrl> {
        match &self.location {
            Location::Remote(url) => Some(url),
            Location::Local(_) => None,
        }
    }

    /// Whether this line points at the same repository as `url`: same scheme, host, port
    /// and path (trailing `/` ignored), whatever the credentials.
    ///
    /// ```
    /// use apk_repo::repositories::RepositoriesFile;
    /// let file = RepositoriesFile::parse("https://u:secret@h/artifactory/k/\n");
    /// let repo = file.repositories().next().unwrap();
    /// assert!(repo.points_at(&"https://h/artifactory/k".parse()?));
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn points_at(&self, url: &RepoUrl) -> bool {
        let key = |u: &RepoUrl| u.base().as_str().trim_end_matches('/').to_owned();
        self.url().is_some_and(|mine| key(mine) == key(url))
    }

    fn raw(&self) -> &str {
        self.raw.expose_secret()
    }

    fn masked(&self) -> String {
        let raw = self.raw();
        match self.url() {
            Some(url) if url.user().is_some() => format!(
                "{}{url}{}",
                &raw[..self.target.start],
                &raw[self.target.end..]
            ),
            // A line that did not parse as a URL may still hold credentials.
            _ => crate::repo_url::mask_credentials(raw),
        }
    }
}

impl fmt::Display for Repository {
    /// The line with credentials masked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Repository({:?})", self.masked())
    }
}

impl fmt::Debug for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Line::Blank(text) => write!(f, "Blank({text:?})"),
            Line::Comment(text) => {
                write!(f, "Comment({:?})", crate::repo_url::mask_credentials(text))
            }
            Line::Set(text) => write!(f, "Set({text:?})"),
            Line::Repository(repo) => write!(f, "{repo:?}"),
        }
    }
}

/// A repositories file, line by line. `Debug` masks credentials.
///
/// ```
/// use apk_repo::repositories::RepositoriesFile;
/// let mut file = RepositoriesFile::default();
/// file.add("https://packages.wolfi.dev/os".parse()?);
/// assert_eq!(file.render_masked(), "https://packages.wolfi.dev/os\n");
/// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoriesFile {
    lines: Vec<Line>,
    trailing_newline: bool,
}

impl Default for RepositoriesFile {
    /// An empty file; lines added to it end with a newline, as apk writes them.
    fn default() -> Self {
        RepositoriesFile {
            lines: Vec::new(),
            trailing_newline: true,
        }
    }
}

impl RepositoriesFile {
    /// Reads a file's text. Never fails: what apk would not understand is kept as a
    /// repository line with a local path, as apk itself would treat it.
    ///
    /// ```
    /// use apk_repo::repositories::{Line, RepositoriesFile};
    /// let file = RepositoriesFile::parse("\n# c\n/srv/local-repo\nset -default arch=x86_64\n");
    /// assert!(matches!(file.lines()[0], Line::Blank(_)));
    /// assert!(matches!(file.lines()[3], Line::Set(_)));
    /// ```
    pub fn parse(text: &str) -> RepositoriesFile {
        let trailing_newline = text.is_empty() || text.ends_with('\n');
        let body = text.strip_suffix('\n').unwrap_or(text);
        let lines = if body.is_empty() && text.is_empty() {
            Vec::new()
        } else {
            body.split('\n').map(parse_line).collect()
        };
        RepositoriesFile {
            lines,
            trailing_newline,
        }
    }

    /// Reads a file.
    ///
    /// # Errors
    ///
    /// The I/O error.
    ///
    /// ```no_run
    /// let file = apk_repo::repositories::RepositoriesFile::read("/etc/apk/repositories".as_ref())?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read(path: &Path) -> std::io::Result<RepositoriesFile> {
        Ok(RepositoriesFile::parse(&std::fs::read_to_string(path)?))
    }

    /// Every line.
    ///
    /// ```
    /// # use apk_repo::repositories::RepositoriesFile;
    /// assert_eq!(RepositoriesFile::parse("a\nb\n").lines().len(), 2);
    /// ```
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// The repository lines, in order.
    ///
    /// ```
    /// # use apk_repo::repositories::RepositoriesFile;
    /// let file = RepositoriesFile::parse("# x\nhttps://packages.wolfi.dev/os\n");
    /// assert_eq!(file.repositories().count(), 1);
    /// ```
    pub fn repositories(&self) -> impl Iterator<Item = &Repository> {
        self.lines.iter().filter_map(|line| match line {
            Line::Repository(repo) => Some(repo.as_ref()),
            _ => None,
        })
    }

    /// Replaces the whole file with one repository, as the tutorials' `echo URL >
    /// /etc/apk/repositories` does.
    ///
    /// ```
    /// # use apk_repo::repositories::RepositoriesFile;
    /// let mut file = RepositoriesFile::parse("# old\nhttps://a/os\n");
    /// file.set_only("https://apk.cgr.dev/example.com".parse()?);
    /// assert_eq!(file.render_masked(), "https://apk.cgr.dev/example.com\n");
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn set_only(&mut self, url: RepoUrl) {
        self.lines = vec![Line::Repository(Box::new(Repository::new(url)))];
        self.trailing_newline = true;
    }

    /// Appends a repository unless one already points at it; returns whether it added.
    /// An existing line for the same repository with other credentials is replaced in
    /// place, so a token rotation is one call.
    ///
    /// ```
    /// # use apk_repo::repositories::RepositoriesFile;
    /// let mut file = RepositoriesFile::parse("https://packages.wolfi.dev/os\n");
    /// assert!(!file.add("https://packages.wolfi.dev/os/".parse()?));
    /// assert!(file.add("https://apk.cgr.dev/extra-packages".parse()?));
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn add(&mut self, url: RepoUrl) -> bool {
        for line in &mut self.lines {
            if let Line::Repository(repo) = line {
                if repo.points_at(&url) {
                    if repo.url() != Some(&url) && repo.tag.is_none() && repo.kind.is_none() {
                        **repo = Repository::new(url);
                    }
                    return false;
                }
            }
        }
        self.lines
            .push(Line::Repository(Box::new(Repository::new(url))));
        true
    }

    /// Removes every line pointing at `url` (credentials ignored); returns how many.
    ///
    /// ```
    /// # use apk_repo::repositories::RepositoriesFile;
    /// let mut file = RepositoriesFile::parse("https://u:p@h/k/\n# keep\n");
    /// assert_eq!(file.remove(&"https://h/k/".parse()?), 1);
    /// assert_eq!(file.render_masked(), "# keep\n");
    /// # Ok::<(), apk_repo::repo_url::RepoUrlError>(())
    /// ```
    pub fn remove(&mut self, url: &RepoUrl) -> usize {
        let before = self.lines.len();
        self.lines
            .retain(|line| !matches!(line, Line::Repository(repo) if repo.points_at(url)));
        before - self.lines.len()
    }

    /// Comments out every repository line, keeping it for reference, as the tutorials do
    /// before adding a cache.
    ///
    /// ```
    /// # use apk_repo::repositories::RepositoriesFile;
    /// let mut file = RepositoriesFile::parse("https://dl-cdn.alpinelinux.org/alpine/v3.20/main\n");
    /// file.disable_defaults();
    /// assert_eq!(file.repositories().count(), 0);
    /// ```
    pub fn disable_defaults(&mut self) {
        for line in &mut self.lines {
            if let Line::Repository(repo) = line {
                *line = Line::Comment(format!("# {}", repo.raw()));
            }
        }
    }

    /// Removes later lines that point at a repository an earlier line already does (as
    /// apk merges them); returns how many went.
    ///
    /// ```
    /// # use apk_repo::repositories::RepositoriesFile;
    /// let mut file = RepositoriesFile::parse("https://h/os\nhttps://h/os/\n");
    /// assert_eq!(file.dedup(), 1);
    /// ```
    pub fn dedup(&mut self) -> usize {
        let mut seen: Vec<(Option<String>, RepoUrl)> = Vec::new();
        let before = self.lines.len();
        self.lines.retain(|line| {
            let Line::Repository(repo) = line else {
                return true;
            };
            let Some(url) = repo.url() else {
                return true;
            };
            let duplicate = seen
                .iter()
                .any(|(tag, earlier)| *tag == repo.tag && repo.points_at(earlier));
            if !duplicate {
                seen.push((repo.tag.clone(), url.clone()));
            }
            !duplicate
        });
        before - self.lines.len()
    }

    /// The file's text, credentials included.
    ///
    /// ```
    /// # use apk_repo::repositories::RepositoriesFile;
    /// use pull_through_core::ExposeSecret;
    /// let text = "# c\n\n@t https://u:p@h/os main\n";
    /// assert_eq!(RepositoriesFile::parse(text).render().expose_secret(), text);
    /// ```
    pub fn render(&self) -> SecretString {
        SecretString::from(self.render_with(|repo| repo.raw().to_owned()))
    }

    /// The file's text with passwords masked as `*`, for printing.
    ///
    /// ```
    /// # use apk_repo::repositories::RepositoriesFile;
    /// let file = RepositoriesFile::parse("https://linky%40example.com:tok@h/artifactory/k/\n");
    /// assert_eq!(file.render_masked(), "https://linky%40example.com:*@h/artifactory/k/\n");
    /// ```
    pub fn render_masked(&self) -> String {
        self.render_lines(crate::repo_url::mask_credentials, Repository::masked)
    }

    fn render_with(&self, repository: impl Fn(&Repository) -> String) -> String {
        self.render_lines(str::to_owned, repository)
    }

    /// Renders with `other` applied to comments and `set` lines (which may hold a
    /// commented-out credential line) and `repository` to repository lines.
    fn render_lines(
        &self,
        other: impl Fn(&str) -> String,
        repository: impl Fn(&Repository) -> String,
    ) -> String {
        let mut text = self
            .lines
            .iter()
            .map(|line| match line {
                Line::Blank(raw) => raw.clone(),
                Line::Comment(raw) | Line::Set(raw) => other(raw),
                Line::Repository(repo) => repository(repo.as_ref()),
            })
            .collect::<Vec<_>>()
            .join("\n");
        if self.trailing_newline && !self.lines.is_empty() {
            text.push('\n');
        }
        text
    }

    /// Whether the file holds anything that may be credentials: a repository line with a
    /// user or password, or a comment, `set` or unreadable line that masking would change
    /// (a commented-out line keeps its token).
    ///
    /// ```
    /// # use apk_repo::repositories::RepositoriesFile;
    /// assert!(RepositoriesFile::parse("https://u:p@h/os\n").holds_credentials());
    /// assert!(RepositoriesFile::parse("# https://u:p@h/os\n").holds_credentials());
    /// assert!(!RepositoriesFile::parse("https://h/os\n").holds_credentials());
    /// ```
    pub fn holds_credentials(&self) -> bool {
        self.lines.iter().any(|line| match line {
            Line::Blank(_) => false,
            Line::Comment(raw) | Line::Set(raw) => crate::repo_url::mask_credentials(raw) != *raw,
            Line::Repository(repo) => {
                repo.url().is_some_and(|url| url.user().is_some()) || repo.masked() != repo.raw()
            }
        })
    }

    /// Writes the file atomically: a temporary file in the same folder, then a rename, so a
    /// reader sees the old or the new file, never half of one.
    ///
    /// A file that [holds credentials](Self::holds_credentials) is written with mode 0600
    /// whatever the old file's mode was (apk's own file is 0644, readable by every user,
    /// and a line with a token must not stay so); [`Written::mode_changed_from`] then
    /// says what it was, so a program can tell its user. Otherwise an existing file's
    /// permissions are kept and a new file gets 0644.
    ///
    /// # Errors
    ///
    /// The I/O error; the original file is untouched then.
    ///
    /// ```
    /// # use apk_repo::repositories::RepositoriesFile;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("repositories");
    /// let written = RepositoriesFile::parse("https://packages.wolfi.dev/os\n").write_atomic(&path)?;
    /// assert_eq!(std::fs::read_to_string(&path)?, "https://packages.wolfi.dev/os\n");
    /// assert!(!written.holds_credentials);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write_atomic(&self, path: &Path) -> std::io::Result<Written> {
        let folder = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let permissions = match std::fs::metadata(path) {
            Ok(metadata) => Some(metadata.permissions()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            Err(err) => return Err(err),
        };
        let holds_credentials = self.holds_credentials();
        let mut temp = tempfile::NamedTempFile::new_in(folder)?;
        temp.write_all(self.render().expose_secret().as_bytes())?;
        temp.as_file().sync_all()?;
        #[cfg(unix)]
        let mode_changed_from = {
            use std::os::unix::fs::PermissionsExt;
            let old = permissions.map(|old| old.mode() & 0o7777);
            // Readable by all, as apk's own file is, unless it holds credentials.
            let mode = match old {
                _ if holds_credentials => PRIVATE_MODE,
                Some(old) => old,
                None => 0o644,
            };
            temp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode))?;
            old.filter(|&old| old != mode)
        };
        #[cfg(not(unix))]
        let mode_changed_from = {
            if let Some(permissions) = permissions {
                temp.as_file().set_permissions(permissions)?;
            }
            None
        };
        temp.persist(path).map_err(|err| err.error)?;
        Ok(Written {
            holds_credentials,
            mode_changed_from,
        })
    }
}

/// The mode a repositories file that holds credentials is written with.
///
/// ```
/// assert_eq!(apk_repo::repositories::PRIVATE_MODE, 0o600);
/// ```
pub const PRIVATE_MODE: u32 = 0o600;

/// What [`RepositoriesFile::write_atomic`] did besides writing the text.
///
/// ```
/// # #[cfg(unix)] {
/// use std::os::unix::fs::PermissionsExt;
/// use apk_repo::repositories::RepositoriesFile;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("repositories");
/// std::fs::write(&path, "https://packages.wolfi.dev/os\n")?;
/// std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
/// let written = RepositoriesFile::parse("https://u:token@h/os\n").write_atomic(&path)?;
/// assert!(written.holds_credentials);
/// assert_eq!(written.mode_changed_from, Some(0o644));
/// assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
/// # }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Written {
    /// Whether the file holds credentials, and so was written with [`PRIVATE_MODE`].
    pub holds_credentials: bool,
    /// The old file's permission bits, when the new file's differ: a file that gained
    /// credentials was made private. `None` for a new file or an unchanged mode (and
    /// always off Unix).
    pub mode_changed_from: Option<u32>,
}

fn parse_line(text: &str) -> Line {
    if text.trim().is_empty() {
        Line::Blank(text.to_owned())
    } else if text.starts_with('#') {
        Line::Comment(text.to_owned())
    } else if text.starts_with("set ") || text.starts_with("set\t") {
        Line::Set(text.to_owned())
    } else {
        Repository::parse(text).map_or_else(
            || Line::Comment(text.to_owned()),
            |repo| Line::Repository(Box::new(repo)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# Default Alpine repositories\n\
        https://dl-cdn.alpinelinux.org/alpine/v3.20/main\n\
        \n\
        @testing https://dl-cdn.alpinelinux.org/alpine/edge/testing\n\
        @edge:https://dl-cdn.alpinelinux.org/alpine/edge/main\n\
        /srv/local-repo\n\
        file:///srv/other\n\
        v3 @x https://example.com/alpine main community\n\
        set -default APK_ARCH=x86_64\n";

    #[test]
    fn a_line_with_a_multibyte_character_where_a_scheme_would_end_is_local() {
        // Found by the property tests: "aA!𝐀" (7 bytes, '𝐀' at bytes 3..7) and "ࡠ㆐ቊ"
        // (9 bytes) were cut inside a character when checked against "http://" and
        // "https://", and the parse panicked.
        for text in ["aA!𝐀", "ࡠ㆐ቊ", "abcdeé", "http:/é"] {
            let file = RepositoriesFile::parse(text);
            assert_eq!(file.render().expose_secret(), text);
            let repo = file.repositories().next().unwrap();
            assert_eq!(repo.location, Location::Local(text.to_owned()));
        }
    }

    #[test]
    fn parse_keeps_every_byte() {
        let file = RepositoriesFile::parse(SAMPLE);
        assert_eq!(file.render().expose_secret(), SAMPLE);
        let repos: Vec<_> = file.repositories().collect();
        assert_eq!(repos.len(), 6);
        assert_eq!(repos[1].tag.as_deref(), Some("testing"));
        assert_eq!(repos[2].tag.as_deref(), Some("edge"));
        assert_eq!(
            repos[2].url().unwrap().base().as_str(),
            "https://dl-cdn.alpinelinux.org/alpine/edge/main"
        );
        assert_eq!(repos[3].location, Location::Local("/srv/local-repo".into()));
        assert_eq!(
            repos[4].location,
            Location::Local("file:///srv/other".into())
        );
        assert_eq!(repos[5].kind.as_deref(), Some("v3"));
        assert_eq!(repos[5].components, ["main", "community"]);
        let no_newline = "https://h/os";
        assert_eq!(
            RepositoriesFile::parse(no_newline).render().expose_secret(),
            no_newline
        );
        assert_eq!(RepositoriesFile::parse("").render().expose_secret(), "");
    }

    #[test]
    fn add_replaces_credentials_in_place() {
        let mut file = RepositoriesFile::parse("# cache\nhttps://u:old@h/artifactory/k/\n");
        let rotated: RepoUrl = "https://u:new@h/artifactory/k/".parse().unwrap();
        assert!(!file.add(rotated));
        assert_eq!(
            file.render().expose_secret(),
            "# cache\nhttps://u:new@h/artifactory/k/\n"
        );
    }

    #[test]
    fn dedup_respects_tags() {
        let mut file = RepositoriesFile::parse("https://h/os\n@t https://h/os\nhttps://h/os/\n");
        assert_eq!(file.dedup(), 1);
        assert_eq!(file.render_masked(), "https://h/os\n@t https://h/os\n");
    }

    #[test]
    fn masking_covers_debug_and_display() {
        let file = RepositoriesFile::parse("@cg https://id:hunter2-token@h/k/ main\n");
        let repo = file.repositories().next().unwrap();
        for text in [
            format!("{file:?}"),
            repo.to_string(),
            format!("{repo:?}"),
            file.render_masked(),
        ] {
            assert!(!text.contains("hunter2-token"), "{text}");
        }
        assert_eq!(file.render_masked(), "@cg https://id:*@h/k/ main\n");
    }

    #[test]
    fn disabled_lines_with_credentials_stay_masked() {
        let mut file = RepositoriesFile::parse("https://u:SECRETX@h/os\nhttps://u:%zz@h/bad\n");
        file.disable_defaults();
        assert_eq!(
            file.render_masked(),
            "# https://*@h/os\n# https://*@h/bad\n"
        );
        assert!(!format!("{file:?}").contains("SECRETX"));
    }

    #[cfg(unix)]
    #[test]
    fn new_files_with_credentials_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("repositories");
        RepositoriesFile::parse("https://u:p@h/os\n")
            .write_atomic(&path)
            .unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn write_keeps_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("repositories");
        std::fs::write(&path, "https://a/os\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut file = RepositoriesFile::read(&path).unwrap();
        file.add("https://b/os".parse().unwrap());
        file.write_atomic(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "https://a/os\nhttps://b/os\n"
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }
}
