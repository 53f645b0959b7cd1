import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { AppSecret, CredentialSource } from '../../functions/core/credentials.ts';
import { InvalidRequestError } from '../../functions/core/problems.ts';
import { TpnsError } from '../../functions/core/tpns/failures.ts';

/** The exact text of a file in test/fixtures/. */
export const fixtureText = (name: string): string => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');

/** A JSON fixture, parsed. */
export const fixture = <T = unknown>(name: string): T => JSON.parse(fixtureText(name)) as T;

/** Awaits a call that must fail with a TpnsError, and returns it. */
export const tpnsFailure = async (promise: Promise<unknown>): Promise<TpnsError> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TpnsError);
  return error as TpnsError;
};

/** Credentials that never change: a secret of these apps (one app: the single-app form), refreshed to itself. */
export const fixedCredentials = (...apps: [AppSecret, ...AppSecret[]]): CredentialSource => ({
  current: { apps, appsForm: apps.length > 1 },
  refresh: async (rejected) => rejected,
  accepted: () => {},
});

/** Runs `fn`, expects an InvalidRequestError (400) and returns its message. */
export const rejection = (fn: () => unknown): string => {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'expected a 400 InvalidRequestError').toBeInstanceOf(InvalidRequestError);
  const error = thrown as InvalidRequestError;
  expect(error.status).toBe(400);
  expect(error.toProblem()).toMatchObject({ status: 400, type: 'urn:tpns-bindings:problem:invalid-request', title: 'Invalid request' });
  return error.message;
};
