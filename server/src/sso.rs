//! What single sign-on shares between its two ways in ([`crate::oidc`], [`crate::proxy_auth`]): the team-mode
//! [`Role`]s and the [`RoleMap`] that turns the groups an identity provider names into one of them
//! (`--oidc-role-map "netops=admin,planners=planner,*=viewer"` or `--oidc-role-map @FILE`).

use std::{fmt, path::Path, str::FromStr};

/// The team-mode roles (viewer < planner < applier < admin), as the users table stores them.
pub use controlplane::store::users::Role;

/// A role name that is not one of viewer, planner, applier, admin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a role: use viewer, planner, applier or admin")]
pub struct UnknownRole(pub String);

/// Parses a role name (`viewer`, `planner`, `applier`, `admin`; any case, surrounding spaces ignored).
///
/// ```
/// use server::sso::{parse_role, Role};
/// assert_eq!(parse_role("Planner"), Ok(Role::Planner));
/// assert!(parse_role("root").is_err());
/// ```
pub fn parse_role(s: &str) -> Result<Role, UnknownRole> {
    Role::ALL
        .into_iter()
        .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
        .ok_or_else(|| UnknownRole(s.to_string()))
}

/// A name from an identity provider or proxy as a Peerplan user name: trimmed and lower-cased, then it must pass
/// the users table's rule ([`controlplane::store::users::check_user_name`]: 1 to 64 of `a-z 0-9 . _ @ -`, starting
/// with a letter or digit; an e-mail address fits). `None` when it does not.
///
/// ```
/// use server::sso::user_name;
/// assert_eq!(user_name(" Alice@Example.COM "), Some("alice@example.com".to_string()));
/// assert_eq!(user_name("Alice Smith"), None);
/// ```
pub fn user_name(raw: &str) -> Option<String> {
    let raw = raw.trim();
    // ASCII only before lower-casing: Unicode case folding maps other letters onto ASCII ones (the Kelvin sign
    // K onto `k`), which would let one name pass for another.
    if !raw.is_ascii() {
        return None;
    }
    let name = raw.to_ascii_lowercase();
    controlplane::store::users::check_user_name(&name)
        .is_ok()
        .then_some(name)
}

/// A bad group → role map; names the entry (and the file and line when it came from a file).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RoleMapError {
    #[error("role map entry {entry:?}{at}: expected GROUP=ROLE (for example netops=admin, or *=viewer for everyone)")]
    NotAPair { entry: String, at: Where },
    #[error("role map entry {entry:?}{at}: the group name is empty")]
    EmptyGroup { entry: String, at: Where },
    #[error("role map entry {entry:?}{at}: {source}")]
    BadRole {
        entry: String,
        at: Where,
        source: UnknownRole,
    },
    #[error("role map entry {entry:?}{at}: group {group:?} is already mapped to {earlier}")]
    Duplicate {
        entry: String,
        at: Where,
        group: String,
        earlier: Role,
    },
    #[error("role map entry {entry:?}{at}: a group name may not contain control characters")]
    ControlCharacter { entry: String, at: Where },
    #[error("the role map is empty: give at least one GROUP=ROLE entry")]
    Empty,
    #[error("cannot read the role map file {path}: {reason}")]
    File { path: String, reason: String },
}

/// Where a role map entry came from, for error messages: nothing for a flag value, ` (FILE line N)` for a file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Where(Option<(String, usize)>);

impl fmt::Display for Where {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            None => Ok(()),
            Some((file, line)) => write!(f, " ({file} line {line})"),
        }
    }
}

/// Groups → role. An identity gets the highest role any of its groups maps to; the group `*` matches everyone
/// who signs in (also with no groups at all). Group names are compared exactly (case and all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleMap {
    entries: Vec<(String, Role)>,
}

impl RoleMap {
    /// Parses a flag value: comma-separated `GROUP=ROLE` entries (`netops=admin,planners=planner,*=viewer`), or
    /// `@FILE`: a file with one `GROUP=ROLE` per line (blank lines and `#` comments skipped), for group names that
    /// contain commas (LDAP DNs such as `cn=netops,ou=groups,dc=example,dc=com`). An entry splits at its last `=`,
    /// so group names may contain `=`.
    ///
    /// ```
    /// use server::sso::{Role, RoleMap};
    /// let map: RoleMap = "netops=admin, planners=planner, *=viewer".parse().unwrap();
    /// assert_eq!(map.role_for(["planners"]), Some(Role::Planner));
    /// assert_eq!(map.role_for(["planners", "netops"]), Some(Role::Admin));
    /// assert_eq!(map.role_for(Vec::<String>::new()), Some(Role::Viewer));
    /// ```
    pub fn parse_flag(value: &str) -> Result<Self, RoleMapError> {
        match value.strip_prefix('@') {
            Some(path) => Self::from_file(Path::new(path)),
            None => Self::from_entries(value.split(',').map(|e| (e, Where::default()))),
        }
    }

    /// Reads a role map file: one `GROUP=ROLE` per line, blank lines and lines starting with `#` skipped.
    pub fn from_file(path: &Path) -> Result<Self, RoleMapError> {
        let text = std::fs::read_to_string(path).map_err(|e| RoleMapError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let file = path.display().to_string();
        Self::from_entries(
            text.lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                .map(|(n, l)| (l, Where(Some((file.clone(), n + 1))))),
        )
    }

    fn from_entries<'a>(entries: impl Iterator<Item = (&'a str, Where)>) -> Result<Self, RoleMapError> {
        let mut out: Vec<(String, Role)> = Vec::new();
        for (raw, at) in entries {
            let entry = raw.trim().to_string();
            let Some((group, role)) = entry.rsplit_once('=') else {
                return Err(RoleMapError::NotAPair { entry, at });
            };
            let group = group.trim();
            if group.is_empty() {
                return Err(RoleMapError::EmptyGroup { entry, at });
            }
            if group.chars().any(char::is_control) {
                return Err(RoleMapError::ControlCharacter { entry, at });
            }
            let role = match parse_role(role) {
                Ok(role) => role,
                Err(source) => return Err(RoleMapError::BadRole { entry, at, source }),
            };
            if let Some((_, earlier)) = out.iter().find(|(g, _)| g == group) {
                return Err(RoleMapError::Duplicate {
                    group: group.to_string(),
                    earlier: *earlier,
                    entry,
                    at,
                });
            }
            out.push((group.to_string(), role));
        }
        if out.is_empty() {
            return Err(RoleMapError::Empty);
        }
        Ok(RoleMap { entries: out })
    }

    /// The highest role any of `groups` maps to (the `*` entry counts for everyone); `None`: no entry matches,
    /// and the sign-in must be refused.
    pub fn role_for<I, S>(&self, groups: I) -> Option<Role>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let groups: Vec<S> = groups.into_iter().collect();
        self.entries
            .iter()
            .filter(|(g, _)| g == "*" || groups.iter().any(|have| have.as_ref() == g))
            .map(|(_, role)| *role)
            .max()
    }

    /// The entries as given, for logs and `--help`-style summaries.
    pub fn entries(&self) -> &[(String, Role)] {
        &self.entries
    }
}

impl FromStr for RoleMap {
    type Err = RoleMapError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RoleMap::parse_flag(s)
    }
}

/// Text from a request or an identity provider made safe for one log line: control characters and non-ASCII
/// escaped (`\u{…}`), cut to `max` characters with `…` after the cut.
///
/// ```
/// assert_eq!(server::sso::loggable("bob\r\nadmin", 40), "bob\\r\\nadmin");
/// ```
pub fn loggable(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        if c.is_ascii_graphic() || c == ' ' {
            out.push(c);
        } else {
            out.extend(c.escape_default());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_parse_case_insensitively() {
        assert!(Role::Viewer < Role::Planner && Role::Planner < Role::Applier && Role::Applier < Role::Admin);
        assert_eq!(parse_role(" ADMIN "), Ok(Role::Admin));
        assert_eq!(
            parse_role("superuser").unwrap_err().to_string(),
            "\"superuser\" is not a role: use viewer, planner, applier or admin"
        );
    }

    #[test]
    fn the_highest_mapped_role_wins_and_star_matches_everyone() {
        let map = RoleMap::parse_flag("netops=admin,planners=planner,*=viewer").unwrap();
        assert_eq!(map.role_for(["netops", "planners"]), Some(Role::Admin));
        assert_eq!(map.role_for(["other"]), Some(Role::Viewer));
        let strict = RoleMap::parse_flag("netops=admin,planners=planner").unwrap();
        assert_eq!(strict.role_for(["other"]), None);
        assert_eq!(strict.role_for(Vec::<&str>::new()), None);
        assert_eq!(strict.role_for(["Netops"]), None, "group names compare exactly");
    }

    #[test]
    fn groups_may_contain_equals_signs() {
        let map = RoleMap::parse_flag("cn=netops=applier").unwrap();
        assert_eq!(map.role_for(["cn=netops"]), Some(Role::Applier));
    }

    #[test]
    fn bad_entries_are_named() {
        let err = |v: &str| RoleMap::parse_flag(v).unwrap_err().to_string();
        assert_eq!(
            err("netops=admin,planners"),
            "role map entry \"planners\": expected GROUP=ROLE (for example netops=admin, or *=viewer for everyone)"
        );
        assert_eq!(
            err("netops=root"),
            "role map entry \"netops=root\": \"root\" is not a role: use viewer, planner, applier or admin"
        );
        assert_eq!(
            err("=admin"),
            "role map entry \"=admin\": the group name is empty"
        );
        assert_eq!(
            err("a=admin,b=viewer,a=viewer"),
            "role map entry \"a=viewer\": group \"a\" is already mapped to admin"
        );
        assert_eq!(
            err("netops=admin,,b=viewer"),
            "role map entry \"\": expected GROUP=ROLE (for example netops=admin, or *=viewer for everyone)"
        );
        assert!(err("a\u{7}b=admin").contains("control characters"));
    }

    #[test]
    fn a_map_file_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roles.txt");
        std::fs::write(
            &path,
            "# who may do what\ncn=netops,ou=groups,dc=example=admin\n\nplanners = planner\nauditors viewer\n",
        )
        .unwrap();
        let err = RoleMap::parse_flag(&format!("@{}", path.display())).unwrap_err();
        assert_eq!(
            err,
            RoleMapError::NotAPair {
                entry: "auditors viewer".into(),
                at: Where(Some((path.display().to_string(), 5)))
            }
        );
        assert!(err.to_string().contains(&format!("({} line 5)", path.display())));
        std::fs::write(
            &path,
            "cn=netops,ou=groups,dc=example=admin\nplanners = planner\n",
        )
        .unwrap();
        let map = RoleMap::parse_flag(&format!("@{}", path.display())).unwrap();
        assert_eq!(
            map.role_for(["cn=netops,ou=groups,dc=example"]),
            Some(Role::Admin)
        );
        assert_eq!(map.role_for(["planners"]), Some(Role::Planner));
        let missing = RoleMap::parse_flag("@/nonexistent/roles.txt")
            .unwrap_err()
            .to_string();
        assert!(
            missing.starts_with("cannot read the role map file /nonexistent/roles.txt: "),
            "{missing}"
        );
        std::fs::write(&path, "# nothing\n").unwrap();
        assert_eq!(
            RoleMap::parse_flag(&format!("@{}", path.display())),
            Err(RoleMapError::Empty)
        );
    }

    #[test]
    fn user_names_follow_the_users_table_rule() {
        assert_eq!(user_name("bob"), Some("bob".into()));
        assert_eq!(
            user_name("Bob.Smith_2-x@corp.example"),
            Some("bob.smith_2-x@corp.example".into())
        );
        for bad in [
            "",
            " ",
            "-bob",
            ".bob",
            "bob smith",
            "bob+tag@x",
            "b\u{e9}b",
            "bob<x>",
            "a\nb",
        ] {
            assert_eq!(user_name(bad), None, "{bad:?}");
        }
        assert!(user_name(&"a".repeat(64)).is_some());
        assert!(user_name(&"a".repeat(65)).is_none());
    }

    #[test]
    fn loggable_escapes_and_cuts() {
        assert_eq!(loggable("alice", 10), "alice");
        assert_eq!(loggable("a\u{1b}[31mb", 10), "a\\u{1b}[31mb");
        assert_eq!(loggable("abcdef", 3), "abc…");
        assert_eq!(loggable("é", 3), "\\u{e9}");
    }
}
