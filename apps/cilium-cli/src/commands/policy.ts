// cilium policy import | get | delete | validate.
import { unary } from '@cilium-ts/grpc';
import { PolicyDocumentTooLargeError, PolicyValidationError, checkDocumentSize, parsePolicyDocument } from '@cilium-ts/policy';
import { CliError, printJson } from '../cli-context.js';
import { defineCommand, expectPositionals, hostFlag, outputFlag, wantsJson } from '../command.js';
import { readPolicyFile, validationLines } from '../policy-source.js';

/** The --local flag of import and delete: this node's local rules instead of the cluster-wide ones. */
const localFlag = {
  local: { type: 'boolean', description: "only this node's local rules (Cilium's local policies), not the cluster-wide ones in the kvstore" },
} as const;

/** `cilium policy import FILE`: sends the file to the agent; prints the new revision. */
export const policyImportCommand = defineCommand({
  path: ['policy', 'import'],
  summary: 'import a policy document (JSON or YAML) cluster-wide (stored in the kvstore), or on this node only with --local',
  positionals: 'FILE',
  flags: {
    ...hostFlag,
    ...outputFlag,
    replaceWithLabels: {
      type: 'boolean',
      default: true,
      description: 'replace existing rules that carry the same labels (--no-replace-with-labels to append)',
    },
    ...localFlag,
  },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 1, 'one policy FILE');
    const json = wantsJson(values.output);
    const file = positionals[0]!;
    const document = await readPolicyFile(ctx.cwd, file);
    try {
      checkDocumentSize(document); // before sending: the agent refuses it too, after the upload
    } catch (err) {
      if (err instanceof PolicyDocumentTooLargeError) throw new CliError(`${file}: ${err.message}`, 1, { cause: err });
      throw err;
    }
    const conn = ctx.connect(values.host);
    const res = await conn.call('Policy.Import', (deadline) =>
      unary(conn.policy, 'import', { document, source: file, replaceWithLabels: values.replaceWithLabels, local: values.local }, { deadline }),
    );
    if (json) printJson(ctx.stdout, { revision: res.revision, ruleCount: res.ruleCount });
    else ctx.stdout.write(`Revision: ${res.revision}\n`);
    return 0;
  },
});

/** `cilium policy get [LABEL...]`: the rules carrying all LABELs (all rules without labels). */
export const policyGetCommand = defineCommand({
  path: ['policy', 'get'],
  summary: 'show the rules of the agent, optionally only those carrying all the given labels',
  positionals: '[LABEL...]',
  flags: { ...hostFlag, ...outputFlag },
  async run(ctx, { values, positionals }) {
    const json = wantsJson(values.output);
    const conn = ctx.connect(values.host);
    const res = await conn.call('Policy.Get', (deadline) => unary(conn.policy, 'get', { labels: positionals }, { deadline }));
    const rules: unknown = res.policyJson === '' ? [] : JSON.parse(res.policyJson);
    if (json) {
      printJson(ctx.stdout, { revision: res.revision, ruleCount: res.ruleCount, rules });
    } else {
      ctx.stdout.write(JSON.stringify(rules, null, 2) + '\n');
      ctx.stdout.write(`Revision: ${res.revision}\n`);
    }
    return 0;
  },
});

/** `cilium policy delete LABEL... | --all`. */
export const policyDeleteCommand = defineCommand({
  path: ['policy', 'delete'],
  summary: 'delete the rules carrying all the given labels, or every rule with --all',
  positionals: '[LABEL...]',
  flags: { ...hostFlag, ...outputFlag, all: { type: 'boolean', description: 'delete every rule' }, ...localFlag },
  async run(ctx, { values, positionals }) {
    const json = wantsJson(values.output);
    if (values.all === (positionals.length > 0)) {
      throw new CliError('give either LABEL... or --all (not both, not neither); see --help', 2);
    }
    const conn = ctx.connect(values.host);
    const res = await conn.call('Policy.Delete', (deadline) => unary(conn.policy, 'delete', { labels: positionals, all: values.all, local: values.local }, { deadline }));
    if (json) printJson(ctx.stdout, { revision: res.revision, deleted: res.deleted });
    else ctx.stdout.write(`Revision: ${res.revision}, deleted ${res.deleted} rule${res.deleted === 1 ? '' : 's'}\n`);
    return 0;
  },
});

/** `cilium policy validate FILE`: offline validation with @cilium-ts/policy; exit 1 when invalid. */
export const policyValidateCommand = defineCommand({
  path: ['policy', 'validate'],
  summary: 'validate a policy document offline (no agent needed)',
  positionals: 'FILE',
  flags: { ...outputFlag },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 1, 'one policy FILE');
    const json = wantsJson(values.output);
    const file = positionals[0]!;
    const text = await readPolicyFile(ctx.cwd, file);
    try {
      const rules = parsePolicyDocument(text, file);
      if (json) printJson(ctx.stdout, { valid: true, ruleCount: rules.length, errors: [] });
      else ctx.stdout.write(`${file}: valid, ${rules.length} rule${rules.length === 1 ? '' : 's'}\n`);
      return 0;
    } catch (err) {
      if (!(err instanceof PolicyValidationError)) throw err;
      if (json) printJson(ctx.stdout, { valid: false, ruleCount: 0, errors: err.errors });
      else ctx.stderr.write(validationLines(err, file).join('\n') + '\n');
      return 1;
    }
  },
});
