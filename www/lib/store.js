// What the page keeps in this browser (IndexedDB): the corpus and settings, the training runs, and
// the model file of a run when it fits the quota below (docs/conventions.md, "Saved runs"; docs/ui.md).
//
// Stores: `kv` (the page state), `runs` (one summary per run: what the runs table shows), `curves`
// (each run's loss curve, keyed by the run's id, read only when the run is ticked for comparison) and
// `models` (model files, keyed by the run's id).
import { openDB } from '../vendor/idb/idb.js';

/** A run's model file is kept only if it is at most this big ... */
export const MODEL_QUOTA_BYTES = 16 * 1024 * 1024;
/** ... and all kept model files together stay under this. */
export const TOTAL_MODEL_QUOTA_BYTES = 128 * 1024 * 1024;
/** At most this many runs are kept: past it, the oldest runs that are not pinned are dropped. */
export const MAX_RUNS = 200;
/** At most this many runs can be pinned (so the runs kept stay bounded). */
export const MAX_PINNED = 50;
/** Runs per page of the runs table. */
export const RUNS_PAGE = 20;

let dbPromise = null;

function db() {
  dbPromise ??= openDB('lm-playground', 2, {
    async upgrade(d, oldVersion, _newVersion, tx) {
      if (oldVersion < 1) {
        d.createObjectStore('kv');
        d.createObjectStore('runs', { keyPath: 'id', autoIncrement: true });
        d.createObjectStore('models');
      }
      if (oldVersion < 2) {
        // Version 1 kept each run's curve in its record, so listing the runs read every curve.
        d.createObjectStore('curves');
        let cursor = await tx.objectStore('runs').openCursor();
        while (cursor) {
          const { curve, ...summary } = cursor.value;
          if (curve?.length) await tx.objectStore('curves').put(curve, cursor.key);
          await cursor.update({ ...summary, hasCurve: Boolean(curve?.length), pinned: Boolean(summary.pinned) });
          cursor = await cursor.continue();
        }
      }
    },
  });
  return dbPromise;
}

/** Page state (corpus, settings, generation settings): saved on change, restored on load. */
export async function saveState(state) { await (await db()).put('kv', state, 'page'); }
export async function loadState() { return (await db()).get('kv', 'page'); }

/** Bytes of the model files kept now. */
async function modelBytesKept(d) {
  let used = 0;
  let cursor = await d.transaction('runs').store.openCursor();
  while (cursor) {
    if (cursor.value.modelStored) used += cursor.value.modelBytes;
    cursor = await cursor.continue();
  }
  return used;
}

/**
 * Stores a finished run (its `curve` apart from its summary); keeps its model bytes if they fit the
 * quota; then drops the oldest unpinned runs past MAX_RUNS. Returns { run, dropped: [ids] }.
 */
export async function addRun(run, modelBytes) {
  const d = await db();
  const { curve, ...summary } = run;
  let modelStored = false;
  let modelNote = '';
  if (modelBytes) {
    const used = await modelBytesKept(d);
    if (modelBytes.byteLength > MODEL_QUOTA_BYTES) modelNote = 'too-big';
    else if (used + modelBytes.byteLength > TOTAL_MODEL_QUOTA_BYTES) modelNote = 'quota-full';
    else modelStored = true;
  }
  const rec = { ...summary, pinned: false, hasCurve: Boolean(curve?.length), modelStored, modelNote, modelBytes: modelBytes?.byteLength ?? 0 };
  const tx = d.transaction(['runs', 'models', 'curves'], 'readwrite');
  const id = await tx.objectStore('runs').add(rec);
  if (modelStored) await tx.objectStore('models').put(modelBytes, id);
  if (rec.hasCurve) await tx.objectStore('curves').put(curve, id);
  await tx.done;
  const dropped = await pruneRuns();
  return { run: { ...rec, id }, dropped };
}

/** Drops the oldest unpinned runs (with their curves and models) while more than `max` are kept. */
export async function pruneRuns(max = MAX_RUNS) {
  const tx = (await db()).transaction(['runs', 'models', 'curves'], 'readwrite');
  const runs = tx.objectStore('runs');
  let excess = (await runs.count()) - max;
  const dropped = [];
  let cursor = excess > 0 ? await runs.openCursor() : null; // oldest first
  while (cursor && excess > 0) {
    if (!cursor.value.pinned) {
      const id = cursor.key;
      await Promise.all([cursor.delete(), tx.objectStore('models').delete(id), tx.objectStore('curves').delete(id)]);
      dropped.push(id);
      excess -= 1;
    }
    cursor = await cursor.continue();
  }
  await tx.done;
  return dropped;
}

/**
 * One page of run summaries, newest first (page 0 is the newest), without their curves.
 * Returns { runs, total, page, pages }; a page past the end is clamped to the last one.
 */
export async function runsPage(page = 0, size = RUNS_PAGE) {
  const store = (await db()).transaction('runs').store;
  const total = await store.count();
  const pages = Math.max(1, Math.ceil(total / size));
  const p = Math.min(Math.max(0, Math.floor(page) || 0), pages - 1);
  const runs = [];
  let cursor = await store.openCursor(null, 'prev');
  if (cursor && p > 0) cursor = await cursor.advance(p * size);
  while (cursor && runs.length < size) {
    runs.push(cursor.value);
    cursor = await cursor.continue();
  }
  return { runs, total, page: p, pages };
}

/** A run's summary (undefined if it is gone). */
export async function getRun(id) { return (await db()).get('runs', id); }

/** A run's loss curve: rows [step, train loss, validation loss | null] (undefined if it has none). */
export async function getCurve(id) { return (await db()).get('curves', id); }

export async function getModel(id) { return (await db()).get('models', id); }

/** Pins a run (never dropped for the limit) or unpins it; refuses past MAX_PINNED (code `pin-limit`). */
export async function setPinned(id, pinned) {
  const tx = (await db()).transaction('runs', 'readwrite');
  const run = await tx.store.get(id);
  if (!run) throw Object.assign(new Error(`run ${id} is gone`), { code: 'run-gone' });
  if (pinned && !run.pinned) {
    let n = 0;
    let cursor = await tx.store.openCursor();
    while (cursor) {
      if (cursor.value.pinned) n += 1;
      cursor = await cursor.continue();
    }
    if (n >= MAX_PINNED) throw Object.assign(new Error(`at most ${MAX_PINNED} runs can be pinned`), { code: 'pin-limit' });
  }
  await tx.store.put({ ...run, pinned: Boolean(pinned) });
  await tx.done;
}

export async function deleteRun(id) {
  const tx = (await db()).transaction(['runs', 'models', 'curves'], 'readwrite');
  await Promise.all([tx.objectStore('runs').delete(id), tx.objectStore('models').delete(id), tx.objectStore('curves').delete(id), tx.done]);
}
