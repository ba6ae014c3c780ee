/**
 * The magnetization of every STO for one image at every RK4 step (supplement
 * Fig. 8), by one forward pass in this thread's core.
 */
import { Core, Buf } from "../core.js";
import { layout, NetConfig, PRECISION_CODE } from "./config.js";

export interface Dynamics {
  /** time of each state [s], 0 .. T */
  t_s: number[];
  /** state[s][c N + i]: component c of STO i after s steps */
  state: Float64Array[];
}

export function stoDynamics(c: Core, cfg: NetConfig, wcp: Float64Array, theta: ArrayLike<number>, image: Uint8Array, label: number): Dynamics {
  const L = layout(cfg.n, cfg.nIn, cfg.nOut);
  const f32 = cfg.precision === "f32";
  const make = (n: number): Buf<Float32Array | Float64Array> => (f32 ? c.f32(n) : c.f64(n));
  const net = c.exports.stoopt_net_new(PRECISION_CODE[cfg.precision], cfg.n, cfg.nIn, cfg.nOut, cfg.steps, 1);
  if (net === 0) c.check(1, "network");
  const part = (a: number, b: number) => Float64Array.from({ length: b - a }, (_, k) => theta[a + k]);
  const bufs = {
    wcp: make(cfg.n * cfg.n),
    win: make(L.win[1] - L.win[0]),
    wout: make(L.wout[1] - L.wout[0]),
    happl: make(cfg.n),
    gwin: make(L.win[1] - L.win[0]),
    gwout: make(L.wout[1] - L.wout[0]),
    ghappl: make(cfg.n),
    images: c.u8(cfg.nIn),
    labels: c.u8(1),
    params: c.f64(cfg.params.length),
    gphys: c.f64(2),
    stats: c.f64(2),
    out: c.f64((cfg.steps + 1) * 3 * cfg.n),
  };
  try {
    bufs.wcp.view().set(wcp);
    bufs.win.view().set(part(L.win[0], L.win[1]));
    bufs.wout.view().set(part(L.wout[0], L.wout[1]));
    bufs.happl.view().set(part(L.happl[0], L.happl[1]));
    const p = Float64Array.from(cfg.params);
    p[8] = theta[L.jdc];
    p[9] = theta[L.alpha];
    bufs.params.view().set(p);
    bufs.images.view().set(image);
    bufs.labels.view()[0] = label;
    c.check(
      c.exports.stoopt_net_step(net, bufs.params.ptr, cfg.dtS, cfg.cmOe, bufs.wcp.ptr, bufs.win.ptr, bufs.wout.ptr, bufs.happl.ptr, bufs.images.ptr, bufs.labels.ptr, 1, 0, 0, bufs.gwin.ptr, bufs.gwout.ptr, bufs.ghappl.ptr, bufs.gphys.ptr, bufs.stats.ptr),
      "network forward pass",
    );
    c.check(c.exports.stoopt_net_trajectory(net, 0, bufs.out.ptr), "network trajectory");
    const o = bufs.out.view();
    const f = 3 * cfg.n;
    return { t_s: Array.from({ length: cfg.steps + 1 }, (_, s) => s * cfg.dtS), state: Array.from({ length: cfg.steps + 1 }, (_, s) => o.slice(s * f, (s + 1) * f)) };
  } finally {
    for (const b of Object.values(bufs)) b.free();
    c.exports.stoopt_net_free(net);
  }
}
