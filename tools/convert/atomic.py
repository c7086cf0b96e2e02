"""Writes package files without ever leaving a half-written file where a good one was.

Every file goes to a temporary name in the same folder, is fsynced, and only then renamed over its final name
(os.replace is atomic within one file system). A failed write (an exception, a full disk) removes the temporary
file and leaves whatever was at the final name untouched.

- write_bytes / write_text / write_json: content already in memory.
- staged(folder, names): for writers that need a path (onnx.save with external data, torch.onnx.export,
  tokenizers' save, a streamed data file). Yields a temporary folder inside `folder`; the writer puts each of
  `names` there; on success each is fsynced and renamed into `folder`, on failure nothing is renamed.
"""

import contextlib
import json
import os
import shutil
import tempfile


def _fsync_dir(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_file(path):
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def write_bytes(path, data):
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a package file gets the mode open() would give it
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


def write_text(path, text, encoding="utf-8"):
    write_bytes(path, text.encode(encoding))


def write_json(path, obj, **dumps):
    """json.dumps(obj, **dumps) written atomically (the same bytes json.dump(obj, f, **dumps) writes)."""
    write_text(path, json.dumps(obj, **dumps))


@contextlib.contextmanager
def staged(folder, names):
    tmpd = tempfile.mkdtemp(dir=folder, prefix=".staged-")
    try:
        yield tmpd
        for n in names:
            _fsync_file(os.path.join(tmpd, n))
        for n in names:
            os.replace(os.path.join(tmpd, n), os.path.join(folder, n))
        _fsync_dir(folder)
    finally:
        shutil.rmtree(tmpd, ignore_errors=True)
