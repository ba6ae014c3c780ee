/** The optimizer's handling of numerical faults, with an evaluator that fails on purpose. */
import { describe, expect, it } from "vitest";
import { Evaluator, FitEvent, fitOnce, Parts, startPoints, invert } from "../cli/fit/sysid.js";
import { PARAMS, defaultParams } from "../cli/model.js";

const H = PARAMS.find((p) => p.name === "H_appl")!;

/** loss |H - 1800| / 100 per sample; NaN wherever `bad(H)` holds. */
function fake(bad: (h: number) => boolean): Evaluator {
  return {
    async evaluate(values: Float64Array, fit: number[], _mode: string, sel: number[]): Promise<Parts> {
      const h = values[H.index];
      const n = sel.length;
      if (bad(h)) return { sumAbs: NaN, count: n, sumSq: NaN, grad: fit.map(() => NaN), jtj: fit.map(() => fit.map(() => NaN)) };
      const l = Math.abs(h - 1800) / 100;
      return { sumAbs: n * l, count: n, sumSq: n * l * l, grad: fit.map(() => (n * Math.sign(h - 1800)) / 100), jtj: fit.map(() => fit.map(() => n / 1e4)) };
    },
    async close() {},
  };
}

const opts = (maxFailures: number) => ({
  base: defaultParams(),
  params: [{ spec: H, range: [1500, 2000] as [number, number], start: 1750 }],
  stages: [{ lr: { H_appl: 50 }, epochs: 20 }],
  mode: "dual" as const,
  batch: 10,
  seed: 1,
  maxFailures,
});

describe("fitOnce", () => {
  it("converges on a clean problem and never leaves the range", async () => {
    const events: FitEvent[] = [];
    const hist: { values: Record<string, number> }[] = [];
    const r = await fitOnce(
      fake(() => false),
      10,
      opts(3),
      0,
      [1750],
      events,
      hist as never,
    );
    expect(Math.abs(r.values.H_appl - 1800)).toBeLessThan(2);
    expect(r.status).toBe("ok");
    for (const h of hist) expect(h.values.H_appl).toBeGreaterThanOrEqual(1500);
  });

  it("rejects a non-finite step, halves the learning rate, reports it, and goes on", async () => {
    // NaN in a narrow band that the fourth step (1600 -> 1650 -> 1700 -> 1750) lands in
    const events: FitEvent[] = [];
    const r = await fitOnce(
      fake((h) => h > 1749 && h < 1751),
      100,
      opts(50),
      0,
      [1600],
      events,
      [],
    );
    expect(events.some((e) => e.kind === "nonfinite_step_rejected")).toBe(true);
    expect(r.status).toBe("ok");
    expect(r.loss).toBeLessThan(0.6); // better than the start (loss 2 at 1600)
  });

  it("keeps to the finite side of a region where the loss is not finite", async () => {
    const events: FitEvent[] = [];
    const r = await fitOnce(
      fake((h) => h > 1760),
      100,
      opts(4),
      0,
      [1700],
      events,
      [],
    );
    expect(events.some((e) => e.kind === "nonfinite_step_rejected")).toBe(true);
    expect(r.values.H_appl).toBeLessThanOrEqual(1760);
    expect(Number.isFinite(r.loss)).toBe(true);
  });

  it("stops after the set number of consecutive failures", async () => {
    const events: FitEvent[] = [];
    const r = await fitOnce(
      fake((h) => h > 1760),
      100,
      opts(4),
      0,
      [1770],
      events,
      [],
    );
    expect(r.status).toBe("failed");
    expect(events.filter((e) => e.kind === "nonfinite_step_rejected").length).toBe(4);
    expect(events.filter((e) => e.kind === "stopped_after_failures").length).toBe(1);
  });

  it("reports a start that never saw a finite loss as failed, with its start values", async () => {
    const r = await fitOnce(
      fake(() => true),
      10,
      opts(2),
      0,
      [1750],
      [],
      [],
    );
    expect(r.status).toBe("failed");
    expect(r.values.H_appl).toBe(1750);
    expect(Number.isFinite(r.loss)).toBe(false); // written as null in JSON, never NaN
  });
});

/** A loss that does not depend on the parameters (constant), or one that halves at every full-data evaluation. */
function scripted(kind: "flat" | "halving"): Evaluator {
  let full = 0;
  return {
    async evaluate(_values: Float64Array, fit: number[], _mode: string, sel: number[]): Promise<Parts> {
      const n = sel.length;
      if (n === 100) full++;
      const l = kind === "flat" ? 0.5 : Math.pow(0.5, full);
      return { sumAbs: n * l, count: n, sumSq: n * l * l, grad: fit.map(() => 0), jtj: fit.map(() => fit.map(() => 0)) };
    },
    async close() {},
  };
}

describe("fitOnce: the plateau hand-over (--patience)", () => {
  it("ends the last stage once the loss on all the data has not improved by min-improvement in `patience` epochs, and says so", async () => {
    const events: FitEvent[] = [];
    const r = await fitOnce(scripted("flat"), 100, { ...opts(3), patience: 2, minImprovement: 0.1 }, 0, [1750], events, []);
    // epoch 1 sets the reference; epochs 2 and 3 are flat: the hand-over follows epoch 3
    expect(r.epochs).toBe(3);
    expect(r.plateau).toBe(true);
    expect(r.status).toBe("ok");
    expect(events.filter((e) => e.kind === "plateau").map((e) => e.epoch)).toEqual([3]);
  });

  it("runs every epoch with patience 0, or while the loss keeps improving", async () => {
    const flat = await fitOnce(scripted("flat"), 100, { ...opts(3), patience: 0, minImprovement: 0.1 }, 0, [1750], [], []);
    expect(flat.epochs).toBe(20);
    expect(flat.plateau).toBe(false);
    const events: FitEvent[] = [];
    const improving = await fitOnce(scripted("halving"), 100, { ...opts(3), patience: 2, minImprovement: 0.1 }, 0, [1750], events, []);
    expect(improving.epochs).toBe(20);
    expect(events.some((e) => e.kind === "plateau")).toBe(false);
  });

  it("watches the last stage only", async () => {
    const two = {
      ...opts(3),
      patience: 2,
      minImprovement: 0.1,
      stages: [
        { lr: { H_appl: 50 }, epochs: 5 },
        { lr: { H_appl: 10 }, epochs: 20 },
      ],
    };
    const r = await fitOnce(scripted("flat"), 100, two, 0, [1750], [], []);
    expect(r.epochs).toBe(5 + 3);
    expect(r.plateau).toBe(true);
  });
});

describe("helpers", () => {
  it("places starts: the first at the given start, the rest spread over the range", () => {
    const pts = startPoints([{ spec: H, range: [1500, 2000], start: 1750 }], 5, 3);
    expect(pts[0]).toEqual([1750]);
    const rest = pts
      .slice(1)
      .map((p) => Math.floor((p[0] - 1500) / 125))
      .sort();
    expect(rest).toEqual([0, 1, 2, 3]); // one per stratum (Latin hypercube)
  });

  it("inverts a small matrix and detects a singular one", () => {
    const inv = invert([
      [4, 2],
      [2, 3],
    ])!;
    expect(inv[0][0]).toBeCloseTo(3 / 8, 14);
    expect(inv[0][1]).toBeCloseTo(-2 / 8, 14);
    expect(
      invert([
        [1, 2],
        [2, 4],
      ]),
    ).toBeNull();
  });
});

/**
 * With an evaluator that takes side work (two threads, cli/fit/pool.ts), an
 * epoch's loss on all the data is evaluated during the next epoch and its
 * checks wait until then; a plateau found late undoes the epoch that ran in
 * the meantime. The fit must be the one the sequential order gives: the same
 * epochs, events, history and result, in every path through the loop.
 */
describe("fitOnce: the full-data loss deferred to the next epoch's side work", () => {
  /** `ev`, taking up to `per` side trials per call (as the lighter thread would). */
  function takingSide(ev: Evaluator, per: number): Evaluator & { sideTrials: number } {
    const out = {
      takesSideWork: true,
      sideTrials: 0,
      async evaluate(values: Float64Array, fit: number[], mode: "loss" | "dual" | "adjoint", sel: number[], side?: { values: Float64Array; sel: number[] }) {
        const parts = await ev.evaluate(values, fit, mode, sel);
        if (!side || side.sel.length === 0) return parts;
        const taken = Math.min(per, side.sel.length);
        out.sideTrials += taken;
        return { ...parts, side: { parts: await ev.evaluate(side.values, [], "loss", side.sel.slice(0, taken)), taken } };
      },
      close: ev.close,
    };
    return out;
  }
  /**
   * |H - 1800| / 100 per sample, floored at `floor` (a plateau once close);
   * a mini-batch's evaluation is NaN where `bad(H, k)` holds, k counting
   * the mini-batches (the same sequence in both orders; full-data losses
   * stay finite).
   */
  const lossOf = (floor: number, bad: (h: number, k: number) => boolean): Evaluator => {
    let k = 0;
    return {
      async evaluate(values: Float64Array, fit: number[], mode: string, sel: number[]): Promise<Parts> {
        const h = values[H.index];
        const n = sel.length;
        if (mode !== "loss") k += 1;
        if (mode !== "loss" && bad(h, k))
          return { sumAbs: NaN, count: n, sumSq: NaN, grad: fit.map(() => NaN), jtj: fit.map(() => fit.map(() => NaN)), jtr: fit.map(() => NaN) };
        const l = Math.max(floor, Math.abs(h - 1800) / 100);
        return {
          sumAbs: n * l,
          count: n,
          sumSq: n * l * l,
          grad: fit.map(() => (n * Math.sign(h - 1800)) / 100),
          jtj: fit.map(() => fit.map(() => n / 1e4)),
          jtr: fit.map(() => 0),
        };
      },
      async close() {},
    };
  };
  const cases: [string, () => Evaluator, Record<string, unknown>, number, (ev: FitEvent[], epochs: number) => void][] = [
    ["every epoch runs (patience 0)", () => lossOf(0, () => false), { patience: 0 }, 1600, (_, n) => expect(n).toBe(20)],
    [
      "the plateau found after epoch 3 undoes epoch 4",
      () => lossOf(0.5, () => false),
      { patience: 2, minImprovement: 0.1 },
      1750,
      (ev, n) => {
        expect(n).toBe(3);
        expect(ev.filter((e) => e.kind === "plateau").map((e) => e.epoch)).toEqual([3]);
      },
    ],
    [
      "the plateau after epoch 3 undoes epoch 4's rejected steps (events, learning rates)",
      () => lossOf(0.5, (_, k) => k === 35 || k === 36),
      { patience: 2, minImprovement: 0.1 },
      1750,
      (ev, n) => {
        expect(n).toBe(3);
        expect(ev.map((e) => e.kind)).toEqual(["plateau"]);
      },
    ],
    [
      "steps rejected in later epochs, the fit going on",
      () => lossOf(0, (h, k) => k % 7 === 3),
      { patience: 0 },
      1500,
      (ev, n) => {
        expect(n).toBe(20);
        expect(ev.filter((e) => e.kind === "nonfinite_step_rejected" && e.epoch > 1).length).toBeGreaterThan(5);
      },
    ],
    [
      "failures in epoch 3 stop the fit",
      () => lossOf(0, (_, k) => k > 25),
      { maxFailures: 3 },
      1500,
      (ev) => {
        expect(ev.filter((e) => e.kind === "stopped_after_failures").map((e) => e.epoch)).toEqual([3]);
      },
    ],
    [
      "failures in epoch 4 while epoch 3's plateau is pending: the plateau stands",
      () => lossOf(0.5, (_, k) => k > 30),
      { maxFailures: 3, patience: 2, minImprovement: 0.1 },
      1750,
      (ev, n) => {
        expect(n).toBe(3);
        expect(ev.map((e) => e.kind)).toEqual(["plateau"]);
      },
    ],
    [
      "two stages, the first ended by its loss, the last watched",
      () => lossOf(0.4, () => false),
      {
        patience: 2,
        minImprovement: 0.1,
        stages: [
          { lr: { H_appl: 50 }, untilLoss: 1, epochs: 20 },
          { lr: { H_appl: 10 }, epochs: 20 },
        ],
      },
      1500,
      (ev) => expect(ev.some((e) => e.kind === "plateau")).toBe(true),
    ],
  ];
  for (const [name, make, extra, start, check] of cases) {
    it(name, async () => {
      const run = async (ev: Evaluator) => {
        const events: FitEvent[] = [];
        const history: unknown[] = [];
        const r = await fitOnce(ev, 100, { ...opts(50), ...extra }, 0, [start], events, history as never);
        return { r, events, history };
      };
      const plain = await run(make());
      const side = takingSide(make(), 8);
      const deferred = await run(side);
      check(plain.events, plain.r.epochs);
      expect(side.sideTrials).toBeGreaterThan(0);
      expect(deferred.events).toEqual(plain.events);
      expect(deferred.history).toEqual(plain.history);
      expect(deferred.r.epochs).toBe(plain.r.epochs);
      expect(deferred.r.plateau).toBe(plain.r.plateau);
      expect(deferred.r.status).toBe(plain.r.status);
      expect(deferred.r.values.H_appl).toBe(plain.r.values.H_appl);
      expect(deferred.r.loss).toBeCloseTo(plain.r.loss, 12);
    });
  }
});
