/**
 * The serving graph: one tf.layers model, input = normalised feature vector [n, d], output =
 * the three heads' logits [n, 3] in HEADS order, so one predict() call scores all heads.
 * Each head is its own tower (trained separately, with its own label and weighting); the
 * towers only share the input. Layer names `<head>_<i>` are how weights are found again.
 */
import * as tf from '@tensorflow/tfjs';
import { HEADS, type Head } from './heads.js';
import type { DenseWeights, HeadWeights } from './mlp.js';

export const OUTPUT_LAYER = 'logits';

function layerName(head: Head, i: number): string {
  return `${head}_${i}`;
}

/** Builds the serving model and sets its weights. */
export function buildServingModel(heads: Record<Head, HeadWeights>): tf.LayersModel {
  const inDim = (heads.click.layers[0] as DenseWeights).inDim;
  const input = tf.input({ shape: [inDim], name: 'features' });
  const outputs: tf.SymbolicTensor[] = [];
  const denseLayers: Array<{ layer: tf.layers.Layer; w: DenseWeights }> = [];
  for (const head of HEADS) {
    const hw = heads[head];
    if ((hw.layers[0] as DenseWeights).inDim !== inDim) throw new RangeError(`head ${head} expects ${(hw.layers[0] as DenseWeights).inDim} inputs, click expects ${inDim}`);
    let h: tf.SymbolicTensor = input;
    hw.layers.forEach((w, i) => {
      const last = i === hw.layers.length - 1;
      const layer = tf.layers.dense({ units: w.outDim, activation: last ? 'linear' : 'relu', name: layerName(head, i) });
      h = layer.apply(h) as tf.SymbolicTensor;
      denseLayers.push({ layer, w });
    });
    outputs.push(h);
  }
  const out = tf.layers.concatenate({ axis: 1, name: OUTPUT_LAYER }).apply(outputs) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out, name: 'nudge_response' });
  for (const { layer, w } of denseLayers) {
    // setWeights copies into the layer's variables; tidy frees the temporaries.
    tf.tidy(() => layer.setWeights([tf.tensor2d(w.kernel, [w.inDim, w.outDim]), tf.tensor1d(w.bias)]));
  }
  return model;
}

/** Reads the heads' weights back out of a serving model (for the forward pass and checks). */
export function extractHeads(model: tf.LayersModel): Record<Head, HeadWeights> {
  const out = {} as Record<Head, HeadWeights>;
  for (const head of HEADS) {
    const layers: DenseWeights[] = [];
    for (let i = 0; ; i++) {
      const layer = model.layers.find((l) => l.name === layerName(head, i));
      if (layer === undefined) break;
      const [k, b] = layer.getWeights();
      if (k === undefined || b === undefined || k.shape.length !== 2) throw new Error(`layer ${layer.name} is not a dense layer with bias`);
      layers.push({
        inDim: k.shape[0] as number,
        outDim: k.shape[1] as number,
        kernel: Float32Array.from(k.dataSync()),
        bias: Float32Array.from(b.dataSync()),
      });
    }
    if (layers.length === 0) throw new Error(`serving model has no layers for head ${head}`);
    out[head] = { layers };
  }
  return out;
}
