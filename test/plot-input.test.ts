/**
 * Issue 11, class 7: `stoopt plot` checks what it reads. Result files are
 * validated against their schema (exit 2 naming the field), and a sysid
 * result's teacher is re-read only if its hash matches the recorded one
 * (refused, or drawn with a warning under --force). Table-driven, with the
 * folder's state afterwards (a refused plot writes nothing).
 */
import { beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { runCli } from "./helpers.js";
import { checkCase, teacherIn, tinyData } from "./reliability.helpers.js";

const j = path.join;
let base = "";
let sysid: Record<string, any> = {};
let landscape: Record<string, any> = {};
let mnist: Record<string, any> = {};

beforeAll(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), "stoopt-plotin-"));
  const t = teacherIn(base);
  expect(runCli(["sysid", t, "--fit", "H_appl", "--epochs", "2", "-o", j(base, "fit.json")]).code).toBe(0);
  sysid = JSON.parse(fs.readFileSync(j(base, "fit.json"), "utf8"));
  expect(runCli(["landscape", t, "--x", "H_appl", "--y", "j_DC", "--grid", "3x2", "-o", j(base, "ls")]).code).toBe(0);
  landscape = JSON.parse(fs.readFileSync(j(base, "ls/landscape.json"), "utf8"));
  expect(runCli(["mnist", "--data", tinyData(), "--n", "4", "--epochs", "1", "--batch", "20", "--threads", "1", "--out", j(base, "run")]).code).toBe(0);
  mnist = JSON.parse(fs.readFileSync(j(base, "run/result.json"), "utf8"));
});

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));

interface Case {
  name: string;
  result: () => unknown;
  /** the teacher as it is in the folder (default: the one the fit read) */
  teacher?: (file: string) => void;
  extra?: string[];
  code: number;
  message: string | RegExp;
  created?: string[];
}

/** each figure as SVG with its data as CSV beside it */
const SVGS = ["fig", ...["loss", "H_appl", "trajectory-before", "trajectory-after"].flatMap((n) => [`fig/${n}.svg`, `fig/${n}.csv`])];

const cases: Case[] = [
  { name: "a valid sysid result draws its figures", result: () => sysid, code: 0, message: "wrote", created: SVGS },
  { name: "sysid: 'fit' missing", result: () => ({ ...sysid, fit: undefined }), code: 2, message: "r.json: field 'fit' is missing; expected an object" },
  {
    name: "sysid: a fitted value that is a string",
    result: () => ((r) => ((r.fit.H_appl.value = "1750"), r))(clone(sysid)),
    code: 2,
    message: `field 'fit.H_appl.value' is the string "1750"; expected a finite number`,
  },
  {
    name: "sysid: a range that is not [min, max]",
    result: () => ((r) => ((r.fit.H_appl.range = [2000, 1500]), r))(clone(sysid)),
    code: 2,
    message: "field 'fit.H_appl.range'",
  },
  {
    name: "sysid: an unknown parameter",
    result: () => ((r) => ((r.fit.bogus = r.fit.H_appl), r))(clone(sysid)),
    code: 2,
    message: "field 'fit.bogus': 'bogus' is not one of",
  },
  {
    name: "sysid: a history loss that is not a number",
    result: () => ((r) => ((r.history[0].loss = "x"), r))(clone(sysid)),
    code: 2,
    message: "field 'history[0].loss'",
  },
  {
    name: "sysid: settings.dt_s missing",
    result: () => ((r) => (delete r.settings.dt_s, r))(clone(sysid)),
    code: 2,
    message: "field 'settings.dt_s' is missing; expected a finite number",
  },
  {
    name: "sysid: the teacher changed since the fit",
    result: () => sysid,
    teacher: (f) => fs.appendFileSync(f, "9,0,1,0,0\n9,5e-11,1,0,0\n"),
    code: 2,
    message:
      /t\.csv is not the teacher the result was fitted to \(sha256 [0-9a-f]{12}\.\.\., the result records [0-9a-f]{12}\.\.\.\); give the right file with --teacher, or --force/,
  },
  {
    name: "sysid: the teacher changed, --force draws it with a warning",
    result: () => sysid,
    teacher: (f) => fs.appendFileSync(f, "9,0,1,0,0\n9,5e-11,1,0,0\n"),
    extra: ["--force"],
    code: 0,
    message: "drawing it anyway (--force)",
    created: SVGS,
  },
  {
    name: "landscape: loss of the wrong length",
    result: () => ((r) => (r.loss.pop(), r))(clone(landscape)),
    code: 2,
    message: "field 'loss' has 5 values; expected x.n * y.n = 3 * 2",
  },
  { name: "landscape: a loss that is a string", result: () => ((r) => ((r.loss[1] = "0.1"), r))(clone(landscape)), code: 2, message: "field 'loss[1]'" },
  { name: "landscape: x missing", result: () => ({ ...landscape, x: undefined }), code: 2, message: "field 'x' is missing" },
  {
    name: "mnist: no epoch in the history",
    result: () => ({ ...mnist, history: [] }),
    code: 2,
    message: "field 'history' is an array; expected an array of at least 1 entries",
  },
  {
    name: "mnist: test_accuracy missing",
    result: () => ((r) => (delete r.history[0].test_accuracy, r))(clone(mnist)),
    code: 2,
    message: "field 'history[0].test_accuracy' is missing",
  },
  { name: "not an object", result: () => [1, 2], code: 2, message: "not a stoopt result (expected a JSON object)" },
  { name: "an unknown command", result: () => ({ command: "dance" }), code: 2, message: 'its "command" is "dance"' },
];

describe("class 7: plot validates its input", () => {
  for (const c of cases) {
    it(
      c.name,
      () => {
        checkCase(
          c.name,
          (d) => {
            const t = teacherIn(d);
            c.teacher?.(t);
            const r = clone(c.result()) as Record<string, any>;
            if (r && typeof r === "object" && !Array.isArray(r) && r.input) r.input.file = t;
            fs.writeFileSync(j(d, "r.json"), JSON.stringify(r));
          },
          (d) => ["plot", j(d, "r.json"), "-o", j(d, "fig"), ...(c.extra ?? [])],
          { code: c.code, message: c.message, created: c.created },
        );
      },
      60_000,
    );
  }
});
