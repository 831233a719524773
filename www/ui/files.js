// Model files: download the trained model (.safetensors), and open one by picker or drag-and-drop
// anywhere on the page. An opened model generates, scores and shows its views without retraining.
import { t } from '../lib/i18n.js';
import { fmtBytes } from '../lib/format.js';
import { download as downloadBlob } from '../lib/export.js';

const $ = (id) => document.getElementById(id);

function download(bytes, name, type = 'application/octet-stream') {
  downloadBlob(new Blob([bytes], { type }), name);
}

export function modelFileName(settings, ext = 'safetensors') {
  const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
  return `lmplay-${settings.model.family}-${stamp}.${ext}`;
}

export function setupFiles(app) {
  app.exportModel = async () => {
    app.showError(null);
    try {
      const bytes = await app.worker.call('save');
      const name = modelFileName(app.state.settings);
      download(bytes, name);
      app.setStatus('files.exported', { name, size: fmtBytes(bytes.byteLength) });
    } catch (e) {
      app.showError(e);
    }
  };
  $('export-model').addEventListener('click', app.exportModel);
  $('export-arpa').addEventListener('click', async () => {
    app.showError(null);
    try {
      const text = await app.worker.call('exportArpa');
      const name = modelFileName(app.state.settings, 'arpa');
      download(new TextEncoder().encode(text), name, 'text/plain;charset=utf-8');
      app.setStatus('files.exported', { name, size: fmtBytes(text.length) });
    } catch (e) {
      app.showError(e);
    }
  });
  $('import-model').addEventListener('change', (e) => {
    const f = e.target.files[0];
    e.target.value = '';
    if (f) openModelFile(app, f);
  });
  // Drop a model file (or a text file) anywhere on the page.
  document.addEventListener('dragover', (e) => { if (e.dataTransfer?.types?.includes('Files')) e.preventDefault(); });
  document.addEventListener('drop', (e) => {
    const f = e.dataTransfer?.files?.[0];
    if (!f) return;
    e.preventDefault();
    if (/\.(safetensors|arpa)$/i.test(f.name)) openModelFile(app, f);
    else app.loadTextFile(f);
  });
}

export async function openModelFile(app, file) {
  app.showError(null);
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (/\.arpa$/i.test(file.name)) await app.openArpa(new TextDecoder().decode(bytes), file.name);
    else await app.openModel(bytes, file.name);
  } catch (e) {
    app.showError(e);
  }
}
