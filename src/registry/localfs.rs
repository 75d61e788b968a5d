//! Reading local files named by users or by layouts: regular files only, never more than a bound.
//!
//! A path may lead (through symlinks) to a FIFO, a device or a directory: opening a FIFO blocks
//! until a writer comes and `/dev/zero` never ends. [`read_regular`] checks the file type before
//! opening, checks it again on the open file, and reads at most `limit + 1` bytes whatever the
//! size the metadata claims.

use std::io::{self, Read};
use std::path::Path;

/// What a non-regular file is, in words.
fn kind_of(ft: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() || ft.is_block_device() {
        "a device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

fn not_regular(ft: std::fs::FileType) -> io::Error {
    let kind = kind_of(ft);
    let msg = if kind == "not a regular file" {
        kind.to_string()
    } else {
        format!("{kind}, not a regular file")
    };
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// The error [`read_regular`] returns for a file over `limit` bytes (kind `FileTooLarge`).
fn too_large(limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!("larger than the {limit} byte limit"),
    )
}

/// Reads `path` (symlinks followed) when it is a regular file of at most `limit` bytes.
///
/// Errors: `NotFound` as from the OS, `InvalidInput` for a FIFO, device, socket or directory,
/// `FileTooLarge` over the limit; their messages say which.
pub fn read_regular(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(not_regular(meta.file_type()));
    }
    if meta.len() > limit {
        return Err(too_large(limit));
    }
    let file = std::fs::File::open(path)?;
    // The path may have changed between the two looks: trust only the open file.
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(meta.file_type()));
    }
    let mut body = Vec::with_capacity(meta.len().min(limit) as usize);
    file.take(limit.saturating_add(1)).read_to_end(&mut body)?;
    if body.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_devices_directories_fifos_and_big_files() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_regular(Path::new("/dev/zero"), 10).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("a device"), "{e}");
        let e = read_regular(dir.path(), 10).unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
        let fifo = dir.path().join("fifo");
        let st = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(st.success());
        let e = read_regular(&fifo, 10).unwrap_err();
        assert!(e.to_string().contains("a FIFO"), "{e}");
        let big = dir.path().join("big");
        std::fs::write(&big, [b'x'; 11]).unwrap();
        let e = read_regular(&big, 10).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
        assert!(e.to_string().contains("10 byte limit"), "{e}");
        assert_eq!(read_regular(&big, 11).unwrap(), [b'x'; 11]);
        let e = read_regular(&dir.path().join("missing"), 10).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }
}
