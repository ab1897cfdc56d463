//! The bag file: bounds-checked positioned reads, and a read-only mapping for indexed bags.

use super::*;

/// The file, with bounds-checked positioned reads, and for a finished (indexed) bag a read-only mapping
/// that chunk data are decompressed from without a copy.
pub(super) struct Source {
    pub(super) file: File,
    pub(super) path: PathBuf,
    pub(super) len: u64,
    pub(super) map: Option<Arc<memmap2::Mmap>>,
}

/// A mapping as the owner of zero-copy [`Bytes`] (payloads of uncompressed chunks).
pub(super) struct MapOwner(Arc<memmap2::Mmap>);

impl AsRef<[u8]> for MapOwner {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Maps `file` read-only (`len` bytes), or None where mapping fails.
///
/// A mapping is only made for bags with a sound index: a closed recording. Bytes of a mapped file that is
/// truncated while it is read would fault (SIGBUS), and the file a recorder is still writing is exactly the
/// one without an index (read with `pread`).
#[allow(unsafe_code)] // a file mapping: see the SAFETY comment
pub(crate) fn map_file(file: &File, len: u64) -> Option<Arc<memmap2::Mmap>> {
    if len == 0 {
        return None;
    }
    // SAFETY: the mapping is read-only and private to this process; see above for truncation.
    let map = unsafe {
        memmap2::MmapOptions::new()
            .len(usize::try_from(len).ok()?)
            .map(file)
    }
    .ok()?;
    #[cfg(unix)]
    {
        // chunks are read front to back: read-ahead as far as the kernel likes (advice only)
        let _ = map.advise(memmap2::Advice::Sequential);
    }
    Some(Arc::new(map))
}

/// A record header read from the file; its data is not read.
pub(super) struct FileRecord {
    pub(super) header: Vec<u8>,
    pub(super) data_pos: u64,
    pub(super) data_len: u64,
}

impl FileRecord {
    pub(super) fn header(&self) -> Header<'_> {
        // Validated when read.
        Header::parse(&self.header).unwrap_or(Header::EMPTY)
    }
    pub(super) fn data_end(&self) -> u64 {
        self.data_pos + self.data_len
    }
}

impl Source {
    /// The mapped bytes `pos..pos + len` as a zero-copy slice of the mapping: None without a mapping, an
    /// error past the end of file.
    pub(super) fn mapped(&self, pos: u64, len: u64, what: &'static str) -> Result<Option<Bytes>, BagError> {
        let Some(map) = &self.map else {
            return Ok(None);
        };
        let range = pos
            .checked_add(len)
            .filter(|&e| e <= self.len)
            .and_then(|e| Some(usize::try_from(pos).ok()?..usize::try_from(e).ok()?))
            .filter(|r| r.end <= map.len());
        match range {
            Some(r) => Ok(Some(Bytes::from_owner(MapOwner(Arc::clone(map))).slice(r))),
            None => Err(self.format(
                pos,
                what,
                format!(
                    "needs {len} bytes, file ends after {} bytes",
                    self.len.saturating_sub(pos)
                ),
            )),
        }
    }

    pub(super) fn format(&self, offset: u64, what: &'static str, problem: impl Into<String>) -> BagError {
        BagError::Format {
            path: self.path.clone(),
            offset,
            what,
            problem: problem.into(),
        }
    }

    /// Reads `len` bytes at `pos` into `buf` (replacing its contents); errors if they are not all in the file.
    pub(super) fn read_into(
        &self,
        pos: u64,
        len: u64,
        buf: &mut Vec<u8>,
        what: &'static str,
    ) -> Result<(), BagError> {
        let end = pos.checked_add(len).filter(|&e| e <= self.len).ok_or_else(|| {
            self.format(
                pos,
                what,
                format!(
                    "needs {len} bytes, file ends after {} bytes",
                    self.len.saturating_sub(pos)
                ),
            )
        })?;
        let n = usize::try_from(end - pos).map_err(|_| self.format(pos, what, "larger than memory"))?;
        buf.clear();
        buf.resize(n, 0);
        read_exact_at(&self.file, buf, pos)
            .map_err(|e| io_err(&self.path, format!("reading {what} at byte {pos}"), e))
    }

    pub(super) fn read(&self, pos: u64, len: u64, what: &'static str) -> Result<Vec<u8>, BagError> {
        let mut v = Vec::new();
        self.read_into(pos, len, &mut v, what)?;
        Ok(v)
    }

    pub(super) fn u32_at(&self, pos: u64, what: &'static str) -> Result<u32, BagError> {
        let b = self.read(pos, 4, what)?;
        record::le_u32(&b, 0).ok_or_else(|| self.format(pos, what, "cut off"))
    }

    /// Reads the header of the record at `pos` and its data length (the data may run past the end of file).
    pub(super) fn record_head(&self, pos: u64) -> Result<FileRecord, BagError> {
        let hlen = self.u32_at(pos, "record header length")?;
        let header = self.read(pos + 4, u64::from(hlen), "record header")?;
        Header::parse(&header).map_err(|p| self.format(pos, "record header", p))?;
        let dlen_pos = pos + 4 + u64::from(hlen);
        let data_len = u64::from(self.u32_at(dlen_pos, "record data length")?);
        Ok(FileRecord {
            header,
            data_pos: dlen_pos + 4,
            data_len,
        })
    }

    /// A record whose data lies entirely within the file.
    pub(super) fn record(&self, pos: u64, what: &'static str) -> Result<FileRecord, BagError> {
        let r = self.record_head(pos)?;
        if r.data_end() > self.len {
            return Err(self.format(
                pos,
                what,
                format!(
                    "record data claims {} bytes, file ends after {}",
                    r.data_len,
                    self.len - r.data_pos
                ),
            ));
        }
        Ok(r)
    }
}

#[cfg(unix)]
pub(super) fn read_exact_at(file: &File, buf: &mut [u8], pos: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, pos)
}

#[cfg(windows)]
pub(super) fn read_exact_at(file: &File, mut buf: &mut [u8], mut pos: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, pos) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                pos += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
