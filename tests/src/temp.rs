//! A temporary directory removed on drop.

use std::io;
use std::path::{Path, PathBuf};

/// A new directory under the system temp dir, removed with its contents when dropped.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `<tmp>/<prefix>-<random>`.
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn new(prefix: &str) -> io::Result<Self> {
        let path = std::env::temp_dir().join(format!(
            "{prefix}-{}",
            rampart_core::model::new_uniquifier()
        ));
        std::fs::create_dir_all(&path)?;
        Ok(Self { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
