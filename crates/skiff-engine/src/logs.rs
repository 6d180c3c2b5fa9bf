//! Container logs in the CRI format kubelet uses: one record per line,
//! `TIMESTAMP STREAM TAG TEXT`, where TIMESTAMP is RFC 3339 with nanoseconds
//! in UTC, STREAM is `stdout` or `stderr`, and TAG is `F` for a record that
//! ends a line or `P` for a partial one (the line goes on in the next record
//! of that stream).

use std::fs::File;
use std::io::{Read, Write};

use crate::error::{IoContext, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// A partial line is written out once it gets this long.
const MAX_PENDING: usize = 16 * 1024;

/// Turns output chunks into log records (used by the monitor).
pub(crate) struct LogWriter {
    file: File,
    pending: [Vec<u8>; 2],
    /// A terminal: write partial lines at once, so prompts show up.
    immediate: bool,
}

impl LogWriter {
    pub(crate) fn new(file: File, immediate: bool) -> LogWriter {
        LogWriter {
            file,
            pending: [Vec::new(), Vec::new()],
            immediate,
        }
    }

    fn emit(&mut self, stream: Stream, text: &[u8], full: bool) {
        let mut line = format!(
            "{} {} {} ",
            humantime::format_rfc3339_nanos(std::time::SystemTime::now()),
            stream.name(),
            if full { 'F' } else { 'P' }
        )
        .into_bytes();
        line.extend_from_slice(text);
        line.push(b'\n');
        // One write per record on an O_APPEND file, so readers never see
        // records interleaved. A full disk loses log lines, not the container.
        let _ = self.file.write_all(&line);
    }

    pub(crate) fn write(&mut self, stream: Stream, data: &[u8]) {
        let i = stream as usize;
        let mut buf = std::mem::take(&mut self.pending[i]);
        buf.extend_from_slice(data);
        let mut start = 0;
        while let Some(pos) = buf[start..].iter().position(|b| *b == b'\n') {
            self.emit(stream, &buf[start..start + pos], true);
            start += pos + 1;
        }
        let rest = &buf[start..];
        if !rest.is_empty() && (self.immediate || rest.len() >= MAX_PENDING) {
            self.emit(stream, rest, false);
        } else {
            self.pending[i] = rest.to_vec();
        }
    }

    /// End of output: what is left is the last (unterminated) line.
    pub(crate) fn finish(&mut self) {
        for stream in [Stream::Stdout, Stream::Stderr] {
            let rest = std::mem::take(&mut self.pending[stream as usize]);
            if !rest.is_empty() {
                self.emit(stream, &rest, true);
            }
        }
    }
}

/// One parsed log record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub timestamp: String,
    pub stream: Stream,
    /// Ends a line (`F`), rather than continuing in the next record (`P`).
    pub full: bool,
    pub text: Vec<u8>,
}

/// Parse one record (without its newline); None for a malformed line.
pub fn parse_record(line: &[u8]) -> Option<LogRecord> {
    let mut parts = line.splitn(4, |b| *b == b' ');
    let timestamp = String::from_utf8(parts.next()?.to_vec()).ok()?;
    let stream = match parts.next()? {
        b"stdout" => Stream::Stdout,
        b"stderr" => Stream::Stderr,
        _ => return None,
    };
    let full = match parts.next()? {
        b"F" => true,
        b"P" => false,
        _ => return None,
    };
    Some(LogRecord {
        timestamp,
        stream,
        full,
        text: parts.next().unwrap_or_default().to_vec(),
    })
}

/// Reads records from a log file as they are appended.
pub struct LogFollower {
    file: File,
    buf: Vec<u8>,
}

impl LogFollower {
    pub fn new(file: File) -> LogFollower {
        LogFollower {
            file,
            buf: Vec::new(),
        }
    }

    /// Every complete record appended since the last call.
    pub fn read_new(&mut self) -> Result<Vec<LogRecord>> {
        let mut chunk = Vec::new();
        self.file
            .read_to_end(&mut chunk)
            .ctx(|| "cannot read the container log".to_string())?;
        self.buf.extend_from_slice(&chunk);
        let mut out = Vec::new();
        let mut start = 0;
        while let Some(pos) = self.buf[start..].iter().position(|b| *b == b'\n') {
            if let Some(r) = parse_record(&self.buf[start..start + pos]) {
                out.push(r);
            }
            start += pos + 1;
        }
        self.buf.drain(..start);
        Ok(out)
    }
}

/// Writes records back out as the bytes the container wrote.
pub struct LogPrinter<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    pub timestamps: bool,
    at_line_start: [bool; 2],
}

impl<'a> LogPrinter<'a> {
    pub fn new(out: &'a mut dyn Write, err: &'a mut dyn Write, timestamps: bool) -> Self {
        LogPrinter {
            out,
            err,
            timestamps,
            at_line_start: [true, true],
        }
    }

    pub fn print(&mut self, r: &LogRecord) -> std::io::Result<()> {
        let i = r.stream as usize;
        let w: &mut dyn Write = match r.stream {
            Stream::Stdout => self.out,
            Stream::Stderr => self.err,
        };
        if self.timestamps && self.at_line_start[i] {
            write!(w, "{} ", r.timestamp)?;
        }
        w.write_all(&r.text)?;
        if r.full {
            w.write_all(b"\n")?;
        }
        self.at_line_start[i] = r.full;
        w.flush()
    }
}

/// The records of the last `n` lines.
pub fn tail(records: Vec<LogRecord>, n: usize) -> Vec<LogRecord> {
    let ends: Vec<usize> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.full)
        .map(|(i, _)| i)
        .collect();
    if ends.len() <= n {
        return records;
    }
    let start = if n == 0 {
        records.len()
    } else {
        ends[ends.len() - n - 1] + 1
    };
    records.into_iter().skip(start).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(immediate: bool, chunks: &[(Stream, &[u8])]) -> Vec<LogRecord> {
        // One directory per call: the tests run in parallel in one process.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(if immediate { "tty" } else { "pipe" });
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path)
            .unwrap();
        let mut w = LogWriter::new(file, immediate);
        for (s, c) in chunks {
            w.write(*s, c);
        }
        w.finish();
        LogFollower::new(File::open(&path).unwrap())
            .read_new()
            .unwrap()
    }

    #[test]
    fn lines_are_split_and_joined() {
        let r = written(
            false,
            &[
                (Stream::Stdout, b"hel"),
                (Stream::Stderr, b"oops\n"),
                (Stream::Stdout, b"lo\nwor"),
                (Stream::Stdout, b"ld"),
            ],
        );
        let texts: Vec<_> = r
            .iter()
            .map(|r| {
                (
                    r.stream,
                    r.full,
                    String::from_utf8_lossy(&r.text).into_owned(),
                )
            })
            .collect();
        assert_eq!(
            texts,
            vec![
                (Stream::Stderr, true, "oops".to_string()),
                (Stream::Stdout, true, "hello".to_string()),
                (Stream::Stdout, true, "world".to_string()),
            ]
        );
        assert!(r[0].timestamp.ends_with('Z') && r[0].timestamp.len() == 30);
    }

    #[test]
    fn terminals_write_partial_lines_at_once() {
        let r = written(true, &[(Stream::Stdout, b"$ "), (Stream::Stdout, b"ls\n")]);
        assert_eq!(r.len(), 2);
        assert!(!r[0].full && r[0].text == b"$ ");
        assert!(r[1].full && r[1].text == b"ls");
    }

    #[test]
    fn tail_counts_lines() {
        let rec = |t: &str, full| LogRecord {
            timestamp: "t".into(),
            stream: Stream::Stdout,
            full,
            text: t.as_bytes().to_vec(),
        };
        let all = vec![
            rec("a", true),
            rec("b", false),
            rec("c", true),
            rec("d", true),
        ];
        let t = tail(all.clone(), 2);
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].text, b"b");
        assert_eq!(tail(all.clone(), 10).len(), 4);
        assert!(tail(all, 0).is_empty());
    }
}
