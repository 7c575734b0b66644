//! Line-number tables of every version, decoded lazily from the raw bytes.
//!
//! * `co_lnotab` (2.x, 3.0–3.9): `(addr_incr, line_incr)` byte pairs; the line increment is
//!   unsigned before 3.6 and a signed byte from 3.6.
//! * `co_linetable` (3.10): `(sdelta, ldelta)` pairs; `ldelta == -128` means "no line".
//! * the location table (3.11+): variable-length entries giving line, end line and columns for
//!   each 2-byte code unit.
//!
//! The results match the interpreters' own `co_lines()`, `co_positions()` and
//! `dis.findlinestarts`, including their per-version differences (3.11 yields one range per
//! entry; 3.12+ merge equal lines; 3.13's `findlinestarts` also reports ranges with no line).

use crate::error::{Error, Result};

/// Which encoding a line table uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineTableFormat {
    /// `co_lnotab` with unsigned line increments (2.x, 3.0–3.5).
    LnotabUnsigned,
    /// `co_lnotab` with signed line increments (3.6–3.9).
    LnotabSigned,
    /// The 3.10 `co_linetable`.
    Linetable310,
    /// The 3.11+ location table.
    Locations,
}

impl LineTableFormat {
    /// The format used by a `major.minor` version.
    pub fn for_version(major: u8, minor: u8) -> LineTableFormat {
        match (major, minor) {
            (2, _) => LineTableFormat::LnotabUnsigned,
            (3, m) if m < 6 => LineTableFormat::LnotabUnsigned,
            (3, m) if m < 10 => LineTableFormat::LnotabSigned,
            (3, 10) => LineTableFormat::Linetable310,
            _ => LineTableFormat::Locations,
        }
    }
}

/// How `co_lines()` / `findlinestarts` behave in a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinesStyle {
    /// No `co_lines()` (≤ 3.7): line starts come from the lnotab algorithm.
    Lnotab,
    /// 3.8 and 3.9: the lnotab algorithm, stopping at the first address past the end of the
    /// bytecode (lines optimised away).
    LnotabClipped,
    /// 3.10 and 3.11: one range per table entry, no merging.
    PerEntry,
    /// 3.12: consecutive ranges with the same line are merged.
    Merged,
    /// 3.13+: merged, and `findlinestarts` also yields ranges without a line.
    MergedWithNone,
}

impl LinesStyle {
    /// The style of a `major.minor` version.
    pub fn for_version(major: u8, minor: u8) -> LinesStyle {
        match (major, minor) {
            (2, _) => LinesStyle::Lnotab,
            (3, 8) | (3, 9) => LinesStyle::LnotabClipped,
            (3, m) if m < 10 => LinesStyle::Lnotab,
            (3, 10) | (3, 11) => LinesStyle::PerEntry,
            (3, 12) => LinesStyle::Merged,
            _ => LinesStyle::MergedWithNone,
        }
    }
}

/// A raw line table with what is needed to decode it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTable<'a> {
    /// The encoding.
    pub format: LineTableFormat,
    /// The bytes of `co_lnotab` / `co_linetable`.
    pub bytes: &'a [u8],
    /// `co_firstlineno`.
    pub firstlineno: i32,
}

/// A range of bytecode with one line, as `co_lines()` yields it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineRange {
    /// First byte offset.
    pub start: u32,
    /// End byte offset (exclusive).
    pub end: u32,
    /// The line, `None` for code with no source line.
    pub line: Option<i32>,
}

/// The source span of one code unit, as `co_positions()` yields it (3.11+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// Line.
    pub line: Option<i32>,
    /// End line.
    pub end_line: Option<i32>,
    /// Start column (0-based, in UTF-8 bytes).
    pub col: Option<i32>,
    /// End column.
    pub end_col: Option<i32>,
}

/// One entry of a 3.11+ location table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocationEntry {
    /// First code unit covered.
    pub start_unit: u32,
    /// Number of code units covered (1–8).
    pub units: u32,
    /// The position of every unit covered.
    pub position: Position,
}

/// Iterator over the entries of a 3.11+ location table. Allocation-free.
#[derive(Debug, Clone)]
pub struct LocationEntries<'a> {
    bytes: &'a [u8],
    pos: usize,
    unit: u32,
    line: i32,
    failed: bool,
}

impl<'a> LocationEntries<'a> {
    /// Starts decoding `bytes` with the running line at `firstlineno`.
    pub fn new(bytes: &'a [u8], firstlineno: i32) -> LocationEntries<'a> {
        LocationEntries {
            bytes,
            pos: 0,
            unit: 0,
            line: firstlineno,
            failed: false,
        }
    }

    fn byte(&mut self) -> Result<u8> {
        let b = *self.bytes.get(self.pos).ok_or(Error::Truncated {
            table: "location table",
            offset: self.pos,
        })?;
        self.pos += 1;
        Ok(b)
    }

    /// A varint: 6-bit groups, least significant first, 0x40 = more.
    fn varint(&mut self) -> Result<u32> {
        let mut value: u32 = 0;
        let mut shift = 0u32;
        loop {
            let b = self.byte()?;
            if shift >= 32 {
                return Err(Error::Malformed {
                    table: "location table",
                    offset: self.pos - 1,
                    message: "varint too long".into(),
                });
            }
            value |= u32::from(b & 0x3F) << shift;
            shift += 6;
            if b & 0x40 == 0 {
                return Ok(value);
            }
        }
    }

    fn svarint(&mut self) -> Result<i32> {
        let v = self.varint()?;
        let mag = (v >> 1) as i32;
        Ok(if v & 1 != 0 { -mag } else { mag })
    }

    fn entry(&mut self) -> Result<LocationEntry> {
        let at = self.pos;
        let first = self.byte()?;
        if first & 0x80 == 0 {
            return Err(Error::Malformed {
                table: "location table",
                offset: at,
                message: format!("entry starts with {first:#04x}, which lacks bit 7"),
            });
        }
        let code = (first >> 3) & 0xF;
        let units = u32::from(first & 7) + 1;
        let position = match code {
            0..=9 => {
                let b2 = self.byte()?;
                let col = i32::from(code) * 8 + i32::from((b2 >> 4) & 7);
                Position {
                    line: Some(self.line),
                    end_line: Some(self.line),
                    col: Some(col),
                    end_col: Some(col + i32::from(b2 & 0xF)),
                }
            }
            10..=12 => {
                self.line = self.line.wrapping_add(i32::from(code) - 10);
                let c1 = self.byte()?;
                let c2 = self.byte()?;
                Position {
                    line: Some(self.line),
                    end_line: Some(self.line),
                    col: Some(i32::from(c1)),
                    end_col: Some(i32::from(c2)),
                }
            }
            13 => {
                self.line = self.line.wrapping_add(self.svarint()?);
                Position {
                    line: Some(self.line),
                    end_line: Some(self.line),
                    col: None,
                    end_col: None,
                }
            }
            14 => {
                self.line = self.line.wrapping_add(self.svarint()?);
                let end_line = self.line.wrapping_add(self.varint()? as i32);
                let col = self.varint()? as i32 - 1;
                let end_col = self.varint()? as i32 - 1;
                Position {
                    line: Some(self.line),
                    end_line: Some(end_line),
                    col: (col >= 0).then_some(col),
                    end_col: (end_col >= 0).then_some(end_col),
                }
            }
            _ => Position::default(),
        };
        let e = LocationEntry {
            start_unit: self.unit,
            units,
            position,
        };
        self.unit += units;
        Ok(e)
    }
}

impl Iterator for LocationEntries<'_> {
    type Item = Result<LocationEntry>;

    fn next(&mut self) -> Option<Result<LocationEntry>> {
        if self.failed || self.pos >= self.bytes.len() {
            return None;
        }
        let r = self.entry();
        if r.is_err() {
            self.failed = true;
        }
        Some(r)
    }
}

impl<'a> LineTable<'a> {
    /// A table of the given format.
    pub fn new(format: LineTableFormat, bytes: &'a [u8], firstlineno: i32) -> LineTable<'a> {
        LineTable {
            format,
            bytes,
            firstlineno,
        }
    }

    /// `co_lnotab` as CPython computes it for this table.
    ///
    /// Before 3.10 the lnotab is what the code object stores: the table's bytes are returned
    /// as they are. From 3.10 CPython no longer stores one; its `co_lnotab` attribute is derived
    /// from the line table, and this derives it the same way:
    ///
    /// * walk the address ranges of the table with a running *computed line* (starting at
    ///   `co_firstlineno`); a range without a line (3.10's `ldelta == -128`, a 3.11+ entry with
    ///   no line) leaves the computed line as it was;
    /// * 3.10: ranges of zero length move the computed line but emit nothing (the interpreter
    ///   only looks at ranges that cover code); 3.11+: every entry is looked at;
    /// * whenever the computed line differs from the last emitted line (initially
    ///   `co_firstlineno`), emit `(byte offset delta, line delta)` from the last emitted point
    ///   and make this range's start the new point;
    /// * a pair holds an offset delta of 0..=255 and a signed line delta of -128..=127: larger
    ///   offset deltas first emit `(255, 0)` pairs, larger line deltas emit `(offset delta,
    ///   127)` or `(offset delta, -128)` and continue with an offset delta of 0.
    ///
    /// Errors if the table does not decode (a 3.10 table of odd length, a truncated 3.11+
    /// entry).
    pub fn to_lnotab(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut line = self.firstlineno;
        let mut offset: i64 = 0;
        let mut emit = |start: i64, computed: i32, line: &mut i32, offset: &mut i64| {
            if computed == *line {
                return;
            }
            let mut bdelta = start - *offset;
            let mut ldelta = i64::from(computed) - i64::from(*line);
            while bdelta > 255 {
                out.extend_from_slice(&[255, 0]);
                bdelta -= 255;
            }
            while ldelta > 127 {
                out.extend_from_slice(&[bdelta as u8, 127]);
                bdelta = 0;
                ldelta -= 127;
            }
            while ldelta < -128 {
                out.extend_from_slice(&[bdelta as u8, (-128i8) as u8]);
                bdelta = 0;
                ldelta += 128;
            }
            out.extend_from_slice(&[bdelta as u8, ldelta as i8 as u8]);
            *offset = start;
            *line = computed;
        };
        match self.format {
            LineTableFormat::LnotabUnsigned | LineTableFormat::LnotabSigned => {
                return Ok(self.bytes.to_vec())
            }
            LineTableFormat::Locations => {
                let mut computed = self.firstlineno;
                for entry in LocationEntries::new(self.bytes, self.firstlineno) {
                    let entry = entry?;
                    if let Some(l) = entry.position.line {
                        computed = l;
                    }
                    emit(
                        i64::from(entry.start_unit) * 2,
                        computed,
                        &mut line,
                        &mut offset,
                    );
                }
            }
            LineTableFormat::Linetable310 => {
                let pairs = self.bytes.chunks_exact(2);
                if !pairs.remainder().is_empty() {
                    return Err(Error::Truncated {
                        table: "co_linetable",
                        offset: self.bytes.len() - 1,
                    });
                }
                let mut computed = self.firstlineno;
                let mut addr: i64 = 0;
                for pair in pairs {
                    let (sdelta, ldelta) = (i64::from(pair[0]), pair[1] as i8);
                    if ldelta != -128 {
                        computed = computed.wrapping_add(i32::from(ldelta));
                    }
                    if sdelta > 0 {
                        emit(addr, computed, &mut line, &mut offset);
                    }
                    addr += sdelta;
                }
            }
        }
        Ok(out)
    }

    /// The lnotab algorithm: `(offset, line)` pairs as `dis.findlinestarts` yields them (≤ 3.9;
    /// `clip_at` = the code length for 3.8/3.9, which stop once an address passes it).
    fn lnotab_starts(&self, clip_at: Option<u32>) -> Vec<(u32, i32)> {
        let signed = self.format == LineTableFormat::LnotabSigned;
        let mut out = Vec::new();
        let mut last: Option<i32> = None;
        let mut line = self.firstlineno;
        let mut addr: u32 = 0;
        for pair in self.bytes.chunks_exact(2) {
            let (a, l) = (pair[0], pair[1]);
            if a != 0 {
                if last != Some(line) {
                    out.push((addr, line));
                    last = Some(line);
                }
                addr += u32::from(a);
                if clip_at.is_some_and(|len| addr >= len) {
                    return out;
                }
            }
            let delta = if signed {
                i32::from(l as i8)
            } else {
                i32::from(l)
            };
            line = line.wrapping_add(delta);
        }
        if last != Some(line) {
            out.push((addr, line));
        }
        out
    }

    /// The line ranges, as `co_lines()` yields them in the given style. For lnotab versions
    /// (which have no `co_lines()`), the ranges between consecutive line starts, the last one
    /// ending at `code_len`.
    pub fn lines(&self, style: LinesStyle, code_len: u32) -> Result<Vec<LineRange>> {
        let mut raw: Vec<LineRange> = Vec::new();
        match self.format {
            LineTableFormat::LnotabUnsigned | LineTableFormat::LnotabSigned => {
                let clip = (style == LinesStyle::LnotabClipped).then_some(code_len);
                let starts = self.lnotab_starts(clip);
                for (i, &(start, line)) in starts.iter().enumerate() {
                    let end = starts.get(i + 1).map_or(code_len, |s| s.0);
                    if end > start {
                        raw.push(LineRange {
                            start,
                            end,
                            line: Some(line),
                        });
                    }
                }
                return Ok(raw);
            }
            LineTableFormat::Linetable310 => {
                if !self.bytes.len().is_multiple_of(2) {
                    return Err(Error::Truncated {
                        table: "3.10 line table",
                        offset: self.bytes.len() - 1,
                    });
                }
                let mut line = self.firstlineno;
                let mut addr: u32 = 0;
                for pair in self.bytes.chunks_exact(2) {
                    let sdelta = u32::from(pair[0]);
                    let ldelta = pair[1] as i8;
                    let this = if ldelta == -128 {
                        None
                    } else {
                        line = line.wrapping_add(i32::from(ldelta));
                        Some(line)
                    };
                    if sdelta > 0 {
                        raw.push(LineRange {
                            start: addr,
                            end: addr + sdelta,
                            line: this,
                        });
                    }
                    addr += sdelta;
                }
            }
            LineTableFormat::Locations => {
                for e in LocationEntries::new(self.bytes, self.firstlineno) {
                    let e = e?;
                    raw.push(LineRange {
                        start: e.start_unit * 2,
                        end: (e.start_unit + e.units) * 2,
                        line: e.position.line,
                    });
                }
            }
        }
        if matches!(style, LinesStyle::Merged | LinesStyle::MergedWithNone) {
            let mut merged: Vec<LineRange> = Vec::with_capacity(raw.len());
            for r in raw {
                match merged.last_mut() {
                    Some(last) if last.line == r.line && last.end == r.start => last.end = r.end,
                    _ => merged.push(r),
                }
            }
            return Ok(merged);
        }
        Ok(raw)
    }

    /// `dis.findlinestarts` of the version: `(offset, line)` pairs. The line is `None` only in
    /// the 3.13+ style, where ranges without a line are reported too.
    pub fn line_starts(&self, style: LinesStyle, code_len: u32) -> Result<Vec<(u32, Option<i32>)>> {
        if matches!(style, LinesStyle::Lnotab | LinesStyle::LnotabClipped)
            || matches!(
                self.format,
                LineTableFormat::LnotabSigned | LineTableFormat::LnotabUnsigned
            )
        {
            let clip = (style == LinesStyle::LnotabClipped).then_some(code_len);
            return Ok(self
                .lnotab_starts(clip)
                .into_iter()
                .map(|(a, l)| (a, Some(l)))
                .collect());
        }
        let mut out = Vec::new();
        if style == LinesStyle::MergedWithNone {
            let mut last: Option<Option<i32>> = None;
            for r in self.lines(style, code_len)? {
                if last != Some(r.line) {
                    last = Some(r.line);
                    out.push((r.start, r.line));
                }
            }
        } else {
            let mut last: Option<i32> = None;
            for r in self.lines(style, code_len)? {
                if r.line.is_some() && r.line != last {
                    last = r.line;
                    out.push((r.start, r.line));
                }
            }
        }
        Ok(out)
    }

    /// `co_positions()` (3.11+): one position per 2-byte code unit. Empty for older formats.
    pub fn positions(&self) -> Result<Vec<Position>> {
        let mut out = Vec::new();
        if self.format != LineTableFormat::Locations {
            return Ok(out);
        }
        for e in LocationEntries::new(self.bytes, self.firstlineno) {
            let e = e?;
            for _ in 0..e.units {
                out.push(e.position);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lnotab_signed_and_unsigned() {
        // (6, 1), (8, 0xFF): +1 line, then -1 (signed) or +255 (unsigned).
        let bytes = [6u8, 1, 8, 0xFF, 4, 0];
        let t = LineTable::new(LineTableFormat::LnotabSigned, &bytes, 10);
        assert_eq!(
            t.line_starts(LinesStyle::Lnotab, 20).unwrap(),
            [(0, Some(10)), (6, Some(11)), (14, Some(10))]
        );
        let t = LineTable::new(LineTableFormat::LnotabUnsigned, &bytes, 10);
        assert_eq!(
            t.line_starts(LinesStyle::Lnotab, 20).unwrap(),
            [(0, Some(10)), (6, Some(11)), (14, Some(266))]
        );
        // 3.8/3.9 stop once an address reaches the end of the code.
        let t = LineTable::new(LineTableFormat::LnotabSigned, &bytes, 10);
        assert_eq!(
            t.line_starts(LinesStyle::LnotabClipped, 14).unwrap(),
            [(0, Some(10)), (6, Some(11))]
        );
    }

    #[test]
    fn lnotab_derived_from_a_310_table() {
        // (4, 0) (2, no line) (6, +1) (0, +2) (2, 0): lines 5, -, 6, 8 (the zero-length range
        // moves the line without emitting).
        let bytes = [4u8, 0, 2, 0x80, 6, 1, 0, 2, 2, 0];
        let t = LineTable::new(LineTableFormat::Linetable310, &bytes, 5);
        assert_eq!(t.to_lnotab().unwrap(), [6, 1, 6, 2]);
        // Offset deltas above 255 and line deltas above 127 are split.
        let bytes = [254u8, 0, 254, 0, 2, 127, 2, 100];
        let t = LineTable::new(LineTableFormat::Linetable310, &bytes, 1);
        assert_eq!(t.to_lnotab().unwrap(), [255, 0, 253, 127, 2, 100]);
        let t = LineTable::new(LineTableFormat::Linetable310, &bytes[..3], 1);
        assert!(t.to_lnotab().is_err());
        // Before 3.10 the stored table is the lnotab.
        let t = LineTable::new(LineTableFormat::LnotabSigned, &bytes, 1);
        assert_eq!(t.to_lnotab().unwrap(), bytes);
    }

    #[test]
    fn linetable_310_no_line_marker() {
        let bytes = [4u8, 0, 2, 0x80, 6, 1, 0, 2, 2, 0];
        let t = LineTable::new(LineTableFormat::Linetable310, &bytes, 5);
        let r = t.lines(LinesStyle::PerEntry, 14).unwrap();
        let got: Vec<(u32, u32, Option<i32>)> =
            r.iter().map(|r| (r.start, r.end, r.line)).collect();
        assert_eq!(
            got,
            [
                (0, 4, Some(5)),
                (4, 6, None),
                (6, 12, Some(6)),
                (12, 14, Some(8))
            ]
        );
    }

    #[test]
    fn location_forms() {
        // short (code 0, 1 unit), one-line +1 (code 11, 2 units), none (code 15),
        // long (code 14): delta -1, end +2, col 3, end col 0 (-> None).
        let bytes = [0x80, 0x23, 0xD9, 4, 9, 0xF8, 0xF0, 0x03, 0x02, 0x04, 0x00];
        let t = LineTable::new(LineTableFormat::Locations, &bytes, 1);
        let p = t.positions().unwrap();
        assert_eq!(p.len(), 5);
        assert_eq!(
            p[0],
            Position {
                line: Some(1),
                end_line: Some(1),
                col: Some(2),
                end_col: Some(5)
            }
        );
        assert_eq!(
            p[1],
            Position {
                line: Some(2),
                end_line: Some(2),
                col: Some(4),
                end_col: Some(9)
            }
        );
        assert_eq!(p[2], p[1]);
        assert_eq!(p[3], Position::default());
        assert_eq!(
            p[4],
            Position {
                line: Some(1),
                end_line: Some(3),
                col: Some(3),
                end_col: None
            }
        );
        // Truncated: an error, never a panic.
        let t = LineTable::new(LineTableFormat::Locations, &bytes[..9], 1);
        assert!(t.positions().is_err());
    }
}
