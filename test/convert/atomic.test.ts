/**
 * tools/convert/atomic.py, the converters' package writer (temporary file in the same folder, fsync, rename):
 * its unittest (tools/convert/test_atomic.py) shows that a write failing midway (an injected I/O error, an
 * exporter raising mid-file, a full 64 KiB tmpfs when the tests run as root) leaves the previous file intact and
 * no temporary file behind, and that the bytes are those json.dump writes. Needs Debian's /usr/bin/python3.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const PY = '/usr/bin/python3';

describe('convert: atomic package writes (tools/convert/atomic.py)', function () {
  this.timeout(60000);

  it('a failed write leaves the previous package file intact', function () {
    if (!existsSync(PY)) this.skip();
    const r = spawnSync(PY, ['-m', 'unittest', '-v', 'tools/convert/test_atomic.py'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /Ran 5 tests/);
    assert.match(r.stderr, /test_exception_after_the_data_is_written_keeps_the_old_file .*\.\.\. ok/);
  });
});
