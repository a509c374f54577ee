// Loading policy for offline use: reading files, parsing them with @cilium-ts/policy, and
// turning validation errors into the path-precise lines the CLI prints.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PolicyValidationError, Repository, parsePolicyDocument, type Rule } from '@cilium-ts/policy';
import { CliError } from './cli-context.js';

/** Reads a policy file (relative to `cwd`); a CliError names the file when it cannot be read. */
export async function readPolicyFile(cwd: string, file: string): Promise<string> {
  try {
    return await readFile(resolve(cwd, file), 'utf8');
  } catch (err) {
    throw new CliError(`cannot read policy file ${file}: ${(err as Error).message}`, 1, { cause: err });
  }
}

/** The lines `source: path: message` of a validation error, one per problem. */
export function validationLines(err: PolicyValidationError, source: string): string[] {
  return err.errors.map((e) => `${source}: ${e.path === '' ? '<root>' : e.path}: ${e.message}`);
}

/** Parses a document; a PolicyValidationError becomes a CliError listing every problem. */
export function parseOrExplain(text: string, source: string): Rule[] {
  try {
    return parsePolicyDocument(text, source);
  } catch (err) {
    if (err instanceof PolicyValidationError) {
      throw new CliError(`${source} is not a valid policy document:\n${validationLines(err, source).join('\n')}`, 1, { cause: err });
    }
    throw err;
  }
}

/** A repository holding the rules of `files`, in order. */
export async function repositoryFromFiles(cwd: string, files: string[]): Promise<Repository> {
  const repo = new Repository();
  for (const file of files) repo.add(parseOrExplain(await readPolicyFile(cwd, file), file));
  return repo;
}

/** A repository holding the rules of a PolicyGetResponse's `policy_json` (a JSON array of rules). */
export function repositoryFromJson(policyJson: string, source: string): Repository {
  const repo = new Repository();
  let rules: unknown;
  try {
    rules = JSON.parse(policyJson === '' ? '[]' : policyJson);
  } catch (err) {
    throw new CliError(`${source} returned policy that is not JSON: ${(err as Error).message}`, 1, { cause: err });
  }
  if (Array.isArray(rules) && rules.length === 0) return repo;
  repo.add(parseOrExplain(policyJson, source));
  return repo;
}
