//! `dativo_native._native`: a strict, streaming Singer JSON -> Arrow buffers decoder.
//!
//! `Decoder(fields).decode(data, stream)` reads whole newline-terminated Singer lines and
//! returns raw Arrow buffers per part (the GIL is released while parsing; a large buffer is
//! split at a newline and decoded on two threads). Anything unusual is a rejection: the Python
//! side then takes its slower, authoritative paths.

mod column;
mod decode;
mod jsonout;
mod timefmt;

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};
use pyo3::{ffi, PyErr};
use serde::de::DeserializeSeed;
use std::ffi::{c_int, c_void};

use column::{Column, Data, FieldSpec, KindSpec};
use decode::{reason_of, Envelope, Kind, ValueSeed};

/// Buffers decoded with no split below this size (one thread).
const DEFAULT_SPLIT_BYTES: usize = 4 * 1024 * 1024;

struct Part {
    root: Column,
    rows: usize,
    lines: usize,
    last_state: Option<usize>,
}

struct Reject {
    line: usize,
    reason: String,
    /// byte offset of the rejected line's start
    offset: usize,
}

fn is_blank(line: &[u8]) -> bool {
    // Python's bytes.strip() whitespace: such lines are skipped by every path
    line.iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
}

/// `stream: None` reads bare records (a BATCH jsonl file), one object per line.
fn decode_part(data: &[u8], root_spec: &FieldSpec, stream: Option<&str>) -> Result<Part, Reject> {
    let mut root = Column::new(root_spec);
    // rows ~ size / first line's length: fewer reallocations of the column buffers
    let first = memchr::memchr(b'\n', data).map_or(data.len(), |i| i + 1);
    root.reserve(data.len() / first.max(64) + 16);
    let (mut rows, mut line, mut pos) = (0, 0, 0);
    let mut last_state = None;
    while pos < data.len() {
        let (text, next) = match memchr::memchr(b'\n', &data[pos..]) {
            Some(i) => (&data[pos..pos + i], pos + i + 1),
            None => {
                let tail = &data[pos..];
                if !is_blank(tail) {
                    return Err(Reject {
                        line,
                        reason: "unterminated last line".into(),
                        offset: pos,
                    });
                }
                (tail, data.len())
            }
        };
        if !is_blank(text) {
            let text = std::str::from_utf8(text).map_err(|_| Reject {
                line,
                reason: "not UTF-8".into(),
                offset: pos,
            })?;
            let mut de = serde_json::Deserializer::from_str(text);
            let parsed = match stream {
                Some(stream) => Envelope {
                    stream,
                    root: &mut root,
                }
                .deserialize(&mut de),
                None => ValueSeed(&mut root)
                    .deserialize(&mut de)
                    .map(|()| Kind::Record),
            }
            .and_then(|kind| de.end().map(|()| kind));
            match parsed {
                Ok(Kind::Record) => rows += 1,
                Ok(Kind::State) => last_state = Some(line),
                Err(e) => {
                    return Err(Reject {
                        line,
                        reason: reason_of(&e),
                        offset: pos,
                    })
                }
            }
        }
        line += 1;
        pos = next;
    }
    Ok(Part {
        root,
        rows,
        lines: line,
        last_state,
    })
}

/// `data` in one or two parts (split at a newline after the middle), decoded in parallel.
fn decode_all(
    data: &[u8],
    root: &FieldSpec,
    stream: Option<&str>,
    split_bytes: usize,
) -> Result<Vec<Part>, Reject> {
    let cut = if data.len() >= split_bytes.max(2) {
        let mid = data.len() / 2;
        memchr::memchr(b'\n', &data[mid..]).map(|i| mid + i + 1)
    } else {
        None
    };
    let Some(cut) = cut.filter(|&c| c < data.len()) else {
        return decode_part(data, root, stream).map(|p| vec![p]);
    };
    let (first, second) = data.split_at(cut);
    let (a, b) = std::thread::scope(|s| {
        let other = s.spawn(|| decode_part(second, root, stream));
        let a = decode_part(first, root, stream);
        (a, other.join())
    });
    let a = a?;
    let mut b = match b {
        Ok(b) => b,
        Err(_) => {
            return Err(Reject {
                line: a.lines,
                reason: "decoder thread panicked".into(),
                offset: cut,
            })
        }
    }
    .map_err(|r| Reject {
        line: a.lines + r.line,
        reason: r.reason,
        offset: cut + r.offset,
    })?;
    b.last_state = b.last_state.map(|l| a.lines + l).or(a.last_state);
    b.lines += a.lines;
    Ok(vec![a, b])
}

// ------------------------------------------------------------------------------ Python
fn parse_spec(obj: &Bound<'_, PyAny>) -> PyResult<FieldSpec> {
    let (key, kind, nullable, children): (String, String, bool, Vec<Bound<'_, PyAny>>) =
        obj.extract()?;
    let kids = || -> PyResult<Vec<FieldSpec>> { children.iter().map(parse_spec).collect() };
    let kind = match kind.as_str() {
        "int64" => KindSpec::Int64,
        "float64" => KindSpec::Float64,
        "bool" => KindSpec::Bool,
        "string" => KindSpec::Str,
        "json" => KindSpec::Json,
        "timestamp_us_utc" => KindSpec::TimestampUs,
        "date32" => KindSpec::Date32,
        "struct" => KindSpec::Struct(kids()?),
        "list" => {
            let mut items = kids()?;
            if items.len() != 1 {
                return Err(PyValueError::new_err("a list field has exactly one child"));
            }
            KindSpec::List(Box::new(items.remove(0)))
        }
        other => return Err(PyValueError::new_err(format!("unsupported kind {other:?}"))),
    };
    Ok(FieldSpec {
        key,
        nullable,
        kind,
    })
}

/// A column buffer handed to Python without a copy (buffer protocol, read-only):
/// `pa.py_buffer(OwnedBuffer)` keeps it alive as long as Arrow needs it.
#[pyclass(frozen, module = "dativo_native._native")]
struct OwnedBuffer {
    data: Owned,
}

enum Owned {
    U8(Vec<u8>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    F64(Vec<f64>),
}

impl Owned {
    fn bytes(&self) -> &[u8] {
        fn view<T: Copy>(v: &[T]) -> &[u8] {
            // SAFETY: plain numbers (i32/i64/f64) viewed as their bytes, within the same allocation
            unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
        }
        match self {
            Owned::U8(v) => v,
            Owned::I32(v) => view(v),
            Owned::I64(v) => view(v),
            Owned::F64(v) => view(v),
        }
    }
}

#[pymethods]
impl OwnedBuffer {
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let bytes = slf.get().data.bytes();
        let len = ffi::Py_ssize_t::try_from(bytes.len())
            .map_err(|_| PyValueError::new_err("buffer too large"))?;
        // fills a read-only, contiguous byte view and takes a reference to `slf`
        let rc = ffi::PyBuffer_FillInfo(
            view,
            slf.as_ptr(),
            bytes.as_ptr().cast_mut().cast::<c_void>(),
            len,
            1,
            flags,
        );
        if rc == -1 {
            return Err(PyErr::fetch(slf.py()));
        }
        Ok(())
    }

    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {}

    fn __len__(&self) -> usize {
        self.data.bytes().len()
    }
}

fn owned(py: Python<'_>, data: Owned) -> PyResult<Bound<'_, PyAny>> {
    Ok(Bound::new(py, OwnedBuffer { data })?.into_any())
}

/// `(length, null_count, validity or None, [buffers], [children])` of a column (moved out).
fn column_into_py(py: Python<'_>, col: Column) -> PyResult<Bound<'_, PyTuple>> {
    let (len, nulls) = (col.len(), col.nulls);
    let validity = if nulls > 0 {
        owned(py, Owned::U8(col.validity.bytes))?
    } else {
        py.None().into_bound(py)
    };
    let mut buffers = Vec::new();
    let mut children = Vec::new();
    match col.data {
        Data::Int64(v) | Data::TimestampUs(v) => buffers.push(owned(py, Owned::I64(v))?),
        Data::Float64(v) => buffers.push(owned(py, Owned::F64(v))?),
        Data::Date32(v) => buffers.push(owned(py, Owned::I32(v))?),
        Data::Bool(b) => buffers.push(owned(py, Owned::U8(b.bytes))?),
        Data::Str { offsets, bytes } | Data::Json { offsets, bytes, .. } => {
            buffers.push(owned(py, Owned::I32(offsets))?);
            buffers.push(owned(py, Owned::U8(bytes))?);
        }
        Data::Struct(s) => {
            for c in s.children {
                children.push(column_into_py(py, c)?);
            }
        }
        Data::List { offsets, item } => {
            buffers.push(owned(py, Owned::I32(offsets))?);
            children.push(column_into_py(py, *item)?);
        }
    }
    PyTuple::new(
        py,
        [
            len.into_pyobject(py)?.into_any(),
            nulls.into_pyobject(py)?.into_any(),
            validity,
            PyList::new(py, buffers)?.into_any(),
            PyList::new(py, children)?.into_any(),
        ],
    )
}

/// A decoder for one stream's record schema (built once per SCHEMA).
#[pyclass(frozen, module = "dativo_native._native")]
struct Decoder {
    root: FieldSpec,
}

#[pymethods]
impl Decoder {
    #[new]
    fn new(fields: Vec<Bound<'_, PyAny>>) -> PyResult<Self> {
        let children = fields
            .iter()
            .map(parse_spec)
            .collect::<PyResult<Vec<_>>>()?;
        Ok(Decoder {
            root: FieldSpec {
                key: String::new(),
                nullable: false,
                kind: KindSpec::Struct(children),
            },
        })
    }

    /// `(parts, last_state, lines, rejection)`: on success `parts` is a list of
    /// `(rows, [column buffers])`, `last_state` the 0-based line index of the last STATE line
    /// (or None), `lines` the number of lines; on rejection `parts` is None and `rejection`
    /// is `(line_index, reason, byte_offset_of_the_line)`. `stream=None` reads bare record
    /// objects, one per line (BATCH jsonl files).
    #[pyo3(signature = (data, stream, split_bytes = DEFAULT_SPLIT_BYTES))]
    fn decode<'py>(
        &self,
        py: Python<'py>,
        data: PyBuffer<u8>,
        stream: Option<&str>,
        split_bytes: usize,
    ) -> PyResult<Bound<'py, PyTuple>> {
        if !data.is_c_contiguous() {
            return Err(PyValueError::new_err("data must be a contiguous buffer"));
        }
        // SAFETY: the buffer stays exported (and so alive and unmoved) while `data` lives;
        // it is only read.
        let bytes: &[u8] =
            unsafe { std::slice::from_raw_parts(data.buf_ptr().cast::<u8>(), data.len_bytes()) };
        let root = &self.root;
        let result = py.allow_threads(|| {
            // a bug must not take the target down: a panic is a rejection (slower paths run)
            std::panic::catch_unwind(|| decode_all(bytes, root, stream, split_bytes))
                .unwrap_or_else(|_| {
                    Err(Reject {
                        line: 0,
                        reason: "decoder panicked".into(),
                        offset: 0,
                    })
                })
        });
        match result {
            Ok(parts) => {
                let last_state = parts.last().and_then(|p| p.last_state);
                let lines = parts.last().map_or(0, |p| p.lines);
                let mut out = Vec::with_capacity(parts.len());
                for p in parts {
                    let Data::Struct(s) = p.root.data else {
                        unreachable!("the root is a struct")
                    };
                    let cols = s
                        .children
                        .into_iter()
                        .map(|c| column_into_py(py, c))
                        .collect::<PyResult<Vec<_>>>()?;
                    out.push((p.rows, PyList::new(py, cols)?).into_pyobject(py)?);
                }
                (PyList::new(py, out)?, last_state, lines, py.None()).into_pyobject(py)
            }
            Err(r) => {
                (py.None(), py.None(), 0usize, (r.line, r.reason, r.offset)).into_pyobject(py)
            }
        }
    }
}

/// The text a JSON column stores for one JSON value `data` (None: a JSON column would reject
/// it). The Python side checks it against orjson before it uses JSON columns.
#[pyfunction]
fn canonical_json<'py>(py: Python<'py>, data: &[u8]) -> Option<Bound<'py, PyBytes>> {
    let text = std::str::from_utf8(data).ok()?;
    jsonout::canonical(text).map(|out| PyBytes::new(py, &out))
}

/// The number of newline bytes in `data` (what `bytes.count(b"\n")` returns), counted
/// without the GIL: the runner's relay counts every line a tap writes.
#[pyfunction]
fn count_newlines(py: Python<'_>, data: PyBuffer<u8>) -> PyResult<usize> {
    if !data.is_c_contiguous() {
        return Err(PyValueError::new_err("data must be a contiguous buffer"));
    }
    // SAFETY: the buffer stays exported (and so alive and unmoved) while `data` lives;
    // it is only read.
    let bytes: &[u8] =
        unsafe { std::slice::from_raw_parts(data.buf_ptr().cast::<u8>(), data.len_bytes()) };
    Ok(py.allow_threads(|| memchr::memchr_iter(b'\n', bytes).count()))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(canonical_json, m)?)?;
    m.add_function(wrap_pyfunction!(count_newlines, m)?)?;
    m.add_class::<Decoder>()?;
    m.add_class::<OwnedBuffer>()?;
    Ok(())
}
