import { readFileSync } from 'node:fs';

/** The exact text of a file in test/fixtures/. */
export const fixtureText = (name: string): string => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');

/** A JSON fixture, parsed. */
export const fixture = <T = unknown>(name: string): T => JSON.parse(fixtureText(name)) as T;
