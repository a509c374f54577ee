import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MaxDocumentBytes, MaxNestingDepth, PolicyDocumentTooLargeError, checkDocumentSize } from './document-limits.js';
import { parsePolicyDocument } from './document.js';
import { MaxLabelKeyLength, MaxLabelValueLength, parseLabel, LabelParseError } from './labels.js';
import { MaxRuleDescriptionLength } from './rule-validate.js';
import { PolicyValidationError } from './validation-error.js';

function issues(text: string): Array<{ path: string; message: string }> {
  try {
    parsePolicyDocument(text, 'test');
  } catch (e) {
    assert.ok(e instanceof PolicyValidationError, String(e));
    return e.errors;
  }
  return [];
}

const rule = (extra: Record<string, unknown>) => JSON.stringify({ endpointSelector: {}, ...extra });

test('a document over the size limit is refused before parsing, with its size and the limit in bytes', () => {
  const big = `description: "${'x'.repeat(MaxDocumentBytes)}"\n`;
  const errs = issues(big);
  assert.equal(errs.length, 1);
  assert.equal(errs[0]!.message, `policy document too large (${Buffer.byteLength(big)} bytes, limit ${MaxDocumentBytes}); split it into several documents`);
  // Bytes, not characters: multi-byte text counts by its UTF-8 size.
  const wide = 'é'.repeat(MaxDocumentBytes / 2 + 1);
  assert.throws(() => checkDocumentSize(wide), (e: unknown) => e instanceof PolicyDocumentTooLargeError && e.bytes === MaxDocumentBytes + 2 && e.limit === MaxDocumentBytes);
  assert.doesNotThrow(() => checkDocumentSize('é'.repeat(MaxDocumentBytes / 2)));
});

test('deep YAML gives one error naming the line, not a stack overflow per document', () => {
  const deep = (n: number) => 'a: ' + '{b: '.repeat(n) + '1' + '}'.repeat(n);
  const errs = issues([deep(5000), deep(5000), deep(5000)].join('\n---\n'));
  assert.equal(errs.length, 1, JSON.stringify(errs));
  assert.match(errs[0]!.message, new RegExp(`deeper than ${MaxNestingDepth} levels at line 1, column \\d+`));
  assert.doesNotMatch(errs[0]!.message, /call stack/);
  const block = Array.from({ length: 300 }, (_, i) => `${' '.repeat(i)}- `).join('\n') + '1';
  const b = issues(block);
  assert.equal(b.length, 1);
  assert.match(b[0]!.message, new RegExp(`at line ${MaxNestingDepth + 1}, column ${MaxNestingDepth + 1}`));
});

test('deep JSON gives one error naming the path', () => {
  const errs = issues(rule({ description: 'x', labels: JSON.parse('['.repeat(200) + ']'.repeat(200)) as unknown }));
  assert.equal(errs.length, 1, JSON.stringify(errs));
  assert.match(errs[0]!.path, /^labels\[0\]\[0\]/);
  assert.match(errs[0]!.message, /deeper than 64 levels/);
});

test('nesting at the limit is not a nesting error', () => {
  const n = MaxNestingDepth - 1;
  const errs = issues(`endpointSelector: {}\ndescription: x\nlabels: ${'['.repeat(n)}${']'.repeat(n)}\n`);
  assert.ok(errs.every((e) => !/deeper than/.test(e.message)), JSON.stringify(errs));
});

test('labels: one "=", and source, key and value lengths are bounded; the error does not echo a huge label', () => {
  assert.throws(() => parseLabel('a=b=c'), (e: unknown) => e instanceof LabelParseError && /more than one "="/.test(e.message));
  assert.deepEqual(parseLabel(`k8s:app=${'v'.repeat(MaxLabelValueLength)}`).value.length, MaxLabelValueLength);
  assert.throws(() => parseLabel(`k8s:app=${'v'.repeat(MaxLabelValueLength + 1)}`), /value is 254 characters, limit 253/);
  assert.throws(() => parseLabel(`k8s:${'k'.repeat(MaxLabelKeyLength + 1)}`), /key is 513 characters, limit 512/);
  assert.throws(() => parseLabel(`${'s'.repeat(64)}:k`), /source is 64 characters, limit 63/);
  const huge = 'v'.repeat(900_000);
  const errs = issues(rule({ labels: [`k8s:app=${huge}`, { key: 'app', value: huge }] }));
  assert.equal(errs.length, 2, JSON.stringify(errs).slice(0, 500));
  assert.deepEqual(errs.map((e) => e.path), ['labels[0]', 'labels[1]']);
  for (const e of errs) {
    assert.match(e.message, /value is 900000 characters, limit 253/);
    assert.ok(e.message.length < 300, e.message.slice(0, 300));
  }
});

test('a rule description is bounded', () => {
  assert.equal(issues(rule({ description: 'd'.repeat(MaxRuleDescriptionLength) })).length, 0);
  const errs = issues(rule({ description: 'd'.repeat(MaxRuleDescriptionLength + 1) }));
  assert.deepEqual(errs, [{ path: 'description', message: `is ${MaxRuleDescriptionLength + 1} characters, limit ${MaxRuleDescriptionLength}` }]);
});
