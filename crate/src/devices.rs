//! Which compute device runs a model: `cpu` (the SIMD kernels: wasm SIMD in the page), `gpu`
//! (WebGPU in the page, Vulkan natively) or `auto` — the GPU where a hardware adapter exists and the
//! model fits its limits, the CPU otherwise. A software adapter (lavapipe, SwiftShader, a fallback
//! adapter) counts as none for Auto (it is slower than the SIMD path), though `gpu` forces it. The
//! page and the CLI share this rule; a later step refines Auto by timing both.

use crate::nn::backend::gpu::{AdapterSummary, Gpu, GpuContext, NoGpu};
use crate::nn::backend::Backend;
use crate::session::{cpu_device, Device, Session};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::rc::Rc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    Cpu,
    Gpu,
    #[default]
    Auto,
}

impl std::str::FromStr for DeviceChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cpu" => Ok(DeviceChoice::Cpu),
            "gpu" => Ok(DeviceChoice::Gpu),
            "auto" => Ok(DeviceChoice::Auto),
            other => Err(Error::setting("device", format!("the device must be cpu, gpu or auto, not '{other}'")).with("got", other)),
        }
    }
}

/// What runs and why: shown by the page (worded from `reason` in the user's language), printed by
/// the CLI's JSON, kept with a run and in its model file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DeviceReport {
    pub choice: DeviceChoice,
    /// `cpu` or `gpu`.
    pub backend: String,
    /// The GPU adapter, when one was found (also when Auto passed it over).
    pub adapter: Option<AdapterSummary>,
    /// `cpu-chosen`, `gpu-chosen`, `auto-gpu`, `auto-no-gpu`, `auto-software`, `auto-too-large`.
    pub reason: String,
    /// The reason in English words (the CLI's; the page has its own in each language).
    pub why: String,
}

/// The rule, given what asking for an adapter gave.
pub fn decide(choice: DeviceChoice, adapter: std::result::Result<&AdapterSummary, &NoGpu>) -> Result<DeviceReport> {
    let report = |backend: &str, reason: &str, why: String| DeviceReport {
        choice,
        backend: backend.into(),
        adapter: adapter.ok().cloned(),
        reason: reason.into(),
        why,
    };
    Ok(match (choice, adapter) {
        (DeviceChoice::Cpu, _) => report("cpu", "cpu-chosen", "the CPU was chosen".into()),
        (DeviceChoice::Gpu, Ok(a)) => report("gpu", "gpu-chosen", format!("the GPU was chosen ({})", a.name)),
        (DeviceChoice::Gpu, Err(e)) => return Err(Error::new("no-gpu", format!("No GPU can be used: {e}. Choose the CPU (or Auto)."))),
        (DeviceChoice::Auto, Err(e)) => report("cpu", "auto-no-gpu", format!("the CPU runs: {e}")),
        (DeviceChoice::Auto, Ok(a)) if a.software => {
            report("cpu", "auto-software", format!("the CPU runs: the GPU adapter '{}' is a software one, slower than the CPU path", a.name))
        }
        (DeviceChoice::Auto, Ok(a)) => report("gpu", "auto-gpu", format!("the GPU runs: '{}' is a hardware adapter", a.name)),
    })
}

/// A decided device, ready to hand to a session (the GPU context is kept for the CPU fallback).
pub struct Chosen {
    pub report: DeviceReport,
    ctx: Option<Rc<GpuContext>>,
    async_reads: bool,
}

impl Chosen {
    /// Decides on an adapter request's outcome. `async_reads`: the browser's backend, which cannot
    /// block on the GPU.
    pub fn new(choice: DeviceChoice, gpu: std::result::Result<Rc<GpuContext>, NoGpu>, async_reads: bool) -> Result<Chosen> {
        let report = decide(choice, gpu.as_ref().map(|c| &c.adapter))?;
        let ctx = if report.backend == "gpu" { gpu.ok() } else { None };
        Ok(Chosen { report, ctx, async_reads })
    }

    /// Natively: asks Vulkan for an adapter only when the choice may use one.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn native(choice: DeviceChoice) -> Result<Chosen> {
        let gpu = if choice == DeviceChoice::Cpu { Err(NoGpu("not asked".into())) } else { GpuContext::request_blocking().map(Rc::new) };
        Chosen::new(choice, gpu, false)
    }

    fn device(&self) -> Device {
        match &self.ctx {
            Some(ctx) => {
                let gpu = if self.async_reads { Gpu::async_only(ctx.clone()) } else { Gpu::new(ctx.clone()) };
                Device::new("gpu", Box::new(gpu) as Box<dyn Backend>)
            }
            None => cpu_device(),
        }
    }

    /// Builds a session on the device. Under Auto, a model over the GPU's limits (`model-too-large`)
    /// runs on the CPU instead, and the report says so.
    pub fn session(mut self, mut build: impl FnMut(Device) -> Result<Session>) -> Result<(Session, DeviceReport)> {
        match build(self.device()) {
            Err(e) if e.code == "model-too-large" && self.report.choice == DeviceChoice::Auto && self.ctx.is_some() => {
                self.ctx = None;
                self.report.backend = "cpu".into();
                self.report.reason = "auto-too-large".into();
                self.report.why = format!("the CPU runs: the model is over this GPU's limits ({})", e.message);
                Ok((build(self.device())?, self.report))
            }
            r => Ok((r?, self.report)),
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;

    fn adapter(software: bool) -> AdapterSummary {
        AdapterSummary { name: "X".into(), backend: "vulkan".into(), device_type: "discrete".into(), software, max_buffer_bytes: 1 << 30, max_binding_bytes: 1 << 27 }
    }

    #[test]
    fn auto_takes_a_hardware_gpu_only() {
        let none = NoGpu("no adapter".into());
        let hw = adapter(false);
        let sw = adapter(true);
        let pick = |c, a| decide(c, a).map(|r| (r.backend, r.reason));
        assert_eq!(pick(DeviceChoice::Auto, Ok(&hw)).unwrap(), ("gpu".into(), "auto-gpu".into()));
        assert_eq!(pick(DeviceChoice::Auto, Ok(&sw)).unwrap(), ("cpu".into(), "auto-software".into()));
        assert_eq!(pick(DeviceChoice::Auto, Err(&none)).unwrap(), ("cpu".into(), "auto-no-gpu".into()));
        assert_eq!(pick(DeviceChoice::Gpu, Ok(&sw)).unwrap(), ("gpu".into(), "gpu-chosen".into()), "a software adapter can be forced");
        assert_eq!(pick(DeviceChoice::Cpu, Ok(&hw)).unwrap(), ("cpu".into(), "cpu-chosen".into()));
        assert_eq!(decide(DeviceChoice::Gpu, Err(&none)).unwrap_err().code, "no-gpu");
    }
}
