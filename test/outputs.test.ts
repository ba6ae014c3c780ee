/**
 * Issue 11, classes 1 and 2: outputs never destroy what they should not, and
 * write errors are reported. Table-driven: each case with its exit code, its
 * message, and the state of the scratch folder afterwards (everything that
 * existed is unchanged unless the case names it as replaced).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { runCli } from "./helpers.js";
import { checkCase, Expect, TEACHER, teacherIn, tinyData } from "./reliability.helpers.js";

let data = "";
beforeAll(() => {
  data = tinyData();
});
const MNIST = () => ["mnist", "--data", data, "--n", "4", "--epochs", "1", "--batch", "20", "--threads", "1"];
const FIT = ["--fit", "H_appl", "--epochs", "1"];
const SWEEP = ["spectrum", "--sweep", "j_DC=3mA:4mA:1mA", "--no-threshold", "--washout", "1ns", "--max-washout", "1ns", "--duration", "2ns", "--threads", "1"];
const RESERVOIR = ["reservoir", "--n", "2", "--washout", "20", "--train", "100", "--val", "50", "--test", "50", "--epochs", "1"];
const SERIES = ["u,y", ...Array.from({ length: 240 }, (_, i) => `${(i % 7) / 7},${(i % 5) / 5}`)].join("\n") + "\n";
const write = (f: string, text = "old\n") => fs.writeFileSync(f, text);
const j = path.join;

interface Case extends Expect {
  name: string;
  setup: (dir: string) => void;
  args: (dir: string) => string[];
}

const class1: Case[] = [
  {
    name: "sysid -o is the teacher",
    setup: (d) => teacherIn(d),
    args: (d) => ["sysid", j(d, "t.csv"), ...FIT, "-o", j(d, "t.csv")],
    code: 2,
    message: "is the teacher this command reads",
  },
  {
    name: "sysid --history is the teacher",
    setup: (d) => teacherIn(d),
    args: (d) => ["sysid", j(d, "t.csv"), ...FIT, "--history", j(d, "t.csv")],
    code: 2,
    message: "--history:",
  },
  {
    name: "sysid -o is a symlink to the teacher",
    setup: (d) => (teacherIn(d), fs.symlinkSync("t.csv", j(d, "fit.json"))),
    args: (d) => ["sysid", j(d, "t.csv"), ...FIT, "-o", j(d, "fit.json")],
    code: 2,
    message: "(the same file as",
  },
  {
    name: "sysid -o is a hard link to the teacher",
    setup: (d) => (teacherIn(d), fs.linkSync(j(d, "t.csv"), j(d, "fit.json"))),
    args: (d) => ["sysid", j(d, "t.csv"), ...FIT, "-o", j(d, "fit.json")],
    code: 2,
    message: "is the teacher",
  },
  {
    name: "landscape -o folder would overwrite its --result",
    setup: (d) => (teacherIn(d), write(j(d, "landscape.json"), "{}")),
    args: (d) => ["landscape", j(d, "t.csv"), "--x", "H_appl", "--y", "j_DC", "--grid", "2x2", "--result", j(d, "landscape.json"), "-o", d],
    code: 2,
    message: "is the --result file this command reads",
  },
  {
    name: "sysid -o through a symlink writes its target and keeps the link",
    setup: (d) => (teacherIn(d), write(j(d, "real.json")), fs.symlinkSync("real.json", j(d, "fit.json"))),
    args: (d) => ["sysid", j(d, "t.csv"), ...FIT, "-o", j(d, "fit.json")],
    code: 0,
    message: "loss",
    replaced: ["real.json"],
  },
  {
    name: "sysid -o through a dangling symlink creates its target",
    setup: (d) => (teacherIn(d), fs.symlinkSync("new.json", j(d, "fit.json"))),
    args: (d) => ["sysid", j(d, "t.csv"), ...FIT, "-o", j(d, "fit.json")],
    code: 0,
    message: "loss",
    created: ["new.json"],
  },
  {
    name: "sysid -o is the teacher's simulate sidecar",
    setup: (d) => (teacherIn(d), fs.copyFileSync(`${TEACHER}.json`, j(d, "t.csv.json"))),
    args: (d) => ["sysid", j(d, "t.csv"), ...FIT, "-o", j(d, "t.csv.json")],
    code: 2,
    message: "is the teacher's settings sidecar this command reads",
  },
  {
    name: "sysid -o is a folder",
    setup: (d) => (teacherIn(d), fs.mkdirSync(j(d, "sub"))),
    args: (d) => ["sysid", j(d, "t.csv"), ...FIT, "-o", j(d, "sub")],
    code: 2,
    message: "is a folder; expected a file name",
  },
  {
    name: "sysid -o in a missing folder",
    setup: (d) => teacherIn(d),
    args: (d) => ["sysid", j(d, "t.csv"), ...FIT, "-o", j(d, "missing/fit.json")],
    code: 2,
    message: "does not exist",
  },
  {
    name: "sysid --history under a file",
    setup: (d) => teacherIn(d),
    args: (d) => ["sysid", j(d, "t.csv"), ...FIT, "--history", j(d, "t.csv/h.csv")],
    code: 2,
    message: "is not a folder",
  },
  {
    name: "sysid --plot is a file",
    setup: (d) => (teacherIn(d), write(j(d, "p"))),
    args: (d) => ["sysid", j(d, "t.csv"), ...FIT, "--plot", j(d, "p")],
    code: 2,
    message: "is a file; expected a folder",
  },
  {
    name: "simulate -o /dev/null writes through and leaves the device (no sidecar)",
    setup: () => undefined,
    args: () => ["simulate", "--duration", "0.1ns", "-o", "/dev/null"],
    code: 0,
    message: "",
  },
  {
    name: "simulate -o a regular file replaces it, sidecar beside it",
    setup: (d) => write(j(d, "a.csv")),
    args: (d) => ["simulate", "--duration", "0.1ns", "-o", j(d, "a.csv")],
    code: 0,
    message: "",
    replaced: ["a.csv"],
    created: ["a.csv.json"],
  },
  {
    name: "simulate -o whose sidecar would be a folder",
    setup: (d) => fs.mkdirSync(j(d, "a.csv.json")),
    args: (d) => ["simulate", "--duration", "0.1ns", "-o", j(d, "a.csv")],
    code: 2,
    message: "--output (sidecar): ",
  },
  {
    name: "landscape -o is a file",
    setup: (d) => (teacherIn(d), write(j(d, "out"))),
    args: (d) => ["landscape", j(d, "t.csv"), "--x", "H_appl", "--y", "j_DC", "--grid", "2x2", "-o", j(d, "out")],
    code: 2,
    message: "is a file; expected a folder",
  },
  {
    name: "landscape -o whose landscape.csv is a folder",
    setup: (d) => (teacherIn(d), fs.mkdirSync(j(d, "o/landscape.csv"), { recursive: true })),
    args: (d) => ["landscape", j(d, "t.csv"), "--x", "H_appl", "--y", "j_DC", "--grid", "2x2", "-o", j(d, "o")],
    code: 2,
    message: "landscape.csv' is a folder",
  },
  {
    name: "landscape -o a new folder tree is created",
    setup: (d) => teacherIn(d),
    args: (d) => ["landscape", j(d, "t.csv"), "--x", "H_appl", "--y", "j_DC", "--grid", "2x2", "-o", j(d, "a/b")],
    code: 0,
    message: "landscape 2x2",
    created: ["a", "a/b", "a/b/landscape.csv", "a/b/landscape.json", "a/b/landscape.svg"],
  },
  {
    name: "plot -o is a file",
    setup: (d) => write(j(d, "r.json"), JSON.stringify({ command: "x" })),
    args: (d) => ["plot", j(d, "r.json"), "-o", j(d, "r.json")],
    code: 2,
    message: "is a file; expected a folder",
  },
  {
    name: "mnist --out over a run is refused, pointing to --resume and --force",
    setup: (d) => (
      fs.mkdirSync(j(d, "run")),
      write(j(d, "run/result.json"), JSON.stringify({ epochs_done: 2, config: { epochs: 5 } })),
      write(j(d, "run/checkpoint.bin"), "x")
    ),
    args: (d) => [...MNIST(), "--out", j(d, "run")],
    code: 2,
    message: /holds a run at epoch 2 of 5; continue it with --resume .*run, or start afresh over it with --force/,
  },
  {
    name: "mnist --out under a file",
    setup: (d) => write(j(d, "f")),
    args: (d) => [...MNIST(), "--out", j(d, "f/run")],
    code: 2,
    message: "cannot create folder",
  },
  {
    name: "mnist --plot is a file",
    setup: (d) => write(j(d, "f")),
    args: (d) => [...MNIST(), "--out", j(d, "run"), "--plot", j(d, "f")],
    code: 2,
    message: "--plot: ",
  },
  {
    name: "spectrum -o is the trace",
    setup: (d) => teacherIn(d),
    args: (d) => ["spectrum", j(d, "t.csv"), "-o", j(d, "t.csv")],
    code: 2,
    message: "--output: '",
  },
  {
    name: "spectrum -o is a symlink to the trace",
    setup: (d) => (teacherIn(d), fs.symlinkSync("t.csv", j(d, "psd.csv"))),
    args: (d) => ["spectrum", j(d, "t.csv"), "-o", j(d, "psd.csv")],
    code: 2,
    message: "is the trace this command reads (the same file as",
  },
  {
    name: "spectrum --plot is a file",
    setup: (d) => (teacherIn(d), write(j(d, "p"))),
    args: (d) => ["spectrum", j(d, "t.csv"), "--plot", j(d, "p")],
    code: 2,
    message: "--plot: '",
  },
  {
    name: "spectrum -o a regular file replaces it",
    setup: (d) => (teacherIn(d), write(j(d, "psd.csv"))),
    args: (d) => ["spectrum", j(d, "t.csv"), "-o", j(d, "psd.csv")],
    code: 0,
    message: "peak",
    replaced: ["psd.csv"],
  },
  {
    name: "spectrum --sweep -o in a missing folder, before any point",
    setup: () => undefined,
    args: (d) => [...SWEEP, "-o", j(d, "missing/s.csv")],
    code: 2,
    message: "--output: folder",
  },
  {
    name: "spectrum --sweep --plot under a file, before any point",
    setup: (d) => write(j(d, "f")),
    args: (d) => [...SWEEP, "--plot", j(d, "f/p")],
    code: 2,
    message: "--plot: cannot create folder",
  },
  {
    name: "sysid --spectrum -o is the frequency table",
    setup: (d) => write(j(d, "f.csv"), "j_DC_A,f_Hz\n0.005,5e9\n"),
    args: (d) => ["sysid", "--spectrum", j(d, "f.csv"), "--fit", "H_appl", "-o", j(d, "f.csv")],
    code: 2,
    message: "is the frequency table this command reads",
  },
  {
    name: "reservoir --out over a run is refused, pointing to --resume and --force",
    setup: (d) => (
      fs.mkdirSync(j(d, "run")),
      write(j(d, "run/result.json"), JSON.stringify({ epochs_done: 3, settings: { epochs: 9 } })),
      write(j(d, "run/checkpoint.json"), "{}")
    ),
    args: (d) => [...RESERVOIR, "--out", j(d, "run")],
    code: 2,
    message: /--out .*run: the folder holds a run at epoch 3 of 9; continue it with --resume .*run, or start afresh over it with --force/,
  },
  {
    name: "reservoir --out whose predictions.csv is the --input series",
    setup: (d) => (write(j(d, "s.csv"), SERIES), fs.mkdirSync(j(d, "o")), fs.symlinkSync("../s.csv", j(d, "o/predictions.csv"))),
    args: (d) => [...RESERVOIR, "--input", j(d, "s.csv"), "--target", "y", "--out", j(d, "o")],
    code: 2,
    message: "is the input series this command reads",
  },
  {
    name: "reservoir --out under a file",
    setup: (d) => write(j(d, "f")),
    args: (d) => [...RESERVOIR, "--out", j(d, "f/run")],
    code: 2,
    message: "cannot create folder",
  },
  { name: "reservoir --plot is a file", setup: (d) => write(j(d, "f")), args: (d) => [...RESERVOIR, "--plot", j(d, "f")], code: 2, message: "--plot: '" },
  {
    name: "reservoir --out a new folder: the run files",
    setup: () => undefined,
    args: (d) => [...RESERVOIR, "--out", j(d, "run")],
    code: 0,
    message: "epoch 1/1",
    created: ["run", "run/metrics.csv", "run/predictions.csv", "run/result.json", "run/checkpoint.json"],
  },
];

describe("class 1: outputs never destroy what they should not", () => {
  for (const c of class1) it(c.name, () => void checkCase(c.name, c.setup, c.args, c), 60_000);

  it("mnist --out over a run with --force starts afresh and replaces it", () => {
    checkCase(
      "force",
      (d) => (fs.mkdirSync(j(d, "run")), write(j(d, "run/result.json"), "{}"), write(j(d, "run/metrics.csv"))),
      (d) => [...MNIST(), "--out", j(d, "run"), "--force"],
      { code: 0, message: "epoch 1/1", replaced: ["run/result.json", "run/metrics.csv"], created: ["run/checkpoint.bin"] },
    );
  }, 60_000);

  it("reservoir --out over a run with --force starts afresh and replaces it", () => {
    checkCase(
      "reservoir force",
      (d) => (fs.mkdirSync(j(d, "run")), write(j(d, "run/result.json"), "{}"), write(j(d, "run/metrics.csv"))),
      (d) => [...RESERVOIR, "--out", j(d, "run"), "--force"],
      { code: 0, message: "epoch 1/1", replaced: ["run/result.json", "run/metrics.csv"], created: ["run/checkpoint.json", "run/predictions.csv"] },
    );
  }, 60_000);

  it("reservoir --resume A --out B whose checkpoint.json is A's is refused; --resume A in place continues", () => {
    const { dir } = checkCase(
      "reservoir run",
      () => undefined,
      (d) => [...RESERVOIR, "--out", j(d, "a")],
      { code: 0, message: "epoch 1/1", created: ["a", "a/metrics.csv", "a/predictions.csv", "a/result.json", "a/checkpoint.json"] },
    );
    const linked = (d: string) => (
      fs.cpSync(j(dir, "a"), j(d, "a"), { recursive: true }),
      fs.mkdirSync(j(d, "b")),
      fs.symlinkSync("../a/checkpoint.json", j(d, "b/checkpoint.json"))
    );
    checkCase("resume", linked, (d) => ["reservoir", "--resume", j(d, "a"), "--out", j(d, "b"), "--force", "--epochs", "2"], {
      code: 2,
      message: "is the checkpoint this command reads",
    });
    checkCase(
      "resume in place",
      (d) => fs.cpSync(j(dir, "a"), j(d, "a"), { recursive: true }),
      (d) => ["reservoir", "--resume", j(d, "a"), "--epochs", "2"],
      { code: 0, message: "epoch 2/2", replaced: ["a/metrics.csv", "a/predictions.csv", "a/result.json", "a/checkpoint.json"] },
    );
  }, 60_000);

  it("simulate -o /dev/stdout with stdout on a file: the file gets the data, the sidecar goes beside it (never into /dev)", () => {
    let fd = -1;
    checkCase(
      "/dev/stdout",
      (d) => (fd = fs.openSync(j(d, "out.csv"), "w")),
      () => ["simulate", "--duration", "0.1ns", "-o", "/dev/stdout"],
      { code: 0, message: "", replaced: ["out.csv"], created: ["out.csv.json"] },
      (a) => runCli(a, { stdoutFd: fd }),
    );
    fs.closeSync(fd);
    expect(fs.existsSync("/dev/stdout.json")).toBe(false);
  }, 60_000);

  it("simulate -o a FIFO writes through to its reader and leaves the FIFO", async () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), "stoopt-fifo-"));
    const fifo = j(d, "pipe");
    execFileSync("mkfifo", [fifo]);
    const reader = spawn("cat", [fifo]);
    let got = "";
    reader.stdout.on("data", (b) => (got += b));
    const done = new Promise((r) => reader.once("exit", r));
    const child = spawn(process.execPath, [path.resolve("dist/cli/main.js"), "simulate", "--duration", "0.1ns", "-o", fifo]);
    const code = await new Promise((r) => child.once("exit", r));
    await done;
    expect(code).toBe(0);
    expect(got.split("\n")[0]).toBe("trial,t,mx,my,mz");
    expect(got.trim().split("\n")).toHaveLength(4); // header and rows at 0, 0.05, 0.1 ns
    expect(fs.lstatSync(fifo).isFIFO()).toBe(true);
    expect(fs.readdirSync(d)).toEqual(["pipe"]); // no sidecar, no temp file
  }, 60_000);
});

// ---- class 2: write errors

const full = () => fs.openSync("/dev/full", "w");

const class2: (Case & { stdoutFull?: boolean })[] = [
  {
    name: "simulate > /dev/full",
    setup: () => undefined,
    args: () => ["simulate", "--duration", "0.1ns"],
    stdoutFull: true,
    code: 1,
    message: "cannot write to stdout: no space left on device (ENOSPC)",
  },
  {
    name: "sysid --json > /dev/full",
    setup: (d) => teacherIn(d),
    args: (d) => ["sysid", j(d, "t.csv"), ...FIT, "--json"],
    stdoutFull: true,
    code: 1,
    message: "cannot write to stdout: no space left on device",
  },
  {
    name: "landscape --json > /dev/full (files written before stdout)",
    setup: (d) => teacherIn(d),
    args: (d) => ["landscape", j(d, "t.csv"), "--x", "H_appl", "--y", "j_DC", "--grid", "2x2", "-o", d, "--json"],
    stdoutFull: true,
    code: 1,
    message: "cannot write to stdout",
    created: ["landscape.csv", "landscape.json", "landscape.svg"],
  },
  {
    name: "mnist --json > /dev/full",
    setup: () => undefined,
    args: () => [...MNIST(), "--json"],
    stdoutFull: true,
    code: 1,
    message: "cannot write to stdout",
  },
  {
    name: "simulate -o /dev/full",
    setup: () => undefined,
    args: () => ["simulate", "--duration", "0.1ns", "-o", "/dev/full"],
    code: 1,
    message: "--output: cannot write '/dev/full': no space left on device (ENOSPC)",
  },
  {
    name: "sysid -o /dev/full",
    setup: (d) => teacherIn(d),
    args: (d) => ["sysid", j(d, "t.csv"), ...FIT, "-o", "/dev/full"],
    code: 1,
    message: "--out: cannot write '/dev/full': no space left on device",
  },
  {
    name: "spectrum --sweep -o /dev/full",
    setup: () => undefined,
    args: () => [...SWEEP, "-o", "/dev/full"],
    code: 1,
    message: "--output: cannot write '/dev/full': no space left on device (ENOSPC)",
  },
  {
    name: "spectrum --json > /dev/full",
    setup: (d) => teacherIn(d),
    args: (d) => ["spectrum", j(d, "t.csv"), "--json"],
    stdoutFull: true,
    code: 1,
    message: "cannot write to stdout",
  },
  {
    name: "sysid --history /dev/full",
    setup: (d) => teacherIn(d),
    args: (d) => ["sysid", j(d, "t.csv"), ...FIT, "--history", "/dev/full"],
    code: 1,
    message: "--history: cannot write '/dev/full'",
  },
];

describe("class 2: a write error is exit 1 with one line naming the stream or file", () => {
  for (const c of class2) {
    it(
      c.name,
      () => {
        const fd = c.stdoutFull ? full() : undefined;
        try {
          checkCase(c.name, c.setup, c.args, c, (a) => runCli(a, { stdoutFd: fd }));
        } finally {
          if (fd !== undefined) fs.closeSync(fd);
        }
        expect(fs.statSync("/dev/full").isCharacterDevice()).toBe(true);
      },
      60_000,
    );
  }
});
