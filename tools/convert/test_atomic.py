"""tools/convert/atomic.py: a failed write leaves the previous file intact (run by test/convert/atomic.test.ts).

    /usr/bin/python3 -m unittest tools/convert/test_atomic.py
"""

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import atomic  # noqa: E402

OLD = b'{"format": "anygpt-package", "old": true}'


class AtomicWrites(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="anygpt-atomic-")
        self.path = os.path.join(self.dir, "anygpt.json")
        with open(self.path, "wb") as f:
            f.write(OLD)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def assertOldIntact(self, folder=None):
        with open(self.path, "rb") as f:
            self.assertEqual(f.read(), OLD)
        self.assertEqual(sorted(os.listdir(folder or self.dir)), ["anygpt.json"], "no temporary file left behind")

    def test_writes_the_same_bytes_as_json_dump(self):
        obj = {"name": "nano ✓", "n": [1, 2.5, None]}
        atomic.write_json(self.path, obj, ensure_ascii=False, indent=2)
        ref = os.path.join(self.dir, "ref.json")
        with open(ref, "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=2)
        with open(self.path, "rb") as a, open(ref, "rb") as b:
            self.assertEqual(a.read(), b.read())
        mask = os.umask(0)
        os.umask(mask)
        self.assertEqual(os.stat(self.path).st_mode & 0o777, 0o666 & ~mask)

    def test_exception_after_the_data_is_written_keeps_the_old_file(self):
        # The new content is fully in the temporary file when fsync fails (an I/O error): nothing is renamed.
        with mock.patch.object(atomic.os, "fsync", side_effect=OSError(errno.EIO, "injected I/O error")):
            with self.assertRaises(OSError):
                atomic.write_text(self.path, '{"new": true}' * 1000)
        self.assertOldIntact()

    def test_writer_that_fails_midway_in_staged_keeps_the_old_files(self):
        graph = os.path.join(self.dir, "llm.onnx")
        with open(graph, "wb") as f:
            f.write(b"old graph")
        with self.assertRaises(RuntimeError):
            with atomic.staged(self.dir, ["llm.onnx", "llm.onnx.data"]) as stage:
                with open(os.path.join(stage, "llm.onnx.data"), "wb") as f:
                    f.write(b"\0" * 4096)
                with open(os.path.join(stage, "llm.onnx"), "wb") as f:
                    f.write(b"half a gra")
                    raise RuntimeError("injected: the exporter failed mid-write")
        with open(graph, "rb") as f:
            self.assertEqual(f.read(), b"old graph")
        self.assertEqual(sorted(os.listdir(self.dir)), ["anygpt.json", "llm.onnx"])

    def test_staged_renames_every_produced_file(self):
        with atomic.staged(self.dir, ["a.onnx", "a.onnx.data"]) as stage:
            for n in ("a.onnx", "a.onnx.data"):
                with open(os.path.join(stage, n), "wb") as f:
                    f.write(n.encode())
        for n in ("a.onnx", "a.onnx.data"):
            with open(os.path.join(self.dir, n), "rb") as f:
                self.assertEqual(f.read(), n.encode())
        self.assertEqual(sorted(os.listdir(self.dir)), ["a.onnx", "a.onnx.data", "anygpt.json"])

    def test_full_disk_keeps_the_old_file(self):
        # A 64 KiB tmpfs filled by a 1 MiB write: ENOSPC. Needs root (mount); skipped otherwise.
        fs = tempfile.mkdtemp(prefix="anygpt-atomic-fs-")
        try:
            r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", fs], capture_output=True)
            if r.returncode != 0:
                self.skipTest(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
            try:
                self.path = os.path.join(fs, "anygpt.json")
                with open(self.path, "wb") as f:
                    f.write(OLD)
                with self.assertRaises(OSError) as e:
                    atomic.write_bytes(self.path, b"x" * 2**20)
                self.assertEqual(e.exception.errno, errno.ENOSPC)
                self.assertOldIntact(fs)
            finally:
                subprocess.run(["umount", fs], check=True)
        finally:
            os.rmdir(fs)


if __name__ == "__main__":
    unittest.main()
