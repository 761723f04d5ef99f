/**
 * TF.js backend selection, once per process. Preference order:
 *  1. `tensorflow` (@tensorflow/tfjs-node, libtensorflow): fastest, but its install downloads
 *     from Google storage and fails on our machines (notes/platform.md), so it is optional and
 *     imported dynamically: a missing package is the normal case, not an error.
 *  2. `wasm` (@tensorflow/tfjs-backend-wasm): ships its .wasm files inside the package; the
 *     paths are pointed at node_modules so start-up never fetches anything (works offline).
 *  3. `cpu` (plain JS): always there, 5–8× slower than wasm on our model sizes.
 * The caller logs the returned name and exports it as a metric (a replica silently on `cpu`
 * is a capacity problem someone must see).
 */
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendOptions {
  /** Backends to try, in order. Default: tensorflow, wasm, cpu. */
  prefer?: readonly BackendName[];
  /** Called once per backend that could not be initialised, with the reason (for the log). */
  onFallback?: (backend: BackendName, reason: string) => void;
}

let chosen: Promise<BackendName> | undefined;

/** Directory holding the wasm binaries of the installed @tensorflow/tfjs-backend-wasm. */
export function wasmDistDir(): string {
  const require = createRequire(import.meta.url);
  // The package's `main` lives in dist/, next to the .wasm files.
  return join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), sep);
}

async function tryBackend(name: BackendName): Promise<void> {
  if (name === 'tensorflow') {
    // A variable specifier keeps TypeScript from requiring the optional package's types.
    const specifier = '@tensorflow/tfjs-node';
    await import(specifier);
  } else if (name === 'wasm') {
    setWasmPaths(wasmDistDir());
  }
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tf.setBackend('${name}') returned false`);
  await tf.ready();
}

/**
 * Initialises TF.js and returns the backend in use. Idempotent: later calls return the first
 * result (the backend is process-global state in TF.js; switching it under running scorers
 * would move their tensors' home).
 */
export function initBackend(opts: BackendOptions = {}): Promise<BackendName> {
  if (chosen !== undefined) return chosen;
  const order = opts.prefer ?? (['tensorflow', 'wasm', 'cpu'] as const);
  chosen = (async () => {
    for (const name of order) {
      try {
        await tryBackend(name);
        return name;
      } catch (err) {
        opts.onFallback?.(name, err instanceof Error ? err.message : String(err));
      }
    }
    throw new Error(`no TF.js backend could be initialised (tried ${order.join(', ')})`);
  })();
  // A failed initialisation may be retried with other options.
  chosen.catch(() => {
    chosen = undefined;
  });
  return chosen;
}

/** The backend TF.js currently runs on (after initBackend), for logs and metrics. */
export function currentBackend(): string {
  return tf.getBackend();
}
