// Per-key allow/deny globs over server__tool: deny wins, unnamed keys get nothing once rules exist.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AccessControl, globToRegExp, ToolPatterns } from '../../src/mcp/acl.js';

const a = { id: 'key_a', name: 'team-a' };
const b = { id: 'key_b', name: 'team-b' };

test('globs: * is any run, ? one character, everything else literal', () => {
  assert.ok(globToRegExp('get*').test('getPet'));
  assert.ok(globToRegExp('pet?').test('pets'));
  assert.ok(!globToRegExp('pet?').test('pet'));
  assert.ok(!globToRegExp('a.b').test('aXb'));
  assert.ok(globToRegExp('(x)+[y]').test('(x)+[y]'));
});

test('a pattern without __ names servers; with __ it is matched against server__tool', () => {
  const p = new ToolPatterns(['github', 'jira__get*']);
  assert.ok(p.matches('github', 'delete_repo'));
  assert.ok(p.matches('jira', 'getIssue'));
  assert.ok(!p.matches('jira', 'createIssue'));
  assert.ok(!p.matches('githubx', 'x'));
  assert.ok(p.mayMatchServer('jira') && p.mayMatchServer('github') && !p.mayMatchServer('slack'));
  assert.ok(new ToolPatterns(['*__read*']).mayMatchServer('anything'));
});

test('no rules: everyone may use everything', () => {
  const acl = new AccessControl([]);
  assert.ok(acl.forCaller(a).allows('x', 'y'));
  assert.ok(acl.forCaller(null).allows('x', 'y'));
});

test('deny wins over allow; rules naming the same key are merged', () => {
  const acl = new AccessControl([
    { keys: ['team-a'], allow: ['github'], deny: ['github__delete_*'] },
    { keys: ['team-*'], allow: ['jira__get*'], deny: [] },
  ]);
  const access = acl.forCaller(a);
  assert.ok(access.allows('github', 'list_repos'));
  assert.ok(!access.allows('github', 'delete_repo'));
  assert.ok(access.allows('jira', 'getIssue'));
  assert.ok(!access.allows('jira', 'createIssue'));
  const other = acl.forCaller(b);
  assert.ok(!other.allows('github', 'list_repos'));
  assert.ok(other.allows('jira', 'getIssue'));
  assert.ok(other.mayUseServer('jira') && !other.mayUseServer('github'));
});

test('rules exist but none names the caller: nothing; a key is matched by name or id; * covers the key-less caller', () => {
  const acl = new AccessControl([{ keys: ['key_b'], allow: ['*'], deny: [] }]);
  assert.ok(!acl.forCaller(a).allows('x', 'y'));
  assert.ok(acl.forCaller(b).allows('x', 'y'));
  assert.ok(!acl.forCaller(null).allows('x', 'y'));
  assert.ok(new AccessControl([{ keys: ['*'], allow: ['x'], deny: [] }]).forCaller(null).allows('x', 'y'));
});

test('a whole server denied is not even asked for its list', () => {
  const access = new AccessControl([{ keys: ['*'], allow: ['*'], deny: ['secret', 'ops__*'] }]).forCaller(a);
  assert.ok(!access.mayUseServer('secret'));
  assert.ok(!access.mayUseServer('ops'));
  assert.ok(access.mayUseServer('github'));
});
