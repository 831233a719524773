//! Model files: one safetensors container for every model family (docs/formats.md).
//!
//! Tensors are the model's parameters (f32) — or, for count models, counts (u32) — by stable names;
//! the safetensors metadata (string → string) holds everything else as JSON: the format id and
//! version, the family, the run settings (opaque JSON here: this layer knows no family), the
//! vocabulary, the data statistics, the family's training state, and a checksum of all of it.
//! Reading checks, in order: truncation, the container, the format id, the version, the checksum,
//! so each failure gets its own error code.
//!
//! Writing streams: the tensors are moved in and each is copied once, straight into the output, and
//! dropped; reading decodes each tensor once and loaders take them by value. So saving or loading
//! holds about one model's worth of memory besides the file itself.

use crate::text::{DataStats, Vocab};
use crate::{Error, Result};
use safetensors::{SafeTensorError, SafeTensors};
use serde_json::Value;
use std::collections::BTreeMap;

/// The `format` metadata value.
pub const FORMAT: &str = "lm-playground-model";
/// The `format_version` this build writes. Version 1 (whose checksum covered the tensors only) is
/// still read.
pub const VERSION: u32 = 2;

#[derive(Clone, Debug, PartialEq)]
pub enum TensorData {
    F32(Vec<f32>),
    U32(Vec<u32>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: TensorData,
}

impl NamedTensor {
    pub fn f32(name: impl Into<String>, shape: &[usize], data: Vec<f32>) -> Self {
        NamedTensor { name: name.into(), shape: shape.to_vec(), data: TensorData::F32(data) }
    }
    fn dtype(&self) -> &'static str {
        match self.data {
            TensorData::F32(_) => "F32",
            TensorData::U32(_) => "U32",
        }
    }
    fn write_bytes(&self, out: &mut Vec<u8>) {
        match &self.data {
            TensorData::F32(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            TensorData::U32(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        }
    }
}

/// Everything a model file holds.
#[derive(Clone, Debug)]
pub struct ModelFile {
    /// Model family id (`fixed-window`, `ngram`, ...).
    pub family: String,
    /// The run settings (`config::RunConfig`), as JSON.
    pub config: Value,
    pub vocab: Vocab,
    pub stats: DataStats,
    /// Family-specific training state (step, loss history, ...), JSON.
    pub state: Value,
    /// In name order.
    pub tensors: Vec<NamedTensor>,
}

impl ModelFile {
    pub fn tensor(&self, name: &str) -> Option<&NamedTensor> {
        self.tensors.iter().find(|t| t.name == name)
    }
    /// Moves a tensor out (a loader takes each tensor once, without copying it).
    pub fn take(&mut self, name: &str) -> Option<NamedTensor> {
        let i = self.tensors.iter().position(|t| t.name == name)?;
        Some(self.tensors.remove(i))
    }
}

/// FNV-1a (64-bit) over every tensor's name and bytes in name order, then (from version 2) every
/// metadata entry but the checksum, in key order: detects flipped bits that the container cannot.
struct Checksum(u64);

impl Checksum {
    fn new() -> Self {
        Checksum(0xcbf2_9ce4_8422_2325)
    }
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn item(&mut self, name: &str, bytes: &[u8]) {
        self.feed(name.as_bytes());
        self.feed(&[0]);
        self.feed(bytes);
    }
    fn metadata(&mut self, meta: &BTreeMap<String, String>) {
        for (k, v) in meta.iter().filter(|(k, _)| k.as_str() != "checksum") {
            self.item(k, v.as_bytes());
            self.feed(&[0]);
        }
    }
    /// `fnv1a64:` over the tensors only (version 1), `fnv1a64+meta:` over the metadata too
    /// (version 2): a file edited to claim version 1 does not escape the metadata check.
    fn text(&self, with_meta: bool) -> String {
        format!("fnv1a64{}:{:016x}", if with_meta { "+meta" } else { "" }, self.0)
    }
}

/// A tensor's name, shape and type, known before its data is fetched.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorSpec {
    pub name: String,
    pub shape: Vec<usize>,
    /// `F32` or `U32`.
    pub dtype: &'static str,
}

/// Where a writer gets tensors from, one at a time, so a file is written without first holding a
/// host copy of the whole model (a neural model reads each tensor from its device when asked).
pub trait TensorSource {
    fn specs(&self) -> Vec<TensorSpec>;
    fn fetch(&mut self, name: &str) -> NamedTensor;
}

/// Tensors already on the host (n-gram counts, a file read back).
impl TensorSource for Vec<NamedTensor> {
    fn specs(&self) -> Vec<TensorSpec> {
        self.iter().map(|t| TensorSpec { name: t.name.clone(), shape: t.shape.clone(), dtype: t.dtype() }).collect()
    }
    fn fetch(&mut self, name: &str) -> NamedTensor {
        let i = self.iter().position(|t| t.name == name).expect("a tensor of the specs");
        self.swap_remove(i)
    }
}

/// What a model file says besides its tensors (borrowed: nothing is copied to write it).
#[derive(Clone, Copy, Debug)]
pub struct FileMeta<'a> {
    pub family: &'a str,
    pub config: &'a Value,
    pub vocab: &'a Vocab,
    pub stats: &'a DataStats,
    pub state: &'a Value,
}

/// A placeholder for the checksum, patched in place once the data is written: same length as the real one.
const CHECKSUM_PLACEHOLDER: &str = "fnv1a64+meta:????????????????";

/// Writes a model file, streaming: the header first (with a checksum placeholder), then each tensor
/// fetched from `source`, hashed, copied into the output and dropped; then the checksum is patched
/// in. So the writer holds the output and one tensor at a time, never a second copy of the model.
pub fn write_from(meta_in: FileMeta<'_>, source: &mut dyn TensorSource) -> Result<Vec<u8>> {
    let mut specs = source.specs();
    specs.sort_by(|a, b| a.name.cmp(&b.name));
    let mut meta = BTreeMap::new();
    meta.insert("format".to_string(), FORMAT.to_string());
    meta.insert("format_version".to_string(), VERSION.to_string());
    meta.insert("family".to_string(), meta_in.family.to_string());
    meta.insert("config".to_string(), meta_in.config.to_string());
    meta.insert("vocab".to_string(), serde_json::to_string(&meta_in.vocab).expect("json"));
    meta.insert("data_stats".to_string(), serde_json::to_string(&meta_in.stats).expect("json"));
    meta.insert("state".to_string(), meta_in.state.to_string());
    meta.insert("writer".to_string(), format!("lmplay {}", env!("CARGO_PKG_VERSION")));
    meta.insert("checksum".to_string(), CHECKSUM_PLACEHOLDER.to_string());
    // The safetensors header: tensors with contiguous byte ranges in name order, then the metadata.
    let mut header = serde_json::Map::new();
    let mut offset = 0usize;
    for t in &specs {
        let end = offset + t.shape.iter().product::<usize>() * 4;
        header.insert(t.name.clone(), serde_json::json!({ "dtype": t.dtype, "shape": t.shape, "data_offsets": [offset, end] }));
        offset = end;
    }
    header.insert("__metadata__".to_string(), serde_json::to_value(&meta).expect("json"));
    let mut head = serde_json::to_vec(&Value::Object(header)).expect("json");
    // Pad the header with spaces so the data starts 8-byte aligned, as safetensors does.
    while !(8 + head.len()).is_multiple_of(8) {
        head.push(b' ');
    }
    let key = format!("\"checksum\":\"{CHECKSUM_PLACEHOLDER}\"");
    let at = 8 + head.windows(key.len()).position(|w| w == key.as_bytes()).expect("placeholder in the header") + "\"checksum\":\"".len();
    let mut out = Vec::with_capacity(8 + head.len() + offset);
    out.extend_from_slice(&(head.len() as u64).to_le_bytes());
    out.extend_from_slice(&head);
    drop(head);
    let mut sum = Checksum::new();
    for spec in &specs {
        let t = source.fetch(&spec.name);
        let len = match &t.data {
            TensorData::F32(v) => v.len(),
            TensorData::U32(v) => v.len(),
        };
        if t.shape != spec.shape || t.dtype() != spec.dtype || len != spec.shape.iter().product::<usize>() {
            return Err(Error::new("file-write", format!("tensor '{}' changed while the file was written", spec.name)));
        }
        let start = out.len();
        t.write_bytes(&mut out);
        sum.item(&t.name, &out[start..]);
    }
    meta.remove("checksum");
    sum.metadata(&meta);
    out[at..at + CHECKSUM_PLACEHOLDER.len()].copy_from_slice(sum.text(true).as_bytes());
    Ok(out)
}

/// Writes a file whose tensors are already on the host, consuming them.
pub fn write(file: ModelFile) -> Result<Vec<u8>> {
    let ModelFile { family, config, vocab, stats, state, mut tensors } = file;
    write_from(FileMeta { family: &family, config: &config, vocab: &vocab, stats: &stats, state: &state }, &mut tensors)
}

fn truncated() -> Error {
    Error::new("file-truncated", "The model file is incomplete (truncated): the download or upload was cut off. Save it again.")
}
fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::new("file-corrupt", format!("The model file is damaged: {what}."))
}
fn wrong_format(what: &str) -> Error {
    Error::new("file-wrong-format", format!("This is not an LM Playground model file: {what}."))
}

pub fn read(bytes: &[u8]) -> Result<ModelFile> {
    // The container: 8-byte little-endian header length, a JSON header, the data.
    if bytes.len() < 8 {
        return Err(if bytes.is_empty() { wrong_format("the file is empty") } else { truncated() });
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    if n > 100_000_000 || (bytes.len() > 8 && bytes[8] != b'{') {
        return Err(wrong_format("it is not a safetensors file"));
    }
    if (bytes.len() as u64) < 8 + n {
        return Err(truncated());
    }
    let st = match SafeTensors::deserialize(bytes) {
        Ok(st) => st,
        Err(SafeTensorError::MetadataIncompleteBuffer) => {
            // The header is complete; the data section is shorter (truncated) or longer (corrupt).
            let header: Value = serde_json::from_slice(&bytes[8..8 + n as usize]).map_err(corrupt)?;
            let end = header.as_object().into_iter().flatten().filter_map(|(_, v)| v.get("data_offsets")?.get(1)?.as_u64()).max().unwrap_or(0);
            return Err(if (bytes.len() as u64) < 8 + n + end { truncated() } else { corrupt("extra bytes after the data") });
        }
        Err(e) => return Err(corrupt(e)),
    };
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(corrupt)?;
    let meta: BTreeMap<String, String> = header.metadata().clone().unwrap_or_default().into_iter().collect();
    let get = |k: &str| meta.get(k).ok_or_else(|| corrupt(format!("the metadata has no '{k}'")));
    if meta.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(wrong_format("a safetensors file, but not one written by LM Playground"));
    }
    let version: u32 = get("format_version")?.parse().map_err(|_| corrupt("the format version is not a number"))?;
    if !(1..=VERSION).contains(&version) {
        return Err(Error::new(
            "file-version",
            format!("This model file has format version {version}, but this version of LM Playground reads versions 1 to {VERSION}. Open it with a matching version, or train the model again."),
        ));
    }
    let mut views = st.tensors();
    views.sort_by(|a, b| a.0.cmp(&b.0));
    let mut sum = Checksum::new();
    for (name, view) in &views {
        sum.item(name, view.data());
    }
    if version >= 2 {
        sum.metadata(&meta);
    }
    if &sum.text(version >= 2) != get("checksum")? {
        return Err(corrupt("its checksum does not match its contents"));
    }
    let mut tensors = Vec::with_capacity(views.len());
    for (name, view) in views {
        let raw = view.data();
        let data = match view.dtype() {
            safetensors::Dtype::F32 => TensorData::F32(raw.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect()),
            safetensors::Dtype::U32 => TensorData::U32(raw.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes"))).collect()),
            d => return Err(corrupt(format!("tensor '{name}' has type {d:?}, expected F32 or U32"))),
        };
        tensors.push(NamedTensor { name, shape: view.shape().to_vec(), data });
    }
    let parse = |k: &str| -> Result<Value> { serde_json::from_str(get(k)?).map_err(|e| corrupt(format!("'{k}' is not valid JSON ({e})"))) };
    Ok(ModelFile {
        family: get("family")?.clone(),
        config: parse("config")?,
        vocab: serde_json::from_value(parse("vocab")?).map_err(|e| corrupt(format!("invalid vocabulary ({e})")))?,
        stats: serde_json::from_value(parse("data_stats")?).map_err(|e| corrupt(format!("invalid statistics ({e})")))?,
        state: parse("state")?,
        tensors,
    })
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;

    fn sample() -> ModelFile {
        ModelFile {
            family: "fixed-window".into(),
            config: serde_json::json!({ "seed": 1, "model": { "family": "fixed-window" } }),
            vocab: Vocab::from_tokens(["a".to_string(), "b".to_string()], true),
            stats: DataStats::default(),
            state: serde_json::json!({ "step": 3 }),
            tensors: vec![
                NamedTensor::f32("w", &[2, 2], vec![1.0, -2.0, 3.5, 0.25]),
                NamedTensor { name: "counts".into(), shape: vec![3], data: TensorData::U32(vec![1, 2, 3]) },
            ],
        }
    }

    #[test]
    fn round_trip() {
        let f = sample();
        let bytes = write(f.clone()).unwrap();
        let back = read(&bytes).unwrap();
        assert_eq!(back.family, f.family);
        assert_eq!(back.vocab, f.vocab);
        assert_eq!(back.config, f.config);
        assert_eq!(back.state, f.state);
        assert_eq!(back.tensor("w"), f.tensor("w"));
        assert_eq!(back.tensor("counts"), f.tensor("counts"));
    }

    #[test]
    fn damaged_files_get_distinct_errors() {
        let bytes = write(sample()).unwrap();
        let code = |b: &[u8]| read(b).unwrap_err().code;
        // Cut anywhere: in the length, the header or the data.
        for cut in [3, 8, 20, bytes.len() / 2, bytes.len() - 1] {
            assert_eq!(code(&bytes[..cut]), "file-truncated", "cut at {cut}");
        }
        assert_eq!(code(b""), "file-wrong-format");
        assert_eq!(code(b"Hello, this is a text file, not a model at all"), "file-wrong-format");
        // A valid safetensors file from elsewhere.
        let other = safetensors::serialize(Vec::<(String, safetensors::tensor::TensorView)>::new(), None).unwrap();
        assert_eq!(code(&other), "file-wrong-format");
        // A flipped bit in the tensor data.
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 0x10;
        assert_eq!(code(&flipped), "file-corrupt");
        // Garbage in the header.
        let mut bad = bytes.clone();
        bad[9] = b'#';
        assert_eq!(code(&bad), "file-corrupt");
        // Extra bytes at the end.
        let mut long = bytes.clone();
        long.extend_from_slice(&[0; 4]);
        assert_eq!(code(&long), "file-corrupt");
        // Another version.
        let (from, to) = (b"\"format_version\":\"2\"", b"\"format_version\":\"9\"");
        let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
        let mut newer = bytes.clone();
        newer[at..at + to.len()].copy_from_slice(to);
        assert_eq!(code(&newer), "file-version");
    }

    /// The checksum covers the metadata too: a changed setting (here the seed) is damage, not a
    /// different run.
    #[test]
    fn edited_metadata_is_detected() {
        let bytes = write(sample()).unwrap();
        let (from, to) = (br#"\"seed\":1"#.as_slice(), br#"\"seed\":7"#.as_slice());
        let at = bytes.windows(from.len()).position(|w| w == from).expect("seed in the header");
        let mut edited = bytes.clone();
        edited[at..at + to.len()].copy_from_slice(to);
        assert_eq!(read(&edited).unwrap_err().code, "file-corrupt");
    }

    /// A version-2 file edited to claim version 1 (whose checksum skips the metadata) is damage.
    #[test]
    fn a_downgraded_version_does_not_skip_the_metadata_check() {
        let bytes = write(sample()).unwrap();
        let (from, to) = (b"\"format_version\":\"2\"", b"\"format_version\":\"1\"");
        let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
        let mut old = bytes.clone();
        old[at..at + to.len()].copy_from_slice(to);
        assert_eq!(read(&old).unwrap_err().code, "file-corrupt");
    }

    /// Files of version 1 (checksum over the tensors only) still open.
    #[test]
    fn version_1_files_still_open() {
        let f = sample();
        let mut sum = Checksum::new();
        let mut tensors = f.tensors.clone();
        tensors.sort_by(|a, b| a.name.cmp(&b.name));
        let bytes: Vec<(String, Vec<u8>, NamedTensor)> = tensors
            .into_iter()
            .map(|t| {
                let mut b = Vec::new();
                t.write_bytes(&mut b);
                (t.name.clone(), b, t)
            })
            .collect();
        bytes.iter().for_each(|(n, b, _)| sum.item(n, b));
        let meta: std::collections::HashMap<String, String> = [
            ("format", FORMAT.to_string()),
            ("format_version", "1".to_string()),
            ("family", f.family.clone()),
            ("config", f.config.to_string()),
            ("vocab", serde_json::to_string(&f.vocab).unwrap()),
            ("data_stats", serde_json::to_string(&f.stats).unwrap()),
            ("state", f.state.to_string()),
            ("checksum", sum.text(false)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let views: Vec<(String, safetensors::tensor::TensorView)> = bytes
            .iter()
            .map(|(n, b, t)| {
                let d = if t.dtype() == "F32" { safetensors::Dtype::F32 } else { safetensors::Dtype::U32 };
                (n.clone(), safetensors::tensor::TensorView::new(d, t.shape.clone(), b).unwrap())
            })
            .collect();
        let old = safetensors::serialize(views, Some(meta)).unwrap();
        let back = read(&old).unwrap();
        assert_eq!(back.tensor("w"), f.tensor("w"));
        assert_eq!(back.config, f.config);
    }
}
