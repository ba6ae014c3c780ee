/**
 * The STO network through the wasm core and the CLI: adjoint vs finite
 * differences (f64), the IDX reader's errors, checkpoints, resume (also
 * after kill -9), eval, the coupling matrix's spectral radius.
 * Small networks and subsets only (N = 8, a few hundred images).
 */
import { describe, expect, it, beforeAll } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { Core } from "../cli/core/wasm.js";
import { Network } from "../cli/core/network.js";
import { encodeIdx, IDX_FILES, loadDataset, DEFAULT_DATA } from "../cli/io/idx.js";
import { defaultParams } from "../cli/model.js";
import { parseTune } from "../cli/network/config.js";
import { couplingMatrix, spectralRadius } from "../cli/network/init.js";

const ROOT = path.resolve(__dirname, "..");
const MAIN = path.join(ROOT, "dist/cli/main.js");
/** Acceptance 1: adjoint vs central finite differences. */
const FD_REL_TOL = 1e-6;

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function tmp(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `stoopt-${name}-`));
}

describe("adjoint gradient through the wasm core (f64, N = 8)", () => {
  const N = 8;
  const data = loadDataset(DEFAULT_DATA);
  const B = 4;
  const nIn = 784;
  const F = 3 * N;
  const c = new Core();
  const L = {
    win: [0, F * nIn] as [number, number],
    wout: [F * nIn, F * nIn + 10 * (F + 1)] as [number, number],
    happl: [0, 0] as [number, number],
    jdc: 0,
    alpha: 0,
  };
  L.happl = [L.wout[1], L.wout[1] + N];
  L.jdc = L.happl[1];
  L.alpha = L.jdc + 1;
  const net = new Network(c, { n: N, nIn, nOut: 10, steps: 10, maxBatch: B, precision: "f64", x0Norm: "unit" }, L, 10);
  const params = defaultParams();
  params[8] = 4.5e-3;
  params[9] = 0.006;
  const wcp = couplingMatrix(c, 5n, N);
  let seed = 12345;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const win = Float64Array.from({ length: F * nIn }, () => (2 * rand() - 1) / 28);
  const wout = Float64Array.from({ length: 10 * (F + 1) }, () => (2 * rand() - 1) / 5);
  const happl = Float64Array.from({ length: N }, () => 1600 + 300 * rand());

  function step(want: number): number {
    const theta = new Float64Array(L.alpha + 1);
    theta.set(win, L.win[0]);
    theta.set(wout, L.wout[0]);
    theta.set(happl, L.happl[0]);
    theta[L.jdc] = params[8];
    theta[L.alpha] = params[9];
    net.setCoupling(wcp);
    net.load(theta, params);
    net.images().set(data.train.images.subarray(0, B * nIn));
    net.labels().set(data.train.labels.subarray(0, B));
    return net.step(50e-12, 10, B, 1, want).loss;
  }
  step(7);
  const gv = new Float64Array(L.alpha + 1);
  net.gradientsInto(gv, 7);
  const g = { win: gv.slice(...L.win), wout: gv.slice(...L.wout), happl: gv.slice(...L.happl), phys: Float64Array.from([gv[L.jdc], gv[L.alpha]]) };

  /** fourth-order central difference */
  function fd(get: () => number, set: (v: number) => void, h: number): number {
    const v0 = get();
    const at = (d: number) => {
      set(v0 + d);
      const l = step(0);
      set(v0);
      return l;
    };
    return (8 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12 * h);
  }
  function rel(a: number, b: number, floor: number): number {
    return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), floor);
  }
  const maxAbs = (v: Float64Array) => v.reduce((m, y) => Math.max(m, Math.abs(y)), 0);
  const top = (v: Float64Array, k: number) =>
    Array.from(v.keys())
      .sort((i, j) => Math.abs(v[j]) - Math.abs(v[i]))
      .slice(0, k);

  it("W_in entries", () => {
    const floor = 1e-3 * maxAbs(g.win);
    for (const k of [...top(g.win, 4), 300, 5000, 10000])
      expect(
        rel(
          g.win[k],
          fd(
            () => win[k],
            (v) => (win[k] = v),
            1e-4,
          ),
          floor,
        ),
      ).toBeLessThan(FD_REL_TOL);
  });
  it("W_out entries (bias included)", () => {
    const floor = 1e-3 * maxAbs(g.wout);
    for (const k of [...top(g.wout, 3), 0, 24, 99, 249])
      expect(
        rel(
          g.wout[k],
          fd(
            () => wout[k],
            (v) => (wout[k] = v),
            1e-4,
          ),
          floor,
        ),
      ).toBeLessThan(FD_REL_TOL);
  });
  it("every H_appl, j_DC and alpha", () => {
    const floor = 1e-3 * maxAbs(g.happl);
    for (let k = 0; k < N; k++)
      expect(
        rel(
          g.happl[k],
          fd(
            () => happl[k],
            (v) => (happl[k] = v),
            0.05,
          ),
          floor,
        ),
      ).toBeLessThan(FD_REL_TOL);
    expect(
      rel(
        g.phys[0],
        fd(
          () => params[8],
          (v) => (params[8] = v),
          2e-6,
        ),
        0,
      ),
    ).toBeLessThan(FD_REL_TOL);
    expect(
      rel(
        g.phys[1],
        fd(
          () => params[9],
          (v) => (params[9] = v),
          2e-5,
        ),
        0,
      ),
    ).toBeLessThan(FD_REL_TOL);
  });
  it("a pixel that is 0 in every image gets exactly zero W_in gradient", () => {
    const p = Array.from({ length: nIn }, (_, i) => i).find((i) => [0, 1, 2, 3].every((b) => data.train.images[b * nIn + i] === 0))!;
    for (let r = 0; r < F; r++) expect(g.win[r * nIn + p]).toBe(0);
  });
});

describe("spectral radius", () => {
  it("complex dominant pair, triangular, and the scaled coupling matrix", () => {
    expect(spectralRadius(Float64Array.from([0, -2, 2, 0]), 2)).toBeCloseTo(2, 12);
    expect(spectralRadius(Float64Array.from([1, 5, 7, 0, -3, 2, 0, 0, 0.5]), 3)).toBeCloseTo(3, 12);
    // rotation by 0.3 rad scaled by 1.5, plus a small real eigenvalue: radius 1.5, power iteration would not converge
    const a = 1.5 * Math.cos(0.3);
    const b = 1.5 * Math.sin(0.3);
    expect(spectralRadius(Float64Array.from([a, -b, 0, b, a, 0, 0, 0, 0.2]), 3)).toBeCloseTo(1.5, 12);
    const w = couplingMatrix(new Core(), 1n, 50);
    expect(spectralRadius(w, 50)).toBeCloseTo(1, 9);
  });
});

describe("tuning cases", () => {
  it("Table II names", () => {
    expect(parseTune("full").groups).toEqual(["win", "wout", "phys"]);
    expect(parseTune("phys,win").name).toBe("win,phys");
    expect(parseTune("wout").groups).toEqual(["wout"]);
    expect(() => parseTune("readout")).toThrow(/not one of/);
  });
});

describe("IDX data errors: one line naming the file, exit 2", () => {
  let good: string;
  beforeAll(() => {
    const d = loadDataset(DEFAULT_DATA);
    good = tmp("idx");
    const n = 40;
    fs.writeFileSync(path.join(good, IDX_FILES.trainImages), encodeIdx([n, 28, 28], d.train.images.subarray(0, n * 784)));
    fs.writeFileSync(path.join(good, IDX_FILES.trainLabels), encodeIdx([n], d.train.labels.subarray(0, n)));
    fs.writeFileSync(path.join(good, IDX_FILES.testImages), encodeIdx([20, 28, 28], d.test.images.subarray(0, 20 * 784)));
    fs.writeFileSync(path.join(good, IDX_FILES.testLabels), encodeIdx([20], d.test.labels.subarray(0, 20)));
  });
  function variant(file: string, mutate: (b: Buffer) => Buffer | undefined): string {
    const dir = tmp("bad");
    for (const f of Object.values(IDX_FILES)) fs.copyFileSync(path.join(good, f), path.join(dir, f));
    const p = path.join(dir, file);
    const out = mutate(fs.readFileSync(p));
    if (out === undefined) fs.unlinkSync(p);
    else fs.writeFileSync(p, out);
    return p;
  }
  const cases: [string, string, (b: Buffer) => Buffer | undefined, RegExp][] = [
    ["wrong magic", IDX_FILES.trainImages, (b) => (b.writeUInt32BE(0x00000801, 0), b), /wrong magic number/],
    ["truncated", IDX_FILES.testImages, (b) => b.subarray(0, b.length - 100), /truncated/],
    ["truncated header", IDX_FILES.trainLabels, (b) => b.subarray(0, 6), /truncated IDX header/],
    ["trailing bytes", IDX_FILES.testLabels, (b) => Buffer.concat([b, Buffer.from([1])]), /trailing bytes/],
    ["dimension/size mismatch", IDX_FILES.trainImages, (b) => (b.writeUInt32BE(27, 8), b), /needs .* bytes/],
    ["image/label count mismatch", IDX_FILES.trainLabels, (b) => (b.writeUInt32BE(39, 4), b.subarray(0, b.length - 1)), /39 labels for 40 images/],
    ["label out of range", IDX_FILES.testLabels, (b) => ((b[10] = 12), b), /label 12/],
    ["missing", IDX_FILES.testImages, () => undefined, /no such file/],
  ];
  for (const [name, file, mutate, msg] of cases) {
    it(name, () => {
      const p = variant(file, mutate);
      const r = cli(["mnist", "--data", path.dirname(p), "--n", "4", "--epochs", "1"]);
      expect(r.code).toBe(2);
      const lines = r.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(p);
      expect(lines[0]).toMatch(msg);
      expect(r.stdout).toBe("");
    });
  }
  it("corrupt gzip", () => {
    const dir = tmp("gz");
    for (const f of Object.values(IDX_FILES)) fs.copyFileSync(path.join(good, f), path.join(dir, f));
    fs.unlinkSync(path.join(dir, IDX_FILES.trainLabels));
    fs.writeFileSync(path.join(dir, IDX_FILES.trainLabels + ".gz"), Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]));
    const r = cli(["mnist", "--data", dir, "--n", "4", "--epochs", "1"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${path.join(dir, IDX_FILES.trainLabels)}.gz: corrupt gzip data`);
  });
  it("gzipped IDX files (as Debian's dataset packages ship them) read like plain ones", () => {
    const dir = tmp("gzok");
    for (const f of Object.values(IDX_FILES)) fs.writeFileSync(path.join(dir, f + ".gz"), gzipSync(fs.readFileSync(path.join(good, f))));
    const a = loadDataset(dir);
    const b = loadDataset(good);
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a.train.count).toBe(40);
  });
  it("test images of another size", () => {
    const dir = tmp("size");
    for (const f of Object.values(IDX_FILES)) fs.copyFileSync(path.join(good, f), path.join(dir, f));
    fs.writeFileSync(path.join(dir, IDX_FILES.testImages), encodeIdx([20, 28, 27], new Uint8Array(20 * 28 * 27)));
    const r = cli(["mnist", "--data", dir, "--n", "4", "--epochs", "1"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/t10k-images-idx3-ubyte: images are 28x27, the training images 28x28/);
  });
});

describe("training runs, checkpoints, resume, eval (N = 8, subsets)", () => {
  const common = ["--n", "8", "--train-limit", "600", "--test-limit", "300", "--batch", "50", "--threads", "2", "--seed", "3"];
  const strip = (csv: string) =>
    csv
      .trim()
      .split("\n")
      .map((l) => l.split(",").slice(0, 10).join(","));
  let straight: string;
  beforeAll(() => {
    straight = tmp("straight");
    const r = cli(["mnist", ...common, "--epochs", "3", "--out", straight]);
    expect(r.code, r.stderr).toBe(0);
  });

  it("writes metrics.csv, result.json and a checkpoint that eval reproduces", () => {
    const rows = strip(fs.readFileSync(path.join(straight, "metrics.csv"), "utf8"));
    expect(rows[0]).toBe("epoch,train_loss,train_accuracy,test_loss,test_accuracy,val_loss,val_accuracy,h_appl_mean_oe,h_appl_var_oe2,j_dc_a");
    expect(rows).toHaveLength(4);
    const res = JSON.parse(fs.readFileSync(path.join(straight, "result.json"), "utf8"));
    expect(res.epochs_done).toBe(3);
    expect(res.data.test_images).toBe(300);
    const e = cli(["eval", path.join(straight, "checkpoint.bin"), "--json"]);
    expect(e.code, e.stderr).toBe(0);
    const out = JSON.parse(e.stdout);
    expect(out.total).toBe(10000);
    expect(out.accuracy).toBeGreaterThan(0.5);
    expect(out.accuracy).toBeLessThanOrEqual(1);
    // the same model on the run's 300 test images: eval with a 300-image copy of the data
    expect(Object.keys(out)).toContain("correct");
  });

  it("--resume continues to exactly the same result", () => {
    const dir = tmp("resume");
    expect(cli(["mnist", ...common, "--epochs", "1", "--out", dir]).code).toBe(0);
    const r = cli(["mnist", "--resume", dir, "--epochs", "3", "--threads", "2"]);
    expect(r.code, r.stderr).toBe(0);
    expect(strip(fs.readFileSync(path.join(dir, "metrics.csv"), "utf8")).map((l) => l.split(",").slice(0, 9).join(","))).toEqual(
      strip(fs.readFileSync(path.join(straight, "metrics.csv"), "utf8")).map((l) => l.split(",").slice(0, 9).join(",")),
    );
  });

  it("refuses a checkpoint that does not match N, tuning case or data", () => {
    let r = cli(["mnist", "--resume", straight, "--n", "16"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/N = 8, not 16/);
    r = cli(["mnist", "--resume", straight, "--tune", "wout"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--tune full, not wout/);
    const other = tmp("other");
    const d = loadDataset(DEFAULT_DATA);
    fs.writeFileSync(path.join(other, IDX_FILES.trainImages), encodeIdx([10, 28, 28], d.train.images.subarray(784, 11 * 784)));
    fs.writeFileSync(path.join(other, IDX_FILES.trainLabels), encodeIdx([10], d.train.labels.subarray(1, 11)));
    fs.writeFileSync(path.join(other, IDX_FILES.testImages), encodeIdx([10, 28, 28], d.test.images.subarray(0, 10 * 784)));
    fs.writeFileSync(path.join(other, IDX_FILES.testLabels), encodeIdx([10], d.test.labels.subarray(0, 10)));
    r = cli(["mnist", "--resume", straight, "--data", other]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not the data the checkpoint was trained on/);
    r = cli(["eval", path.join(other, IDX_FILES.trainLabels)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a valid stoopt checkpoint/);
  });

  it("--precision f64 trains and evaluates", () => {
    const dir = tmp("f64");
    const r = cli([
      "mnist",
      "--n",
      "8",
      "--train-limit",
      "200",
      "--test-limit",
      "100",
      "--batch",
      "50",
      "--epochs",
      "1",
      "--precision",
      "f64",
      "--tune",
      "win,phys",
      "--out",
      dir,
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.config.precision).toBe("f64");
    expect(res.config.tune).toBe("win,phys");
    const e = cli(["eval", path.join(dir, "checkpoint.bin"), "--json"]);
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout).precision).toBe("f64");
  });

  it("a run killed with SIGKILL mid-epoch resumes, losing at most that epoch", async () => {
    const dir = tmp("kill");
    // epochs of a second or more, so that the kill lands inside the second one
    const args = [
      "mnist",
      "--n",
      "32",
      "--train-limit",
      "20000",
      "--test-limit",
      "300",
      "--batch",
      "50",
      "--threads",
      "2",
      "--seed",
      "3",
      "--epochs",
      "3",
      "--out",
      dir,
    ];
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: "ignore" });
    const result = path.join(dir, "result.json");
    // wait for the first finished epoch, then kill during the second
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        if (fs.existsSync(result) && JSON.parse(fs.readFileSync(result, "utf8")).epochs_done === 1) {
          clearInterval(t);
          setTimeout(() => {
            child.kill("SIGKILL");
            resolve();
          }, 100);
        }
      }, 20);
      child.on("exit", () => {
        clearInterval(t);
        reject(new Error("run finished before it could be killed"));
      });
    });
    await new Promise((r) => child.once("exit", r));
    // finished files are whole
    expect(JSON.parse(fs.readFileSync(result, "utf8")).epochs_done).toBe(1);
    expect(fs.readFileSync(path.join(dir, "metrics.csv"), "utf8").trim().split("\n")).toHaveLength(2);
    expect(fs.readdirSync(dir).sort()).toEqual(["checkpoint.bin", "metrics.csv", "result.json"]);
    const r = cli(["mnist", "--resume", dir, "--threads", "2"]);
    expect(r.code, r.stderr).toBe(0);
    // same as an uninterrupted run
    const ref = tmp("kill-ref");
    expect(cli([...args.slice(0, -1), ref]).code).toBe(0);
    const cols = (f: string) =>
      fs
        .readFileSync(f, "utf8")
        .trim()
        .split("\n")
        .map((l) => l.split(",").slice(0, 9).join(","));
    expect(cols(path.join(dir, "metrics.csv"))).toEqual(cols(path.join(ref, "metrics.csv")));
  }, 300_000);
});

describe("--val: a validation split held out from the training images", () => {
  /** IDX folder: the given training images/labels and test images/labels. */
  function idxDir(name: string, trainImages: Uint8Array, trainLabels: Uint8Array, testImages: Uint8Array, testLabels: Uint8Array): string {
    const dir = tmp(name);
    fs.writeFileSync(path.join(dir, IDX_FILES.trainImages), encodeIdx([trainLabels.length, 28, 28], trainImages));
    fs.writeFileSync(path.join(dir, IDX_FILES.trainLabels), encodeIdx([trainLabels.length], trainLabels));
    fs.writeFileSync(path.join(dir, IDX_FILES.testImages), encodeIdx([testLabels.length, 28, 28], testImages));
    fs.writeFileSync(path.join(dir, IDX_FILES.testLabels), encodeIdx([testLabels.length], testLabels));
    return dir;
  }
  it("trains on the first images only and reports on the last ones, as eval does on them", () => {
    const d = loadDataset(DEFAULT_DATA);
    const nTrain = 300;
    const nVal = 100;
    const px = 784;
    const tI = d.train.images.subarray(0, (nTrain + nVal) * px);
    const tL = d.train.labels.subarray(0, nTrain + nVal);
    const teI = d.test.images.subarray(0, 200 * px);
    const teL = d.test.labels.subarray(0, 200);
    const withVal = idxDir("val-all", tI, tL, teI, teL);
    // the same training images without the held-out ones
    const trainOnly = idxDir("val-train", tI.subarray(0, nTrain * px), tL.subarray(0, nTrain), teI, teL);
    // the held-out images as a test set
    const valAsTest = idxDir("val-as-test", tI.subarray(0, nTrain * px), tL.subarray(0, nTrain), tI.subarray(nTrain * px), tL.subarray(nTrain));
    const common = ["mnist", "--n", "8", "--batch", "50", "--threads", "2", "--seed", "5", "--epochs", "2", "--tune", "full"];
    const a = tmp("val-a");
    const b = tmp("val-b");
    const ra = cli([...common, "--data", withVal, "--val", String(nVal), "--out", a]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(ra.stderr).toMatch(/300 training \/ 200 test \/ 100 validation \(held out from training\)/);
    const rb = cli([...common, "--data", trainOnly, "--out", b]);
    expect(rb.code, rb.stderr).toBe(0);
    const resA = JSON.parse(fs.readFileSync(path.join(a, "result.json"), "utf8"));
    const resB = JSON.parse(fs.readFileSync(path.join(b, "result.json"), "utf8"));
    expect(resA.data).toMatchObject({ train_images: nTrain, val_images: nVal });
    // training never saw the held-out images: the same training trajectory and test accuracy
    for (const k of ["train_loss", "train_accuracy", "test_accuracy", "h_appl_var_oe2", "j_dc_a"]) {
      expect(resA.history.map((e: Record<string, number>) => e[k])).toEqual(resB.history.map((e: Record<string, number>) => e[k]));
    }
    expect(resB.history[1].val_accuracy).toBeNull();
    // the validation accuracy is the model's accuracy on exactly those images
    const last = resA.history[1];
    expect(last.val_accuracy).toBeGreaterThan(0.1);
    const e = cli(["eval", path.join(a, "checkpoint.bin"), "--data", valAsTest, "--json"]);
    expect(e.code, e.stderr).toBe(0);
    const out = JSON.parse(e.stdout);
    expect(out.total).toBe(nVal);
    expect(out.accuracy).toBe(last.val_accuracy);
    expect(out.loss).toBeCloseTo(last.val_loss, 10);
    const metrics = fs.readFileSync(path.join(a, "metrics.csv"), "utf8").trim().split("\n");
    const cols = metrics[0].split(",");
    expect(Number(metrics[2].split(",")[cols.indexOf("val_accuracy")])).toBe(last.val_accuracy);
    // refusals
    const bad = cli([...common, "--data", withVal, "--val", "400"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
  }, 120_000);
});

describe("--x0-norm raw (x(0) = W_in u, never renormalized)", () => {
  const small = ["mnist", "--n", "8", "--batch", "5", "--train-limit", "600", "--test-limit", "100", "--threads", "1", "--x0-norm", "raw"];
  it("trains the readout and records the mode in the checkpoint; resume refuses another mode", () => {
    const dir = tmp("raw");
    // the raw features are small (|m| ~ 0.1-0.5): a larger readout rate makes one short epoch enough here
    const r = cli([...small, "--tune", "wout", "--lr-wout", "0.03", "--epochs", "1", "--out", dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/x0-norm=raw/);
    const res = JSON.parse(fs.readFileSync(path.join(dir, "result.json"), "utf8"));
    expect(res.config.x0Norm).toBe("raw");
    expect(res.history[0].train_accuracy).toBeGreaterThan(0.3);
    const e = cli(["eval", path.join(dir, "checkpoint.bin"), "--json"]);
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout).accuracy).toBeGreaterThan(0.3);
    const bad = cli(["mnist", "--resume", dir, "--x0-norm", "unit", "--epochs", "2"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--x0-norm raw, not unit/);
  }, 60_000);
  it("a trained W_in that makes the LLG diverge stops the run with the cause and writes nothing", () => {
    const dir = tmp("raw-div");
    const r = cli([...small, "--tune", "win", "--epochs", "1", "--out", path.join(dir, "out")]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines[lines.length - 1]).toMatch(/^stoopt: error: epoch 1: .*not finite.*--x0-norm raw.*nothing was written$/);
    expect(fs.existsSync(path.join(dir, "out", "result.json"))).toBe(false);
  }, 60_000);
});
