/**
 * Adam (Kingma & Ba; supplement eq. 15-19) with a learning rate per
 * coordinate, bias-corrected moments: beta1 0.9, beta2 0.999, eps 1e-8.
 */
export interface AdamState {
  t: number;
  m: number[];
  v: number[];
}

export class Adam {
  readonly beta1 = 0.9;
  readonly beta2 = 0.999;
  readonly eps = 1e-8;
  state: AdamState;

  constructor(n: number) {
    this.state = { t: 0, m: new Array(n).fill(0), v: new Array(n).fill(0) };
  }

  /** The update to add to the parameters for gradient `g` and learning rates `lr`. */
  step(g: readonly number[], lr: readonly number[]): number[] {
    const s = this.state;
    s.t += 1;
    const c1 = 1 - Math.pow(this.beta1, s.t);
    const c2 = 1 - Math.pow(this.beta2, s.t);
    return g.map((gi, i) => {
      s.m[i] = this.beta1 * s.m[i] + (1 - this.beta1) * gi;
      s.v[i] = this.beta2 * s.v[i] + (1 - this.beta2) * gi * gi;
      return (-lr[i] * (s.m[i] / c1)) / (Math.sqrt(s.v[i] / c2) + this.eps);
    });
  }

  /** Undo the moment update of a rejected step (its gradient was not usable). */
  snapshot(): AdamState {
    return { t: this.state.t, m: [...this.state.m], v: [...this.state.v] };
  }
  restore(s: AdamState): void {
    this.state = { t: s.t, m: [...s.m], v: [...s.v] };
  }
}
