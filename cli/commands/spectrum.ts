/** `stoopt spectrum`: PSD, frequency, linewidth and power of a trace, or of simulated sweeps; the work is cli/run/spectrum.ts, the text cli/render/spectrum.ts. */
import { Command } from "commander";
import os from "node:os";
import { PARAMS, paramFlag, paramHelp, paramsFromOptions } from "../model.js";
import { choiceFlag, collect, intFlag, optionReader, quantityFlag, seedFlag, temperatureFlag, timeFlag } from "../options/parse.js";
import { FREQUENCY, TIME, parseQuantity } from "../units.js";
import { UsageError } from "../errors.js";
import { readTeacher } from "../teacher.js";
import { integerRatio, Scheme } from "../simulator.js";
import { MIN_SEGMENT, WINDOWS, WindowName } from "../spectrum.js";
import { parseSweep, PointSettings } from "../spectrum-sweep.js";
import { analyseTrace, runSpectrumSweep, sampleInterval, SweepSettings, sweepJson, traceJson, traceWelch } from "../run/spectrum.js";
import { info, note } from "../log.js";
import { toJson } from "../render/text.js";
import { psdCsv, SWEEP_COLUMNS, sweepCsv, sweepSummary, traceSummary } from "../render/spectrum.js";
import { checkOutput, checkOutputDir, declareInput, ensureDir, sinkFor, writeFileAtomic } from "../output.js";
import { checkCount, checkMemory, U32_MAX } from "../limits.js";
import { addFigureOptions, exportOptions } from "../options/figures.js";
import { writeFigures } from "../render/figures/export.js";
import { psdFigure, sweepFigures } from "../render/figures/spectrum.js";

/** `--segment`: a whole number of samples, or a duration (with a time unit) turned into samples. */
function segmentFlag(text: string | undefined, sampleS: number): number | undefined {
  if (text === undefined) return undefined;
  if (/^\s*\d+\s*$/.test(text)) return intFlag(text, "--segment", MIN_SEGMENT);
  const t = parseQuantity(text, TIME, "s", "--segment").value;
  const n = Math.round(t / sampleS);
  if (n < MIN_SEGMENT) throw new UsageError(`--segment: ${text} is ${n} samples of ${sampleS} s; at least ${MIN_SEGMENT}`);
  return n;
}

function overlapFlag(text: string): number {
  const m = /^\s*([0-9.]+)\s*(%?)\s*$/.exec(text);
  const v = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
  if (!(v >= 0 && v < 1)) throw new UsageError(`--overlap: expected a fraction in [0, 1) or a percentage below 100% (got '${text}')`);
  return v;
}

export function spectrumCommand(): Command {
  const cmd = new Command("spectrum")
    .description(
      "Spectrum of an oscillator: Welch PSD, peak frequency, Lorentzian linewidth, peak power, second harmonic; of a trace file or of simulated sweeps",
    )
    .usage("[trace.csv|-] [options] | --sweep NAME=MIN:MAX:STEP [--sweep ...] [options]")
    .argument("[trace]", "trace CSV (as 'stoopt simulate' writes it: t and mx columns, trials averaged), or - for stdin")
    .option("--window <name>", `taper of each segment: ${WINDOWS.join(", ")}`, "hann")
    .option(
      "--segment <n|time>",
      "Welch segment: a number of samples or a duration (e.g. 20ns). Default: traces, the largest power of two <= half the trial; sweeps, the whole --duration",
    )
    .option("--overlap <x>", "overlap of neighbouring segments, fraction or percentage", "50%")
    .option("--fmin <f>", "look for the peak at or above this frequency (bare number: Hz)", "0Hz")
    .option("--fmax <f>", "look for the peak at or below this frequency (bare number: Hz; default: Nyquist)")
    .option("--delimiter <c>", "field separator of the trace CSV (default: detected)")
    .option("--signal <column>", "trace: analyse this column (e.g. a scope's V_mV; its unit from the name) instead of mx")
    .option("--scale <x>", "multiply the trace's magnetization columns by x", "1")
    .option("--trials <n>", "trace: use only the first N trials; sweep: N independent trials per point (with --temperature), averaged in the PSD", undefined)
    .option("--sweep <NAME=MIN:MAX:STEP>", "simulate a sweep of a parameter (repeatable for a 2-D sweep; values with units, or NAME=V1,V2,...)", collect)
    .option("--temperature <T>", "sweep: thermal field of eq. (3) (bare number: K)", "0K")
    .option("--scheme <name>", "sweep: rk4 (default without noise) or heun (default with --temperature)")
    .option("--dt <time>", "sweep: integration step (bare number: ns)", "0.5ps")
    .option("--sample <time>", "sweep: sampling interval of m_x (bare number: ns)", "10ps")
    .option("--duration <time>", "sweep: measurement window after the washout (bare number: ns)", "20ns")
    .option("--washout <time>", "sweep: shortest washout (bare number: ns); each point starts on the theory's precession cone", "20ns")
    .option("--max-washout <time>", "sweep: longest washout while the amplitude has not settled (bare number: ns)", "200ns")
    .option("--settle-chunk <time>", "sweep: the washout is judged in chunks of this length (bare number: ns)", "5ns")
    .option(
      "--settle-tol <x>",
      "sweep: settled when the projected remaining change of <m_z> and of the rms of m_x is below x (default 1e-3, 1e-2 with --temperature)",
    )
    .option("--no-threshold", "sweep: skip the simulated threshold (growth rates at 0.9-1.1 x the formula's threshold) when j_DC is swept")
    .option("--seed <n>", "sweep: seed of the thermal noise", "1")
    .option("--threads <n>", "sweep: worker threads (default: number of cores, at most 2)")
    .option("-o, --output <file>", "write the CSV atomically to FILE (then stdout stays empty, or carries --json)")
    .option("--json", "print the result as JSON on stdout (the CSV then only goes to -o FILE)")
    .option("--plot <dir>", "draw figures into DIR (trace: psd.svg; sweep: frequency, linewidth, power, mz)");
  addFigureOptions(cmd, "--plot");
  for (const p of PARAMS) cmd.option(paramFlag(p), `${paramHelp(p)}; sweep: value of a parameter that is not swept`);
  cmd.addHelpText(
    "after",
    `
Output. Trace: CSV f_Hz,psd (one-sided PSD in signal^2/Hz; sum x bin = mean square) on stdout,
a summary on stderr. Sweep: CSV with one row per point: the swept values (j_DC_A, H_appl_Oe, ...),
${SWEEP_COLUMNS.join(", ")};
f and linewidth in Hz, power in signal^2 (m_x^2), empty where there is no auto-oscillation.
The linewidth is the FWHM of a Lorentzian fitted to the peak; a line narrower than 1.5 x the
window's resolution is reported as the resolution (resolution_limited = 1).

Examples:
  stoopt simulate --washout 100ns --duration 200ns --sample 10ps --m0 1,0,1 > trace.csv
  stoopt spectrum trace.csv --plot fig/
  stoopt spectrum --sweep j_DC=2.5mA:7.5mA:0.25mA --plot sweep/ > fI.csv
  stoopt spectrum --sweep j_DC=3mA:7mA:2mA --temperature 300K --duration 500ns --trials 4`,
  );
  cmd.action(async (file: string | undefined, opts: Record<string, unknown>) => {
    const { str, list } = optionReader(opts);
    const notes: string[] = [];
    const figureExport = exportOptions(opts, notes);
    const window = choiceFlag<WindowName>(str("window")!, "--window", WINDOWS);
    const overlap = overlapFlag(str("overlap")!);
    const fMinHz = quantityFlag(str("fmin")!, FREQUENCY, "Hz", "--fmin", notes);
    const fMaxHz = str("fmax") !== undefined ? quantityFlag(str("fmax")!, FREQUENCY, "Hz", "--fmax", notes) : Infinity;
    if (!(fMaxHz > fMinHz)) throw new UsageError(`--fmax must be above --fmin`);
    const sweeps = list("sweep");
    // the input, then every output, before any work (cli/output.ts): an output over the trace is refused
    if (sweeps.length === 0 && file !== undefined) declareInput(file, "trace");
    if (str("output") !== undefined && str("output") !== "-") checkOutput(str("output")!, "--output");
    if (str("plot") !== undefined) checkOutputDir(str("plot")!, "--plot");
    /** The CSV to -o FILE if given; stdout gets the JSON with --json, else the CSV (unless it went to a file). */
    const emit = async (csvText: string, jsonText: string) => {
      const file = str("output");
      if (file !== undefined && file !== "-") writeFileAtomic(file, csvText, "--output");
      if (opts.json) process.stdout.write(jsonText);
      else if (file === undefined || file === "-") {
        const out = sinkFor("-", "--output");
        await out.write(csvText);
        await out.commit();
      }
    };
    if (sweeps.length === 0) {
      // ---------------- trace
      if (file === undefined) throw new UsageError("give a trace file (or - for stdin), or --sweep NAME=MIN:MAX:STEP to simulate one");
      const scale = Number(str("scale"));
      if (!Number.isFinite(scale) || scale === 0) throw new UsageError(`--scale: must be a non-zero number (got '${str("scale")}')`);
      const maxTrials = str("trials") !== undefined ? intFlag(str("trials")!, "--trials", 1) : undefined;
      const data = await readTeacher(file, { delimiter: str("delimiter"), maxTrials, scale, signal: str("signal") });
      const dt = sampleInterval(data);
      const settings = { window, segment: segmentFlag(str("segment"), dt), overlap, fMinHz, fMaxHz };
      traceWelch(data, settings);
      for (const n of notes) note(n);
      const r = analyseTrace(data, settings);
      info(traceSummary(r));
      await emit(psdCsv(r), toJson(traceJson(r)));
      if (str("plot") !== undefined) {
        ensureDir(str("plot")!, "--plot");
        info(`wrote ${(await writeFigures(str("plot")!, [psdFigure(r)], figureExport, "--plot")).join(", ")}`);
      }
      return;
    }
    // ---------------- sweep
    if (file !== undefined) throw new UsageError(`--sweep simulates its own traces; drop the trace argument '${file}'`);
    const axes = sweeps.map((s) => parseSweep(s));
    const names = axes.map((a) => a.spec.name);
    if (new Set(names).size !== names.length) throw new UsageError("--sweep: a parameter is swept twice");
    for (const a of axes) if (opts[a.spec.name] !== undefined) throw new UsageError(`--${a.spec.name}: ${a.spec.name} is swept; drop the flag or the sweep`);
    const base = paramsFromOptions(opts, notes);
    const temperatureK = temperatureFlag(str("temperature")!, "--temperature", notes);
    const scheme = choiceFlag<Scheme>(str("scheme") ?? (temperatureK > 0 ? "heun" : "rk4"), "--scheme", ["rk4", "heun"]);
    const dtS = timeFlag(str("dt")!, "--dt", notes);
    const sampleS = timeFlag(str("sample")!, "--sample", notes);
    const durationS = timeFlag(str("duration")!, "--duration", notes);
    const washoutS = timeFlag(str("washout")!, "--washout", notes, false);
    const maxWashoutS = Math.max(washoutS, timeFlag(str("max-washout")!, "--max-washout", notes, false));
    const chunkS = timeFlag(str("settle-chunk")!, "--settle-chunk", notes);
    const tolText = str("settle-tol");
    const settleTol = tolText !== undefined ? Number(tolText) : temperatureK > 0 ? 1e-2 : 1e-3;
    if (!(settleTol > 0)) throw new UsageError(`--settle-tol: must be a number > 0 (got '${tolText}')`);
    const trials = str("trials") !== undefined ? intFlag(str("trials")!, "--trials", 1, 4096) : 1;
    const threads = str("threads") !== undefined ? intFlag(str("threads")!, "--threads", 1, 64) : Math.min(2, os.availableParallelism());
    const point: PointSettings = {
      scheme,
      dtS,
      sampleS,
      durationS,
      washoutS,
      maxWashoutS,
      chunkS,
      settleTol,
      temperatureK,
      trials,
      seed: seedFlag(str("seed")!, "--seed"),
      window,
      segment: segmentFlag(str("segment"), sampleS),
      overlap,
    };
    // check step ratios, the counts the core takes (cli/limits.ts) and the segment before the work
    checkCount(integerRatio(sampleS, dtS, "--sample"), "--sample", "the steps per sample (--sample / --dt)", U32_MAX, 1);
    const windowSamples = checkCount(
      integerRatio(durationS, sampleS, "--duration"),
      "--duration",
      "the samples of the window (--duration / --sample)",
      U32_MAX,
      1,
    );
    const chunkSamples = checkCount(
      integerRatio(chunkS, sampleS, "--settle-chunk"),
      "--settle-chunk",
      "the samples per chunk (--settle-chunk / --sample)",
      U32_MAX,
      1,
    );
    checkCount(Math.ceil(maxWashoutS / chunkS - 1e-9), "--max-washout", "the washout chunks (--max-washout / --settle-chunk)", U32_MAX, 0);
    // one point's trajectory buffer (spectrum-sweep.ts runPoint): 3 components x trials x samples
    checkMemory(
      8 * 3 * trials * Math.max(chunkSamples, windowSamples),
      `--duration, --sample and --trials (${trials} x ${Math.max(chunkSamples, windowSamples)} samples)`,
      "one point's trajectories",
    );
    if (windowSamples < MIN_SEGMENT) throw new UsageError(`--duration: ${windowSamples} samples of --sample; at least ${MIN_SEGMENT}`);
    if (point.segment !== undefined && point.segment > windowSamples)
      throw new UsageError(`--segment: ${point.segment} samples, longer than the window (--duration, ${windowSamples} samples)`);
    const settings: SweepSettings = { base, axes, point, threshold: opts.threshold !== false, growthS: 30e-9 };
    for (const n of notes) note(n);
    if (temperatureK === 0 && trials > 1) note("--trials without --temperature: noise-free trials are identical");
    const total = axes.reduce((n, a) => n * a.values.length, 1);
    note(`${total} point${total > 1 ? "s" : ""} on ${Math.min(threads, total)} thread${Math.min(threads, total) > 1 ? "s" : ""}: working`);
    const r = await runSpectrumSweep(settings, threads);
    info(sweepSummary(r, axes));
    await emit(sweepCsv(r, axes), toJson(sweepJson(r, settings)));
    if (str("plot") !== undefined) {
      ensureDir(str("plot")!, "--plot");
      info(`wrote ${(await writeFigures(str("plot")!, sweepFigures(r, axes), figureExport, "--plot")).join(", ")}`);
    }
  });
  return cmd;
}
