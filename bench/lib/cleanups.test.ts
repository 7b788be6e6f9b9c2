import { describe, expect, it } from 'vitest';
import { Cleanups } from './cleanups';
import { sleep } from './stack';

describe('Cleanups', () => {
  it('waits for a step a scenario started (as on Ctrl-C) instead of skipping it', async () => {
    const errors: Error[] = [];
    const cleanups = new Cleanups((err) => errors.push(err));
    const order: string[] = [];
    const runNow = cleanups.add(async () => {
      order.push('step started');
      await sleep(100);
      order.push('step done');
    });
    const fromScenario = runNow();
    const fromScenarioAgain = runNow();
    await cleanups.runAll();
    order.push('runAll returned');
    await Promise.all([fromScenario, fromScenarioAgain]);
    expect(order).toEqual(['step started', 'step done', 'runAll returned']);
    expect(errors).toEqual([]);
  });

  it('runs each step once, latest first, and reports a failing one without stopping the others', async () => {
    const errors: Error[] = [];
    const cleanups = new Cleanups((err) => errors.push(err));
    const ran: string[] = [];
    cleanups.add(async () => ran.push('first'));
    cleanups.add(async () => {
      ran.push('second');
      throw new Error('topic gone');
    });
    const third = cleanups.add(async () => ran.push('third'));
    await third();
    await cleanups.runAll();
    await cleanups.runAll();
    expect(ran).toEqual(['third', 'second', 'first']);
    expect(errors.map((e) => e.message)).toEqual(['topic gone']);
  });
});
