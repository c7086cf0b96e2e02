"""Real Jupyter clients against the installed AnyGPT kernelspec: KernelManager (interrupt by signal,
restart, shutdown exit code) and nbclient executing a notebook. Run via test/jupyter/python.test.ts."""
import base64
import io
import os
import struct
import sys
import time
import unittest
import wave

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

KERNEL = os.environ.get("ANYGPT_TEST_KERNEL", "anygpt-test")
# Over a package that generates until max_new_tokens: something long to interrupt. Its codecs are stubs, so
# the other cells generate one token (a longer reply could open a media span it cannot decode).
LONG_KERNEL = os.environ.get("ANYGPT_TEST_LONG_KERNEL", "anygpt-test-long")


class KernelManagerTests(unittest.TestCase):
    def setUp(self):
        self.km = KernelManager(kernel_name=LONG_KERNEL)
        # jupyter_client 7.4 writes the connection file (with the key) to /tmp unless told; keep it in the runtime dir.
        self.km.connection_file = os.path.join(os.environ["JUPYTER_RUNTIME_DIR"], "kernel-%d.json" % os.getpid())
        self.km.start_kernel()
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=30)

    def tearDown(self):
        self.kc.stop_channels()
        if self.km.is_alive():
            self.km.shutdown_kernel(now=False)

    def run_cell(self, code, timeout=30):
        msgs = []
        reply = self.kc.execute_interactive(code, timeout=timeout, output_hook=msgs.append)
        return reply, msgs

    def test_interrupt_by_signal_then_restart_and_shutdown(self):
        msg_id = self.kc.execute("%task tts\n%max_new_tokens 16000\na long sentence")
        # wait for streaming to start
        deadline = time.time() + 10
        while time.time() < deadline:
            m = self.kc.get_iopub_msg(timeout=5)
            if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "update_display_data":
                break
        t0 = time.time()
        self.km.interrupt_kernel()  # killpg(SIGINT) per interrupt_mode "signal"
        reply = self.kc.get_shell_msg(timeout=5)
        self.assertLess(time.time() - t0, 0.5)
        self.assertEqual(reply["content"]["status"], "error")
        self.assertEqual(reply["content"]["ename"], "KeyboardInterrupt")
        reply, _ = self.run_cell("%max_new_tokens 1\nstill here")
        self.assertEqual(reply["content"]["status"], "ok")

        # conversation survives an interrupt but not a restart
        reply, _ = self.run_cell("%max_new_tokens 1\nremember me")
        self.assertEqual(reply["content"]["status"], "ok")
        self.km.restart_kernel(now=False)
        self.kc.wait_for_ready(timeout=30)
        reply, msgs = self.run_cell("%history")
        self.assertEqual(reply["content"]["status"], "ok")
        text = "".join(m["content"].get("text", "") for m in msgs if m["msg_type"] == "stream")
        self.assertIn("conversation is empty", text)

        proc = self.km.provisioner.process
        self.km.shutdown_kernel(now=False)
        self.assertEqual(proc.wait(timeout=10), 0, "kernel exits with 0 (SIGINT before shutdown is handled)")


class NbclientTests(unittest.TestCase):
    def test_execute_notebook(self):
        nb = nbformat.v4.new_notebook()
        nb.cells = [
            nbformat.v4.new_code_cell("%task t2i\n%seed 1\nimg of a red square"),
            nbformat.v4.new_code_cell("%task tts\nsay hello there"),
            nbformat.v4.new_code_cell("What is in the picture? ![image](out:1)"),
            nbformat.v4.new_code_cell("%max_new_tokens 4\nand now?"),
        ]
        client = NotebookClient(nb, kernel_name=KERNEL, timeout=60, resources={"metadata": {"path": os.getcwd()}})
        client.execute()
        nbformat.validate(nb)
        self.assertEqual(nb.metadata.language_info.name, "anygpt")
        outs = [c.outputs for c in nb.cells]
        mimes = [set(k for o in co for k in o.get("data", {})) for co in outs]
        self.assertIn("image/png", mimes[0])
        self.assertIn("application/vnd.anygpt.audio+json", mimes[1])
        self.assertIn("text/html", mimes[1])
        # the custom JSON mimes are stored as JSON objects, losslessly
        tok = [o for o in outs[0] if o.output_type == "execute_result"][0]
        self.assertIsInstance(tok.data["application/vnd.anygpt.tokens+json"], dict)
        self.assertEqual(tok.data["application/vnd.anygpt.tokens+json"]["model"]["name"], "fixture-media")
        # the saved PNG is the package decoder's 32x32 RGB image, shown enlarged 8x (nearest-neighbour)
        png = base64.b64decode([o for o in outs[0] if "image/png" in o.get("data", {})][0].data["image/png"])
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        self.assertEqual(struct.unpack(">II", png[16:24]), (256, 256))  # the 32×32 decode, shown enlarged 8×
        # the saved WAV holds the fixture's 12 speech frames at 50 Hz, 16 kHz
        audio = [o for o in outs[1] if "application/vnd.anygpt.audio+json" in o.get("data", {})][0].data["application/vnd.anygpt.audio+json"]
        with wave.open(io.BytesIO(base64.b64decode(audio["wav"]))) as w:
            self.assertEqual(w.getframerate(), 16000)
            self.assertEqual(w.getnframes(), 12 * 16000 // 50)
        # update_display_data folded into one saved output per display
        texts = [o for o in outs[3] if o.output_type == "display_data"]
        self.assertEqual(len(texts), 1)
        self.assertTrue(texts[0].data["text/plain"])
        out = os.path.join(os.environ["JUPYTER_RUNTIME_DIR"], "executed.ipynb")
        nbformat.write(nb, out)


if __name__ == "__main__":
    unittest.main()
