//! Model files: one safetensors container for every model family (docs/formats.md).
//!
//! Tensors are the model's parameters (f32) — or, for count models, counts (u32) — by stable names;
//! the safetensors metadata (string → string) holds everything else as JSON: the format id and
//! version, the family, the run settings (`RunConfig`, which includes the data settings and the seed),
//! the vocabulary, the data statistics, the family's training state, and a checksum of the tensor data.
//! Reading checks, in order: truncation, the container, the format id, the version, the checksum,
//! so each failure gets its own error code.

use crate::session::RunConfig;
use crate::text::{DataStats, Vocab};
use crate::{Error, Result};
use safetensors::{Dtype, SafeTensorError, SafeTensors};
use serde_json::Value;
use std::collections::HashMap;

/// The `format` metadata value.
pub const FORMAT: &str = "lm-playground-model";
/// The `format_version` this build writes and reads.
pub const VERSION: u32 = 1;

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
    fn bytes(&self) -> Vec<u8> {
        match &self.data {
            TensorData::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::U32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }
}

/// Everything a model file holds.
#[derive(Clone, Debug)]
pub struct ModelFile {
    /// Model family id (`fixed-window`, `ngram`, ...).
    pub family: String,
    pub config: RunConfig,
    pub vocab: Vocab,
    pub stats: DataStats,
    /// Family-specific training state (step, loss history, ...), JSON.
    pub state: Value,
    pub tensors: Vec<NamedTensor>,
}

impl ModelFile {
    pub fn tensor(&self, name: &str) -> Option<&NamedTensor> {
        self.tensors.iter().find(|t| t.name == name)
    }
}

/// FNV-1a (64-bit) over every tensor's name and bytes, in name order: detects flipped bits that the
/// container itself cannot.
fn checksum<'a>(tensors: impl Iterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut items: Vec<(&str, &[u8])> = tensors.collect();
    items.sort_by(|a, b| a.0.cmp(b.0));
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, bytes) in items {
        for &b in name.as_bytes().iter().chain([0u8].iter()).chain(bytes) {
            h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("fnv1a64:{h:016x}")
}

pub fn write(file: &ModelFile) -> Result<Vec<u8>> {
    let bytes: Vec<(String, Vec<u8>, Dtype, Vec<usize>)> = file
        .tensors
        .iter()
        .map(|t| {
            let dtype = match t.data {
                TensorData::F32(_) => Dtype::F32,
                TensorData::U32(_) => Dtype::U32,
            };
            (t.name.clone(), t.bytes(), dtype, t.shape.clone())
        })
        .collect();
    let json = |v: &dyn erased::Ser| v.to_json();
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), FORMAT.to_string());
    meta.insert("format_version".to_string(), VERSION.to_string());
    meta.insert("family".to_string(), file.family.clone());
    meta.insert("config".to_string(), json(&file.config));
    meta.insert("vocab".to_string(), json(&file.vocab));
    meta.insert("data_stats".to_string(), json(&file.stats));
    meta.insert("state".to_string(), file.state.to_string());
    meta.insert("writer".to_string(), format!("lmplay {}", env!("CARGO_PKG_VERSION")));
    meta.insert("checksum".to_string(), checksum(bytes.iter().map(|(n, b, _, _)| (n.as_str(), b.as_slice()))));
    let views = bytes
        .iter()
        .map(|(n, b, d, s)| Ok((n.clone(), safetensors::tensor::TensorView::new(*d, s.clone(), b).map_err(|e| Error::new("file-write", e.to_string()))?)))
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, Some(meta)).map_err(|e| Error::new("file-write", format!("cannot write the model file: {e}")))
}

mod erased {
    /// Serializes any settings type to JSON text.
    pub trait Ser {
        fn to_json(&self) -> String;
    }
    impl<T: serde::Serialize> Ser for T {
        fn to_json(&self) -> String {
            serde_json::to_string(self).expect("serializable")
        }
    }
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
    let meta = header.metadata().clone().unwrap_or_default();
    let get = |k: &str| meta.get(k).ok_or_else(|| corrupt(format!("the metadata has no '{k}'")));
    if meta.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(wrong_format("a safetensors file, but not one written by LM Playground"));
    }
    let version: u32 = get("format_version")?.parse().map_err(|_| corrupt("the format version is not a number"))?;
    if version != VERSION {
        return Err(Error::new(
            "file-version",
            format!("This model file has format version {version}, but this version of LM Playground reads version {VERSION}. Open it with a matching version, or train the model again."),
        ));
    }
    let mut tensors = Vec::new();
    for (name, view) in st.tensors() {
        let raw = view.data();
        let data = match view.dtype() {
            Dtype::F32 => TensorData::F32(raw.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect()),
            Dtype::U32 => TensorData::U32(raw.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes"))).collect()),
            d => return Err(corrupt(format!("tensor '{name}' has type {d:?}, expected F32 or U32"))),
        };
        tensors.push(NamedTensor { name, shape: view.shape().to_vec(), data });
    }
    let sum = checksum(st.tensors().into_iter().map(|(n, v)| (n, v.data())).collect::<Vec<_>>().iter().map(|(n, d)| (n.as_str(), *d)));
    if &sum != get("checksum")? {
        return Err(corrupt("its checksum does not match its contents"));
    }
    tensors.sort_by(|a, b| a.name.cmp(&b.name));
    let parse = |k: &str| -> Result<Value> { serde_json::from_str(get(k)?).map_err(|e| corrupt(format!("'{k}' is not valid JSON ({e})"))) };
    let de = |k: &str| -> Result<Value> { parse(k) };
    Ok(ModelFile {
        family: get("family")?.clone(),
        config: serde_json::from_value(de("config")?).map_err(|e| corrupt(format!("invalid settings ({e})")))?,
        vocab: serde_json::from_value(de("vocab")?).map_err(|e| corrupt(format!("invalid vocabulary ({e})")))?,
        stats: serde_json::from_value(de("data_stats")?).map_err(|e| corrupt(format!("invalid statistics ({e})")))?,
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
            config: RunConfig::default(),
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
        let bytes = write(&f).unwrap();
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
        let bytes = write(&sample()).unwrap();
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
        let (from, to) = (b"\"format_version\":\"1\"", b"\"format_version\":\"9\"");
        let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
        let mut newer = bytes.clone();
        newer[at..at + to.len()].copy_from_slice(to);
        assert_eq!(code(&newer), "file-version");
    }
}
