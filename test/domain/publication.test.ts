import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decidePublication, judgeIntent, nextRevision, type PeriodFile } from '../../src/domain/publication.js';

function file(revision: number, status: PeriodFile['status'], sha256: string, runId = 'run-a'): PeriodFile {
  return {
    revision,
    status,
    fileName: `f_r${revision}.csv`,
    remotePath: `/in/f_r${revision}.csv`,
    temporaryPath: status === 'publishing' ? `/in/.f_r${revision}.csv.0011aabb.part` : null,
    sha256,
    deliveredSha256: sha256,
    bytes: 10,
    rowCount: 1,
    workflowId: 'wf',
    runId,
    note: null,
    parts: [],
  };
}

describe('decidePublication', () => {
  it('publishes revision 1 of a period with no files', () => {
    assert.deepEqual(decidePublication([], { runId: 'run-b', force: false, sha256: 'x' }), { kind: 'publish', revision: 1 });
  });

  it('returns what this run delivered before (a retry after a lost completion), forced or not, whatever it built now', () => {
    const delivered = file(1, 'delivered', 'old', 'run-b');
    for (const force of [false, true]) {
      assert.deepEqual(decidePublication([delivered], { runId: 'run-b', force, sha256: 'new' }), { kind: 'delivered-by-this-run', file: delivered });
    }
  });

  it('leaves a period delivered by another run alone unless forced', () => {
    const delivered = file(1, 'delivered', 'old');
    assert.deepEqual(decidePublication([delivered], { runId: 'run-b', force: false, sha256: 'new' }), { kind: 'already-delivered', file: delivered });
  });

  it('forced: unchanged when the newest delivered file has the same bytes, else the next revision', () => {
    const files = [file(1, 'delivered', 'one'), file(2, 'delivered', 'two')];
    assert.deepEqual(decidePublication(files, { runId: 'run-b', force: true, sha256: 'two' }), { kind: 'unchanged', file: files[1] });
    assert.deepEqual(decidePublication(files, { runId: 'run-b', force: true, sha256: 'one' }), { kind: 'publish', revision: 3 });
  });

  it('never reuses an abandoned revision number', () => {
    const files = [file(1, 'delivered', 'one'), file(2, 'abandoned', 'two')];
    assert.deepEqual(decidePublication(files, { runId: 'run-b', force: true, sha256: 'three' }), { kind: 'publish', revision: 3 });
    assert.equal(nextRevision([file(1, 'abandoned', 'x')]), 2);
  });

  it('refuses to decide while a revision is still publishing', () => {
    assert.throws(() => decidePublication([file(1, 'publishing', 'x')], { runId: 'run-b', force: false, sha256: 'x' }), /revision 1 is still publishing/);
  });
});

describe('judgeIntent', () => {
  it('delivered when the recorded bytes stand under the final name, whatever the temporary name holds', () => {
    for (const temporary of ['absent', 'complete', 'incomplete'] as const) {
      assert.equal(judgeIntent({ final: 'recorded-bytes', temporary }), 'delivered');
    }
  });

  it('abandoned when other bytes stand under the final name', () => {
    assert.equal(judgeIntent({ final: 'other-bytes', temporary: 'complete' }), 'abandon');
    assert.equal(judgeIntent({ final: 'other-bytes', temporary: 'absent' }), 'abandon');
  });

  it('finishes the rename when only the complete verified upload is there', () => {
    assert.equal(judgeIntent({ final: 'absent', temporary: 'complete' }), 'finish-rename');
  });

  it('counts a file gone from both names as picked up by the receiver: never sent again', () => {
    assert.equal(judgeIntent({ final: 'absent', temporary: 'absent' }), 'picked-up');
  });

  it('abandons an upload that is no longer complete', () => {
    assert.equal(judgeIntent({ final: 'absent', temporary: 'incomplete' }), 'abandon');
  });
});
