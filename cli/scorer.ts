import type { NudgeConfig } from '../config/schema.js';
import { errorMessage } from '../errors/index.js';
import type { Logger } from '../processor/logger.js';
import type { ProcessorMetrics } from '../processor/metrics.js';
import { HeuristicScorer } from '../operators/decisions/heuristic-scorer.js';
import type { Scorer } from '../operators/decisions/scorer.js';
import { latestVersion } from '../models/registry.js';
import { MeteredScorer } from '../models/metered-scorer.js';
import { ReloadingScorer } from '../models/reloading-scorer.js';
import { SHIPPED_REGISTRY } from '../models/shipped-model.js';

/**
 * The scorer a replica serves (models.scorer): the heuristics (the default), or with 'learned'
 * the registry's latest model, the model shipped in models/default when no registry is
 * configured, and the heuristics again when the registry holds no model.
 */
export async function buildScorer(config: NudgeConfig, metrics: ProcessorMetrics, log: Logger): Promise<{ scorer: Scorer; stop: () => void }> {
  if (config.models.scorer === 'heuristic') return { scorer: new MeteredScorer(new HeuristicScorer(), metrics), stop: () => undefined };
  const dir = config.models.registryDir !== '' ? config.models.registryDir : SHIPPED_REGISTRY;
  if ((await latestVersion(dir).catch(() => undefined)) === undefined) {
    log.warn({ registryDir: dir }, 'model registry is empty; serving the heuristic scorer');
    return { scorer: new MeteredScorer(new HeuristicScorer(), metrics), stop: () => undefined };
  }
  const { scorer, backend } = await ReloadingScorer.open(dir, {
    chunkRows: config.models.chunkRows,
    driftSampleEvery: config.models.driftSampleEvery,
    shadowCalls: config.models.shadowCalls,
    // tfjs-node is an optional dependency that often does not install: its absence is expected,
    // so it is reported at info; a wasm backend that fails to start is worth a warning.
    backend: {
      onFallback: (b, reason) => {
        if (b === 'tensorflow') log.info({ backend: b, reason }, 'tfjs backend unavailable; falling back');
        else log.warn({ backend: b, reason }, 'tfjs backend unavailable; falling back');
      },
    },
    onSwap: (from, to) => log.info({ from, to }, 'serving a new model version'),
    onShadow: (r) => log.info(r, 'shadow model scored'),
    onError: (err) => log.warn({ err: errorMessage(err) }, 'model registry check failed'),
    // After an upgrade that changed the features, the registry's models wait for retraining:
    // the replica serves the heuristics meanwhile and picks up the first model that fits.
    fallback: new HeuristicScorer(),
    onRefused: (version, reason) => log.warn({ registryDir: dir, version, reason }, 'model version does not fit this build; passed over'),
  });
  scorer.watch(config.models.reloadMs);
  if (backend !== undefined) metrics.tfjsBackend.set({ backend }, 1);
  if (scorer.servingVersion === undefined) log.warn({ registryDir: dir, model: scorer.version }, 'no model in the registry fits this build; serving the heuristic scorer until one does');
  else log.info({ model: scorer.version, backend }, 'serving model');
  // PSI per feature against the training baseline, exported each period from a fresh window.
  const timer = setInterval(() => {
    try {
      const snapshot = scorer.drift?.snapshot();
      if (snapshot === undefined) return;
      for (const f of snapshot) if (Number.isFinite(f.psi)) metrics.featurePsi.set({ feature: f.name }, f.psi);
      scorer.drift?.reset();
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'drift export failed');
    }
  }, config.models.driftExportMs);
  timer.unref();
  return {
    scorer: new MeteredScorer(scorer, metrics),
    stop: () => {
      clearInterval(timer);
      scorer.dispose();
    },
  };
}
