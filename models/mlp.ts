/**
 * A small multilayer perceptron as plain TF.js variables, for training: relu hidden layers and
 * one logit output. Plain variables (not tf.layers) because training needs a custom weighted
 * loss (FNW weights depend on the model's own stop-gradient prediction), which fit() cannot
 * express. The trained weights go into a tf.layers model for serving (serving-model.ts).
 *
 * Dense layers use a custom gradient: TF.js's default gradient of matMul uses the transposed
 * matMul variants (transposeA / transposeB), which the wasm backend runs several times slower
 * than an explicit transpose followed by a plain matMul (measured here, xᵀ·dy for x 1,024×40
 * and dy 1,024×32: 4.8 ms against 1.7 ms including the transpose).
 */
import * as tf from '@tensorflow/tfjs';
import { normal, type Rng } from './random.js';

/** One dense layer's weights, row-major kernel [inDim, outDim]. */
export interface DenseWeights {
  inDim: number;
  outDim: number;
  kernel: Float32Array;
  bias: Float32Array;
}

/** A head: hidden layers (relu) then a 1-unit logit layer. */
export interface HeadWeights {
  layers: DenseWeights[];
}

// customGrad's callback type lists inputs and the save function in one rest parameter.
const dense = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, w, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const g = dy as tf.Tensor2D;
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(g, tf.transpose(ws)), tf.matMul(tf.transpose(xs), g), tf.sum(g, 0)];
    },
  };
});

export class TrainableMlp {
  readonly inDim: number;
  readonly sizes: number[];
  readonly #kernels: tf.Variable[] = [];
  readonly #biases: tf.Variable[] = [];

  /**
   * He-normal initial kernels (relu layers) from a seeded JS RNG, so the same seed gives the
   * same model on every backend; the output bias starts at logit(baseRate) so a rare head
   * (unsubscribe) does not spend its first epochs learning the mean.
   */
  constructor(inDim: number, hidden: readonly number[], rng: Rng, baseRate = 0.5) {
    this.inDim = inDim;
    this.sizes = [inDim, ...hidden, 1];
    for (let l = 0; l + 1 < this.sizes.length; l++) {
      const fanIn = this.sizes[l] as number;
      const fanOut = this.sizes[l + 1] as number;
      const std = Math.sqrt(2 / fanIn);
      const k = new Float32Array(fanIn * fanOut);
      for (let i = 0; i < k.length; i++) k[i] = normal(rng) * std;
      const last = l + 2 === this.sizes.length;
      const q = Math.min(1 - 1e-4, Math.max(1e-4, baseRate));
      const b = new Float32Array(fanOut).fill(last ? Math.log(q / (1 - q)) : 0);
      // tidy frees the initial-value tensors; the variables keep their own reference to the data.
      this.#kernels.push(tf.tidy(() => tf.variable(tf.tensor2d(k, [fanIn, fanOut]), true)));
      this.#biases.push(tf.tidy(() => tf.variable(tf.tensor1d(b), true)));
    }
  }

  get variables(): tf.Variable[] {
    return [...this.#kernels, ...this.#biases];
  }

  /** Logits [n, 1] of a normalised batch [n, inDim]. Call inside tf.tidy or an optimizer closure. */
  logits(x: tf.Tensor2D): tf.Tensor2D {
    let h: tf.Tensor = x;
    const last = this.#kernels.length - 1;
    for (let l = 0; l <= last; l++) {
      h = dense(h, this.#kernels[l] as tf.Variable, this.#biases[l] as tf.Variable);
      if (l < last) h = tf.relu(h);
    }
    return h as tf.Tensor2D;
  }

  /** A copy of the current weights (for early stopping's best model and for export). */
  snapshot(): HeadWeights {
    return {
      layers: this.#kernels.map((k, l) => ({
        inDim: this.sizes[l] as number,
        outDim: this.sizes[l + 1] as number,
        // Copies: the cpu backend's dataSync returns its internal array.
        kernel: Float32Array.from(k.dataSync()),
        bias: Float32Array.from((this.#biases[l] as tf.Variable).dataSync()),
      })),
    };
  }

  restore(w: HeadWeights): void {
    // tidy frees the temporaries; the variables keep their own reference to the data.
    tf.tidy(() => {
      w.layers.forEach((layer, l) => {
        (this.#kernels[l] as tf.Variable).assign(tf.tensor2d(layer.kernel, [layer.inDim, layer.outDim]));
        (this.#biases[l] as tf.Variable).assign(tf.tensor1d(layer.bias));
      });
    });
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}
