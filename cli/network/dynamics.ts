/**
 * The magnetization of every STO for one image at every RK4 step (supplement
 * Fig. 8), by one forward pass in this thread's core.
 */
import { Core } from "../core.js";
import { layout, NetConfig } from "./config.js";
import { NetBuffers } from "./buffers.js";

export interface Dynamics {
  /** time of each state [s], 0 .. T */
  t_s: number[];
  /** state[s][c N + i]: component c of STO i after s steps */
  state: Float64Array[];
}

export function stoDynamics(c: Core, cfg: NetConfig, wcp: Float64Array, theta: Float32Array | Float64Array, image: Uint8Array, label: number): Dynamics {
  const b = new NetBuffers(c, { ...cfg, maxBatch: 1 }, layout(cfg.n, cfg.nIn, cfg.nOut), cfg.params.length);
  const f = 3 * cfg.n;
  const out = c.f64((cfg.steps + 1) * f);
  try {
    b.wcp.view().set(wcp);
    b.load(theta, cfg.params);
    b.images.view().set(image);
    b.labels.view()[0] = label;
    b.step(cfg.dtS, cfg.cmOe, 1, 0, 0);
    c.check(c.exports.stoopt_net_trajectory(b.net, 0, out.ptr), "network trajectory");
    const o = out.view();
    return {
      t_s: Array.from({ length: cfg.steps + 1 }, (_, s) => s * cfg.dtS),
      state: Array.from({ length: cfg.steps + 1 }, (_, s) => o.slice(s * f, (s + 1) * f)),
    };
  } finally {
    out.free();
    b.free();
  }
}
