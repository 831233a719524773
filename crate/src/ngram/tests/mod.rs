#[cfg(not(target_arch = "wasm32"))]
mod kenlm;
