//! The GPU device: an adapter and its device and queue, requested once by whoever owns the run
//! (the worker in the page, the CLI natively) and handed to [`super::Gpu`]. Natively wgpu runs on
//! Vulkan (Mesa's lavapipe on a machine without a GPU); in the browser on WebGPU only.

use serde::{Deserialize, Serialize};

/// What the page and the CLI show about the adapter, and what the Auto choice reads.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AdapterSummary {
    pub name: String,
    /// `vulkan` or `webgpu`.
    pub backend: String,
    /// `discrete`, `integrated`, `virtual`, `cpu` or `other`.
    pub device_type: String,
    /// A software rasteriser (lavapipe, llvmpipe, SwiftShader, a fallback adapter): a GPU in name
    /// only, slower than the wasm SIMD path, so Auto never picks it.
    pub software: bool,
    /// The device's `maxBufferSize` and `maxStorageBufferBindingSize`, in bytes: the largest
    /// buffer part a model may have on it.
    pub max_buffer_bytes: u64,
    pub max_binding_bytes: u64,
}

pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: AdapterSummary,
}

/// Why no GPU device could be had, in words for the user.
#[derive(Clone, Debug)]
pub struct NoGpu(pub String);

impl std::fmt::Display for NoGpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_software(info: &wgpu::AdapterInfo) -> bool {
    let name = info.name.to_lowercase();
    info.device_type == wgpu::DeviceType::Cpu || ["llvmpipe", "lavapipe", "swiftshader", "software"].iter().any(|s| name.contains(s))
}

/// Whether this JS global has `navigator.gpu` (wgpu panics without it).
#[cfg(target_arch = "wasm32")]
fn has_webgpu() -> bool {
    use wasm_bindgen::JsValue;
    let nav = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("navigator")).unwrap_or(JsValue::UNDEFINED);
    !nav.is_undefined() && js_sys::Reflect::get(&nav, &JsValue::from_str("gpu")).is_ok_and(|g| !g.is_undefined() && !g.is_null())
}

/// The browser's words for its adapter: `GPUAdapterInfo.description`, else "vendor architecture"
/// (browsers often leave the description empty; wgpu reads only that).
#[cfg(target_arch = "wasm32")]
async fn web_adapter_name() -> Option<String> {
    use js_sys::Reflect;
    use wasm_bindgen::{JsCast, JsValue};
    let get = |o: &JsValue, k: &str| Reflect::get(o, &JsValue::from_str(k)).ok().filter(|v| !v.is_undefined() && !v.is_null());
    let gpu = get(&get(&js_sys::global(), "navigator")?, "gpu")?;
    let request: js_sys::Function = get(&gpu, "requestAdapter")?.dyn_into().ok()?;
    let promise: js_sys::Promise = request.call0(&gpu).ok()?.dyn_into().ok()?;
    let adapter = wasm_bindgen_futures::JsFuture::from(promise).await.ok().filter(|a| !a.is_null())?;
    let info = get(&adapter, "info")?;
    let field = |k: &str| get(&info, k).and_then(|v| v.as_string()).unwrap_or_default();
    let description = field("description");
    let name = if description.is_empty() { format!("{} {}", field("vendor"), field("architecture")).trim().to_string() } else { description };
    (!name.is_empty()).then_some(name)
}

impl GpuContext {
    /// Requests the default adapter and a device with the adapter's own limits.
    pub async fn request() -> Result<GpuContext, NoGpu> {
        #[cfg(target_arch = "wasm32")]
        let backends = {
            if !has_webgpu() {
                return Err(NoGpu("this browser has no WebGPU (navigator.gpu is missing)".into()));
            }
            wgpu::Backends::BROWSER_WEBGPU
        };
        #[cfg(not(target_arch = "wasm32"))]
        let backends = wgpu::Backends::VULKAN;
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor { backends, ..wgpu::InstanceDescriptor::new_without_display_handle() });
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions { power_preference: wgpu::PowerPreference::HighPerformance, ..Default::default() })
            .await
            .map_err(|e| NoGpu(format!("no GPU adapter was found ({e})")))?;
        #[allow(unused_mut)]
        let mut info = adapter.get_info();
        #[cfg(target_arch = "wasm32")]
        if info.name.is_empty() {
            info.name = web_adapter_name().await.unwrap_or_else(|| "WebGPU adapter".into());
        }
        let limits = adapter.limits();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor { label: Some("lmplay"), required_limits: limits.clone(), ..Default::default() })
            .await
            .map_err(|e| NoGpu(format!("the GPU adapter '{}' refused a device ({e})", info.name)))?;
        let adapter = AdapterSummary {
            name: info.name.clone(),
            backend: if cfg!(target_arch = "wasm32") { "webgpu".into() } else { "vulkan".into() },
            device_type: match info.device_type {
                wgpu::DeviceType::DiscreteGpu => "discrete",
                wgpu::DeviceType::IntegratedGpu => "integrated",
                wgpu::DeviceType::VirtualGpu => "virtual",
                wgpu::DeviceType::Cpu => "cpu",
                wgpu::DeviceType::Other => "other",
            }
            .into(),
            software: is_software(&info),
            max_buffer_bytes: limits.max_buffer_size,
            max_binding_bytes: limits.max_storage_buffer_binding_size,
        };
        Ok(GpuContext { device, queue, adapter })
    }

    /// Natively: the same, blocking (wgpu's native futures are ready at once).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn request_blocking() -> Result<GpuContext, NoGpu> {
        crate::train::readback::block_on(Box::pin(Self::request()))
    }
}
