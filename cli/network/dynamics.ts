/**
 * The magnetization of every STO for one image at every RK4 step (supplement
 * Fig. 8), by one forward pass in this thread's core.
 */
import { Core } from "../core/wasm.js";
import { layout, NetConfig } from "./config.js";
import { Network } from "../core/network.js";

export interface Dynamics {
  /** time of each state [s], 0 .. T */
  t_s: number[];
  /** state[s][c N + i]: component c of STO i after s steps */
  state: Float64Array[];
}

export function stoDynamics(c: Core, cfg: NetConfig, wcp: Float64Array, theta: Float32Array | Float64Array, image: Uint8Array, label: number): Dynamics {
  const b = new Network(c, { ...cfg, maxBatch: 1 }, layout(cfg.n, cfg.nIn, cfg.nOut), cfg.params.length);
  const f = 3 * cfg.n;
  try {
    b.setCoupling(wcp);
    b.load(theta, cfg.params);
    b.images().set(image);
    b.labels()[0] = label;
    b.step(cfg.dtS, cfg.cmOe, 1, 0, 0);
    const o = b.trajectory(0);
    return {
      t_s: Array.from({ length: cfg.steps + 1 }, (_, s) => s * cfg.dtS),
      state: Array.from({ length: cfg.steps + 1 }, (_, s) => o.slice(s * f, (s + 1) * f)),
    };
  } finally {
    b.free();
  }
}
