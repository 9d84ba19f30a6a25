//! Column builders that produce raw Arrow buffers (validity bitmap, offsets, values).

/// A field of the stream's schema, as the Python side describes it.
#[derive(Clone, Debug)]
pub struct FieldSpec {
    /// the JSON key of the field in its parent object
    pub key: String,
    pub nullable: bool,
    pub kind: KindSpec,
}

#[derive(Clone, Debug)]
pub enum KindSpec {
    Int64,
    Float64,
    Bool,
    Str,
    /// any JSON value, stored as its compact text (orjson's, see `jsonout`)
    Json,
    TimestampUs,
    Date32,
    Struct(Vec<FieldSpec>),
    List(Box<FieldSpec>),
}

/// An Arrow validity or boolean bitmap (LSB first).
#[derive(Default)]
pub struct Bitmap {
    pub bytes: Vec<u8>,
    pub len: usize,
}

impl Bitmap {
    #[inline]
    pub fn push(&mut self, bit: bool) {
        let i = self.len;
        if i & 7 == 0 {
            self.bytes.push(0);
        }
        if bit {
            self.bytes[i / 8] |= 1 << (i % 8);
        }
        self.len += 1;
    }
}

pub struct StructData {
    pub keys: Vec<Box<str>>,
    pub children: Vec<Column>,
    /// `seen[i] == generation` when child `i` was set in the object being decoded
    pub seen: Vec<u32>,
    pub generation: u32,
}

pub enum Data {
    Int64(Vec<i64>),
    Float64(Vec<f64>),
    Bool(Bitmap),
    Str {
        offsets: Vec<i32>,
        bytes: Vec<u8>,
    },
    /// JSON text of any value; `keys` is scratch space (the key spans of the objects being
    /// written, to find duplicate keys)
    Json {
        offsets: Vec<i32>,
        bytes: Vec<u8>,
        keys: Vec<(usize, usize)>,
    },
    TimestampUs(Vec<i64>),
    Date32(Vec<i32>),
    Struct(StructData),
    List {
        offsets: Vec<i32>,
        item: Box<Column>,
    },
}

pub struct Column {
    pub nullable: bool,
    pub validity: Bitmap,
    pub nulls: usize,
    pub data: Data,
}

impl Column {
    pub fn new(spec: &FieldSpec) -> Column {
        let data = match &spec.kind {
            KindSpec::Int64 => Data::Int64(Vec::new()),
            KindSpec::Float64 => Data::Float64(Vec::new()),
            KindSpec::Bool => Data::Bool(Bitmap::default()),
            KindSpec::Str => Data::Str {
                offsets: vec![0],
                bytes: Vec::new(),
            },
            KindSpec::Json => Data::Json {
                offsets: vec![0],
                bytes: Vec::new(),
                keys: Vec::new(),
            },
            KindSpec::TimestampUs => Data::TimestampUs(Vec::new()),
            KindSpec::Date32 => Data::Date32(Vec::new()),
            KindSpec::Struct(fields) => Data::Struct(StructData {
                keys: fields
                    .iter()
                    .map(|f| f.key.clone().into_boxed_str())
                    .collect(),
                children: fields.iter().map(Column::new).collect(),
                seen: vec![0; fields.len()],
                generation: 0,
            }),
            KindSpec::List(item) => Data::List {
                offsets: vec![0],
                item: Box::new(Column::new(item)),
            },
        };
        Column {
            nullable: spec.nullable,
            validity: Bitmap::default(),
            nulls: 0,
            data,
        }
    }

    /// Room for about `rows` more values (lists' items and string bytes grow as they come).
    pub fn reserve(&mut self, rows: usize) {
        self.validity.bytes.reserve(rows / 8 + 1);
        match &mut self.data {
            Data::Int64(v) | Data::TimestampUs(v) => v.reserve(rows),
            Data::Float64(v) => v.reserve(rows),
            Data::Bool(b) => b.bytes.reserve(rows / 8 + 1),
            Data::Date32(v) => v.reserve(rows),
            Data::Str { offsets, .. } | Data::Json { offsets, .. } | Data::List { offsets, .. } => {
                offsets.reserve(rows)
            }
            Data::Struct(s) => s.children.iter_mut().for_each(|c| c.reserve(rows)),
        }
    }

    pub fn len(&self) -> usize {
        self.validity.len
    }

    /// Appends a null slot whatever the field's nullability (children of a null struct).
    pub fn push_null_slot(&mut self) {
        self.validity.push(false);
        self.nulls += 1;
        match &mut self.data {
            Data::Int64(v) | Data::TimestampUs(v) => v.push(0),
            Data::Float64(v) => v.push(0.0),
            Data::Bool(b) => b.push(false),
            Data::Date32(v) => v.push(0),
            Data::Str { offsets, .. } | Data::Json { offsets, .. } | Data::List { offsets, .. } => {
                let last = *offsets.last().unwrap_or(&0);
                offsets.push(last);
            }
            Data::Struct(s) => s.children.iter_mut().for_each(Column::push_null_slot),
        }
    }
}
