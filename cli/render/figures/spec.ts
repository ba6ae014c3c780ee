/** The Vega-Lite spec type of the figures; laying out and writing files is export.ts. */
import type { TopLevelSpec } from "vega-lite";

export type Spec = TopLevelSpec;
