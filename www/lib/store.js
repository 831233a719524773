// What the page keeps in this browser (IndexedDB): the corpus and settings, every training run, and
// the model file of a run when it fits the quota below (docs/conventions.md, "Saved runs").
import { openDB } from '../vendor/idb/idb.js';

/** A run's model file is kept only if it is at most this big ... */
export const MODEL_QUOTA_BYTES = 16 * 1024 * 1024;
/** ... and all kept model files together stay under this. */
export const TOTAL_MODEL_QUOTA_BYTES = 128 * 1024 * 1024;

let dbPromise = null;

function db() {
  dbPromise ??= openDB('lm-playground', 1, {
    upgrade(d) {
      d.createObjectStore('kv');
      d.createObjectStore('runs', { keyPath: 'id', autoIncrement: true });
      d.createObjectStore('models');
    },
  });
  return dbPromise;
}

/** Page state (corpus, settings, generation settings): saved on change, restored on load. */
export async function saveState(state) { await (await db()).put('kv', state, 'page'); }
export async function loadState() { return (await db()).get('kv', 'page'); }

/** Stores a finished run; keeps its model bytes if they fit the quota. Returns the stored run. */
export async function addRun(run, modelBytes) {
  const d = await db();
  let modelStored = false;
  let modelNote = '';
  if (modelBytes) {
    const used = (await d.getAll('runs')).reduce((s, r) => s + (r.modelStored ? r.modelBytes : 0), 0);
    if (modelBytes.byteLength > MODEL_QUOTA_BYTES) modelNote = 'too-big';
    else if (used + modelBytes.byteLength > TOTAL_MODEL_QUOTA_BYTES) modelNote = 'quota-full';
    else modelStored = true;
  }
  const rec = { ...run, modelStored, modelNote, modelBytes: modelBytes?.byteLength ?? 0 };
  const tx = d.transaction(['runs', 'models'], 'readwrite');
  const id = await tx.objectStore('runs').add(rec);
  if (modelStored) await tx.objectStore('models').put(modelBytes, id);
  await tx.done;
  return { ...rec, id };
}

export async function listRuns() { return (await db()).getAll('runs'); }

export async function getModel(id) { return (await db()).get('models', id); }

export async function deleteRun(id) {
  const tx = (await db()).transaction(['runs', 'models'], 'readwrite');
  await Promise.all([tx.objectStore('runs').delete(id), tx.objectStore('models').delete(id), tx.done]);
}
