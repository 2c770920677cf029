/** Rounding for the figures the repro scripts print and write (2 decimals for %, s; 4 for losses). */
export const round2 = (v: number): number => Math.round(v * 100) / 100;
export const round4 = (v: number): number => Math.round(v * 10000) / 10000;
