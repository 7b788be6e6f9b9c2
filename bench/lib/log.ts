/** Progress lines on stderr (the result table goes to stdout), stamped with time since start. */
const T0 = performance.now();

export function elapsedS(): number {
  return (performance.now() - T0) / 1000;
}

export function progress(scope: string, message: string): void {
  process.stderr.write(`[bench +${elapsedS().toFixed(1).padStart(6)}s] ${scope}: ${message}\n`);
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function fmtNum(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return String(n);
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
