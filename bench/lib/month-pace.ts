/**
 * The end of the month's replay foretold from its pace so far, for the progress line: a
 * scale-1 run lasts one to four hours depending on the machine, and whoever started it
 * needs to know early whether it ends within their time. `expected` is the plan's
 * approximate event count (MONTH_EVENTS_AT_SCALE_1 × scale, rounded up), so this is an estimate.
 */
export function monthEta(sent: number, expected: number, elapsedS: number): string {
  if (sent <= 0 || elapsedS <= 0 || expected <= sent) return '';
  const remainingS = (elapsedS * (expected - sent)) / sent;
  const totalMin = (elapsedS + remainingS) / 60;
  return `; at this pace the month ends in ${formatMinutes(remainingS / 60)} (${formatMinutes(totalMin)} in all)`;
}

function formatMinutes(min: number): string {
  if (min < 1) return 'under a minute';
  if (min < 90) return `≈ ${Math.round(min)} min`;
  const h = Math.floor(min / 60);
  return `≈ ${h} h ${String(Math.round(min - h * 60)).padStart(2, '0')} min`;
}
