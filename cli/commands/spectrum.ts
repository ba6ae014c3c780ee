/** `stoopt spectrum`: PSD, frequency, linewidth and power of a trace, or of simulated sweeps; the flags' parser is cli/options/spectrum.ts, the work cli/run/spectrum.ts, the text cli/render/spectrum.ts. */
import { Command } from "commander";
import { PARAMS, paramFlag, paramHelp } from "../model.js";
import { collect } from "../options/parse.js";
import { WINDOWS } from "../spectrum/psd.js";
import { runSpectrum } from "../run/spectrum.js";
import { SWEEP_COLUMNS } from "../render/spectrum.js";
import { addFigureOptions } from "../options/figures.js";
import { spectrumSettingsFromFlags } from "../options/spectrum.js";

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
    await runSpectrum(spectrumSettingsFromFlags(file, opts));
  });
  return cmd;
}
