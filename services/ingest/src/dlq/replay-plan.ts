import { positionId, replayRefusal, type Letter } from './letter';
import type { LedgerEntry } from './replay-ledger';

/** What a replay does with one selected letter. */
export type Verdict =
  /** Send the original again. */
  | { kind: 'replay'; letter: Letter }
  /** The ledger holds its copy: never sent twice. */
  | { kind: 'already-replayed'; letter: Letter; entry: LedgerEntry }
  /** A replay crashed around its send: whether the copy exists is read from the events topic first. */
  | { kind: 'pending'; letter: Letter; entry: LedgerEntry }
  /** Another letter of the same original is in the selection (the dead-letter topic is at least once). */
  | { kind: 'same-original'; letter: Letter; as: string }
  | { kind: 'refused'; letter: Letter; why: string };

/** The ledger's key of a letter: its original's position, shared by every letter of that original. */
export function originalId(letter: Letter): string {
  return positionId(letter.source);
}

/**
 * Decides, for letters in selection order, which to send. A replay sends the original
 * byte for byte into the topic it came from, once per original: not what the ledger
 * holds, not a second letter of an original already chosen, not a cut or parked letter.
 */
export function planReplay(
  letters: readonly Letter[],
  ledger: ReadonlyMap<string, LedgerEntry>,
  eventsTopic: string,
): Verdict[] {
  const chosen = new Map<string, string>();
  return letters.map((letter): Verdict => {
    const id = originalId(letter);
    if (letter.source.topic !== eventsTopic)
      return {
        kind: 'refused',
        letter,
        why: `was dead-lettered from ${letter.source.topic}, not from KAFKA_TOPIC ${eventsTopic}`,
      };
    const refusal = replayRefusal(letter);
    if (refusal !== null) return { kind: 'refused', letter, why: `cannot be replayed: the letter ${refusal}` };
    const entry = ledger.get(id);
    if (entry?.state === 'replayed') return { kind: 'already-replayed', letter, entry };
    const first = chosen.get(id);
    if (first !== undefined) return { kind: 'same-original', letter, as: first };
    chosen.set(id, positionId(letter.at));
    if (entry?.state === 'pending') return { kind: 'pending', letter, entry };
    return { kind: 'replay', letter };
  });
}
