/** The optimization path of a `stoopt sysid -o` result, drawn over a loss landscape (landscape --result, plot --result). */
import fs from "node:fs";
import { UsageError } from "../errors.js";
import { SYSID_RESULT, validate } from "../io/schema.js";
import type { SysidResult } from "./sysid.js";

export interface SysidPath {
  path: [number, number][];
  start: [number, number];
  end: [number, number];
  /** the teacher's true point, when the result knows it (from the teacher's simulate sidecar) */
  truth?: [number, number];
}

/** The best start's path (start point, then the values after each epoch) from a sysid result. */
export function readSysidPath(file: string, xName: string, yName: string): SysidPath {
  let res: Partial<Pick<SysidResult, "fit" | "history" | "best_start">>;
  try {
    res = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new UsageError(`--result: cannot read '${file}' as a sysid result JSON (${(e as Error).message.split("\n")[0]})`);
  }
  validate(res, SYSID_RESULT, file);
  const fx = res.fit?.[xName];
  const fy = res.fit?.[yName];
  if (!fx || !fy || !Array.isArray(res.history)) throw new UsageError(`--result: '${file}' is not a sysid result that fitted both ${xName} and ${yName}`);
  const hist = res.history.filter((h) => h.start === (res.best_start ?? 0));
  const start: [number, number] = [fx.start, fy.start];
  const truth: [number, number] | undefined = typeof fx.true === "number" && typeof fy.true === "number" ? [fx.true, fy.true] : undefined;
  return {
    path: [start, ...hist.map((h): [number, number] => [h.values[xName], h.values[yName]])],
    start,
    end: [fx.value, fy.value],
    ...(truth ? { truth } : {}),
  };
}
