/** Flags of `stoopt sysid` on measured data (README "Fitting measured data"); the fit is cli/run/sysid-measured.ts. */
import type { Command } from "commander";

/** Flags that, given on the command line, select the measured-data path (`--m0 teacher` alone does not). */
export const MEASURED_FLAGS = ["signal", "offset", "amplitude", "m0", "window", "stride", "uncertainty", "bootstrap", "scan"];

export function addMeasuredOptions(cmd: Command): Command {
  return cmd
    .option(
      "--signal <column>",
      "fit a measured signal: the teacher column of that name (any header, unit in the name: V_mV, V_uV, V) modelled as offset + amplitude * m_x; implies --m0 fit",
    )
    .option("--offset <value|fit>", "signal offset (units allowed: 8mV; bare number: the signal column's unit), or 'fit' (default with --signal; 0 for m_x)")
    .option("--amplitude <value|fit>", "signal per unit m_x (may be negative; units as --offset), or 'fit' (default with --signal; 1 for m_x)")
    .option(
      "--m0 <how>",
      "initial state of each window: teacher (its full state at the window's first row; default where my, mz exist) or fit (an unknown per window, in a tangent-plane chart)",
    )
    .option("--window <time>", "fitted initial states: cut each trace into windows of this length (bare number: ns)", "1ns")
    .option("--stride <time>", "fitted initial states: a window starts every this long (default: --window; shorter overlaps windows)")
    .option(
      "--uncertainty <method>",
      "auto (bootstrap where there are at least 10 windows, else gauss-newton with a warning), bootstrap (windows resampled, refitted; fitted initial states) or gauss-newton (sigma^2 (J^T J)^-1; too small on thermal data)",
      "auto",
    )
    .option("--bootstrap <n>", "bootstrap resamples", "50")
    .option("--scan <n>", "fitted initial states: start candidates scored before Levenberg-Marquardt (the best --starts are fitted)", "12");
}
