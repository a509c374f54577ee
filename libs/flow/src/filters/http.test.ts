import { test } from 'node:test';
import { assertInvalid, assertMatches } from '../testing/filter-assertions.js';
import { httpFilter } from './http.js';

const http = (code: number, method = 'GET', url = 'http://x/v1/ships?id=1') => ({ eventType: { type: 129 }, l7: { http: { code, method, url } } });

test('http status code filter', () => {
  assertMatches(httpFilter, { httpStatusCode: ['404', '5+'] }, [
    ['exact', http(404), true],
    ['prefix', http(503), true],
    ['other', http(200), false],
    ['code 0', http(0), false],
    ['no l7', {}, false],
  ]);
  assertInvalid(httpFilter, { httpStatusCode: ['4x'] }, 'http_status_code');
  assertInvalid(httpFilter, { httpStatusCode: ['200'], eventType: [{ type: 4 }] }, 'http_status_code');
});

test('http method and path filters', () => {
  assertMatches(httpFilter, { httpMethod: ['get'], eventType: [{ type: 129 }] }, [
    ['case-insensitive', http(200, 'GET'), true],
    ['other method', http(200, 'POST'), false],
  ]);
  assertMatches(httpFilter, { httpPath: ['^/v1/'] }, [
    ['path of url', http(200), true],
    ['other path', http(200, 'GET', 'http://x/v2/ships'), false],
  ]);
  assertInvalid(httpFilter, { httpPath: ['(['] }, 'http_path');
  assertInvalid(httpFilter, { httpMethod: ['GET'], eventType: [{ type: 1 }] }, 'http_method');
});
