//! Building `COPY ... FROM STDIN` text-format payloads.

use std::fmt::Write;

/// A text-format COPY buffer: tab-separated fields, one row per line.
#[derive(Default)]
pub struct CopyBuf {
    /// The payload so far.
    pub buf: String,
    first: bool,
}

impl CopyBuf {
    /// An empty buffer with room for `bytes`.
    pub fn with_capacity(bytes: usize) -> CopyBuf {
        CopyBuf {
            buf: String::with_capacity(bytes),
            first: true,
        }
    }

    fn sep(&mut self) {
        if !self.first {
            self.buf.push('\t');
        }
        self.first = false;
    }

    /// Ends the current row.
    pub fn end_row(&mut self) {
        self.buf.push('\n');
        self.first = true;
    }

    /// A bytea field.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.sep();
        self.buf.push_str("\\\\x");
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for x in b {
            self.buf.push(HEX[(x >> 4) as usize] as char);
            self.buf.push(HEX[(x & 15) as usize] as char);
        }
        self
    }

    /// An optional bytea field.
    pub fn opt_bytes(&mut self, b: Option<&[u8]>) -> &mut Self {
        match b {
            Some(b) => self.bytes(b),
            None => self.null(),
        }
    }

    /// A NULL.
    pub fn null(&mut self) -> &mut Self {
        self.sep();
        self.buf.push_str("\\N");
        self
    }

    /// Any field printed with `Display` that contains no tab, newline or backslash (numbers, names).
    pub fn plain(&mut self, v: impl std::fmt::Display) -> &mut Self {
        self.sep();
        let _ = write!(self.buf, "{v}");
        self
    }

    /// Free text, escaped for the text format.
    pub fn text(&mut self, s: &str) -> &mut Self {
        self.sep();
        if !s
            .bytes()
            .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
        {
            self.buf.push_str(s);
            return self;
        }
        for c in s.chars() {
            match c {
                '\\' => self.buf.push_str("\\\\"),
                '\t' => self.buf.push_str("\\t"),
                '\n' => self.buf.push_str("\\n"),
                '\r' => self.buf.push_str("\\r"),
                c => self.buf.push(c),
            }
        }
        self
    }

    /// A text[] of simple identifiers.
    pub fn ident_array<'a>(&mut self, items: impl Iterator<Item = &'a str>) -> &mut Self {
        self.sep();
        self.buf.push('{');
        for (i, s) in items.enumerate() {
            if i > 0 {
                self.buf.push(',');
            }
            self.buf.push_str(s);
        }
        self.buf.push('}');
        self
    }

    /// A timestamptz from unix seconds.
    pub fn time(&mut self, secs: i64) -> &mut Self {
        self.sep();
        let t = chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default();
        let _ = write!(self.buf, "{}", t.format("%Y-%m-%d %H:%M:%S+00"));
        self
    }

    /// Whether the buffer holds at least `bytes`.
    pub fn is_full(&self, bytes: usize) -> bool {
        self.buf.len() >= bytes
    }
}

/// Streams `rows` into `statement` (a `COPY ... FROM STDIN` in text format) in chunks.
pub async fn copy_rows<I, F>(
    conn: &mut sqlx::PgConnection,
    statement: &str,
    rows: I,
    mut write_row: F,
) -> Result<u64, sqlx::Error>
where
    I: IntoIterator,
    F: FnMut(&mut CopyBuf, I::Item),
{
    const CHUNK: usize = 4 << 20;
    let mut copy = conn.copy_in_raw(statement).await?;
    let mut buf = CopyBuf::with_capacity(CHUNK + 64 * 1024);
    for row in rows {
        write_row(&mut buf, row);
        buf.end_row();
        if buf.is_full(CHUNK) {
            copy.send(std::mem::take(&mut buf.buf).into_bytes()).await?;
            buf = CopyBuf::with_capacity(CHUNK + 64 * 1024);
        }
    }
    if !buf.buf.is_empty() {
        copy.send(buf.buf.into_bytes()).await?;
    }
    copy.finish().await
}
