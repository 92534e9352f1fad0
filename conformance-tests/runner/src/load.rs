//! Where scripts and their fixture files come from: a directory, one file,
//! or a suite compiled into the binary ([`crate::suites`]). Paths inside a
//! suite are relative to its root and `/`-separated, whatever the source,
//! so a script's fixture references resolve the same way in all three.

use std::path::{Path, PathBuf};

use crate::script::{ScriptError, TestScript};
use crate::suites::EmbeddedSuite;

/// Why a suite could not be read at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The path does not exist or cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file named on its own is not a `TestScript`.
    #[error("{path}: {source}")]
    Script {
        /// The file.
        path: PathBuf,
        /// Why.
        source: ScriptError,
    },
    /// A directory without `TestScripts`.
    #[error("{0}: no TestScript in the directory")]
    Empty(PathBuf),
    /// A suite name that is not compiled in.
    #[error("no suite named {name:?} is built in (known: {known}) and no such file or directory exists")]
    UnknownSuite {
        /// The name asked for.
        name: String,
        /// The names there are.
        known: String,
    },
}

/// A file a suite refers to could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct FileError {
    /// The path, relative to the suite's root.
    pub path: String,
    /// Why.
    pub reason: String,
}

#[derive(Debug)]
enum Source {
    Directory(PathBuf),
    Embedded(&'static EmbeddedSuite),
}

/// One `TestScript` of a suite, or why it could not be read.
#[derive(Debug)]
pub struct LoadedScript {
    /// Its path relative to the suite's root.
    pub path: String,
    /// The script, or why it is not one the runner can execute.
    pub script: Result<TestScript, ScriptError>,
}

/// A set of `TestScripts` with the files they refer to.
#[derive(Debug)]
pub struct Suite {
    /// The suite's name or the path it was read from.
    pub name: String,
    source: Source,
    /// Its scripts, in path order.
    pub scripts: Vec<LoadedScript>,
}

impl Suite {
    /// `name_or_path`: a built-in suite's name, else a `TestScript` file or a
    /// directory of them (searched recursively; `fixtures` directories and
    /// resources other than `TestScripts` are skipped).
    pub fn open(name_or_path: &str) -> Result<Self, LoadError> {
        let path = Path::new(name_or_path);
        if path.exists() {
            return Self::from_path(path);
        }
        match crate::suites::find(name_or_path) {
            Some(embedded) => Ok(Self::embedded(embedded)),
            None => Err(LoadError::UnknownSuite {
                name: name_or_path.to_owned(),
                known: crate::suites::names().join(", "),
            }),
        }
    }

    /// A suite compiled into the binary.
    pub fn embedded(suite: &'static EmbeddedSuite) -> Self {
        let mut scripts: Vec<LoadedScript> = suite
            .files
            .iter()
            .filter(|(path, _)| is_script_candidate(path))
            .filter_map(|(path, bytes)| candidate((*path).to_owned(), bytes))
            .collect();
        scripts.sort_by(|a, b| a.path.cmp(&b.path));
        Self {
            name: suite.name.to_owned(),
            source: Source::Embedded(suite),
            scripts,
        }
    }

    /// A `TestScript` file, or a directory of them.
    pub fn from_path(path: &Path) -> Result<Self, LoadError> {
        let io = |source| LoadError::Io {
            path: path.to_owned(),
            source,
        };
        let metadata = std::fs::metadata(path).map_err(io)?;
        let name = path.display().to_string();
        if metadata.is_file() {
            let bytes = std::fs::read(path).map_err(io)?;
            let script = TestScript::from_bytes(&bytes).map_err(|source| LoadError::Script {
                path: path.to_owned(),
                source,
            })?;
            let root = path.parent().map_or_else(|| PathBuf::from("."), Path::to_owned);
            let file = path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            return Ok(Self {
                name,
                source: Source::Directory(root),
                scripts: vec![LoadedScript {
                    path: file,
                    script: Ok(script),
                }],
            });
        }
        let mut files = Vec::new();
        walk(path, "", &mut files).map_err(io)?;
        files.sort();
        let mut scripts = Vec::new();
        for relative in files {
            let full = path.join(&relative);
            let bytes = std::fs::read(&full).map_err(|source| LoadError::Io { path: full, source })?;
            scripts.extend(candidate(relative, &bytes));
        }
        if scripts.is_empty() {
            return Err(LoadError::Empty(path.to_owned()));
        }
        Ok(Self {
            name,
            source: Source::Directory(path.to_owned()),
            scripts,
        })
    }

    /// Reads a file of the suite; `path` is relative to the suite's root.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, FileError> {
        let normalized = normalize(path).ok_or_else(|| FileError {
            path: path.to_owned(),
            reason: "leaves the suite's directory".to_owned(),
        })?;
        match &self.source {
            Source::Directory(root) => std::fs::read(root.join(&normalized)).map_err(|e| FileError {
                path: normalized,
                reason: e.to_string(),
            }),
            Source::Embedded(suite) => suite
                .files
                .iter()
                .find(|(name, _)| *name == normalized)
                .map(|(_, bytes)| bytes.to_vec())
                .ok_or(FileError {
                    path: normalized,
                    reason: "not in the built-in suite".to_owned(),
                }),
        }
    }

    /// Whether the suite has this file.
    pub fn has(&self, path: &str) -> bool {
        let Some(normalized) = normalize(path) else {
            return false;
        };
        match &self.source {
            Source::Directory(root) => root.join(normalized).is_file(),
            Source::Embedded(suite) => suite.files.iter().any(|(name, _)| *name == normalized),
        }
    }
}

/// A script, an unreadable file that might have been one, or nothing (a
/// resource of another type).
fn candidate(path: String, bytes: &[u8]) -> Option<LoadedScript> {
    match TestScript::from_bytes(bytes) {
        Err(ScriptError::NotTestScript(_)) => None,
        script => Some(LoadedScript { path, script }),
    }
}

fn is_script_candidate(path: &str) -> bool {
    let in_fixtures = path.split('/').any(|segment| segment == "fixtures");
    let extension = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    !in_fixtures && matches!(extension.as_deref(), Some("json" | "xml"))
}

fn walk(root: &Path, prefix: &str, files: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(root.join(prefix))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        if entry.file_type()?.is_dir() {
            if name != "fixtures" {
                walk(root, &relative, files)?;
            }
        } else if is_script_candidate(&relative) {
            files.push(relative);
        }
    }
    Ok(())
}

/// `a/./b/../c` as `a/c`; `None` when the path climbs above the root.
fn normalize(path: &str) -> Option<String> {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop()?;
            }
            other => segments.push(other),
        }
    }
    Some(segments.join("/"))
}

/// The directory part of a suite-relative path (`""` at the root).
pub fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_resolves_dots_and_refuses_escapes() {
        assert_eq!(normalize("a/./b/../c.json").as_deref(), Some("a/c.json"));
        assert_eq!(normalize("../secret"), None);
        assert_eq!(parent("a/b/c.json"), "a/b");
        assert_eq!(parent("c.json"), "");
    }
}
