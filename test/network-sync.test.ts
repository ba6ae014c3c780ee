/**
 * What the MNIST training workers share (cli/network/sync.ts): the split of
 * a batch into shares, of the parameters into parts, and the barrier.
 */
import { describe, expect, it } from "vitest";
import { Barrier, BarrierAborted, BARRIER_BYTES, laneShares, partition, shares } from "../cli/network/sync.js";

describe("splits", () => {
  it("shares are contiguous, cover the batch and differ by at most one", () => {
    for (const [count, parts] of [
      [100, 2],
      [101, 3],
      [1, 2],
      [0, 2],
      [7, 4],
    ]) {
      const s = shares(count, parts);
      expect(s).toHaveLength(parts);
      expect(s.reduce((a, [, k]) => a + k, 0)).toBe(count);
      s.forEach(([st], i) => i > 0 && expect(st).toBe(s[i - 1][0] + s[i - 1][1]));
      expect(Math.max(...s.map(([, k]) => k)) - Math.min(...s.map(([, k]) => k))).toBeLessThanOrEqual(1);
    }
  });

  it("lane shares are whole lane groups but the last, as even as possible in groups", () => {
    expect(laneShares(100, 2, 4)).toEqual([
      [0, 52],
      [52, 48],
    ]);
    expect(laneShares(100, 2, 2)).toEqual(shares(100, 2));
    expect(laneShares(5, 2, 4)).toEqual([
      [0, 4],
      [4, 1],
    ]);
    expect(laneShares(1, 3, 4)).toEqual([
      [0, 1],
      [1, 0],
      [1, 0],
    ]);
    for (const [count, parts, lanes] of [
      [101, 3, 4],
      [30, 4, 2],
      [9, 2, 4],
    ]) {
      const s = laneShares(count, parts, lanes);
      expect(s.reduce((a, [, k]) => a + k, 0)).toBe(count);
      s.forEach(([st, k], i) => {
        if (i > 0) expect(st).toBe(s[i - 1][0] + s[i - 1][1]);
        if (st + k < count) expect(k % lanes).toBe(0);
      });
    }
  });

  it("parts of the parameters cover every range once, in order, cut at multiples of 16", () => {
    const ranges: [number, number][] = [
      [0, 1000],
      [1000, 1010],
      [2000, 2001],
    ];
    for (const parts of [1, 2, 3, 5]) {
      const p = partition(ranges, parts);
      expect(p).toHaveLength(parts);
      const flat = p.flat();
      const covered = flat.reduce((a, [lo, hi]) => a + hi - lo, 0);
      expect(covered).toBe(1011);
      flat.forEach(([lo, hi], i) => {
        expect(hi).toBeGreaterThan(lo);
        if (i > 0) expect(lo).toBeGreaterThanOrEqual(flat[i - 1][1]);
      });
      // each cut, counted in parameters from the first, is a multiple of 16
      let before = 0;
      for (const piece of p.slice(0, -1)) {
        before += piece.reduce((a, [lo, hi]) => a + hi - lo, 0);
        expect(before % 16).toBe(0);
      }
    }
  });
});

describe("the barrier", () => {
  it("the last of the parties opens it; an aborted barrier throws for every waiter", () => {
    const ctl = new SharedArrayBuffer(BARRIER_BYTES);
    const one = new Barrier(ctl, 1);
    one.wait();
    one.wait();
    one.abort();
    expect(() => one.wait()).toThrow(BarrierAborted);
    one.reset();
    expect(() => one.wait()).not.toThrow();
  });
});
