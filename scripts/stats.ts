/** The benchmark scripts' summary statistics. */

/** The middle value of `v` (the upper one of the two middle values when their number is even). */
export const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1];
