import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateCIDR, validateCIDRSetEntry } from './cidr.js';
import { IssueCollector } from './validation-error.js';

test('CIDR and CIDR set validation with paths', () => {
  const c = new IssueCollector();
  assert.deepEqual(validateCIDR('10.0.0.0/8', 'a', c), { cidr: '10.0.0.0/8' });
  validateCIDR(5, 'b', c);
  assert.deepEqual(validateCIDRSetEntry({ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }, 'c', c), { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] });
  validateCIDRSetEntry({ cidr: '10.0.0.0/8', except: ['11.0.0.0/16', 'x'], what: 1 }, 'd', c);
  validateCIDRSetEntry({}, 'e', c);
  assert.deepEqual(c.issues.map((i) => i.path), ['b', 'd.what', 'd.except[0]', 'd.except[1]', 'e.cidr']);
  assert.match(c.issues[2]!.message, /not inside cidr 10\.0\.0\.0\/8/);
});
