"""jupyter_kernel_test conformance for the AnyGPT kernel over the real engine with the media fixture package
(test/jupyter/helpers.ts mediaFixture: "img" in a prompt opens an 8-token image span; 256 image codes,
32 speech codes, 4 music codebooks of 2048).

Run through test/jupyter/python.test.ts, which installs the kernelspec into a temp prefix and sets
JUPYTER_PATH / JUPYTER_DATA_DIR / JUPYTER_RUNTIME_DIR; always with Debian's /usr/bin/python3.
"""
import unittest

import jupyter_kernel_test


class AnyGPTKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "anygpt-test"
    language_name = "anygpt"
    file_extension = ".anygpt"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The first cell that needs the model shows a "loading model" progress display (text/plain only);
        # jupyter_kernel_test wants the sample mime in every display_data of a cell, so load it up front.
        reply = cls.kc.execute_interactive("%max_new_tokens 1\nload the model", timeout=60)
        assert reply["content"]["status"] == "ok", reply["content"]

    # %help with an unknown topic prints to stdout; it contains the sample text.
    code_hello_world = "%help hello, world"
    # A t2i cell stopped before its image span closes warns on stderr.
    code_stderr = "%task t2i\n%max_new_tokens 5\nimg of a cat"

    code_generate_error = "%temprature 0.5\nhi"
    code_execute_result = [
        {"code": "%tokens\nhello", "mime": "application/vnd.anygpt.tokens+json"},
        {"code": "%max_new_tokens 3\nhi there", "mime": "text/plain"},
    ]
    # jupyter_kernel_test wants the mime in *every* display_data of the cell, so use %decode (no text stream).
    code_display_data = [
        {"code": "%decode image " + " ".join(str(i * 30) for i in range(8)), "mime": "image/png"},
        {"code": "%decode speech <🗣️1><🗣️2><🗣️3>", "mime": "application/vnd.anygpt.audio+json"},
        {"code": "%decode music 1 2051 4101 6151", "mime": "text/html"},
    ]
    completion_samples = [
        {"text": "%tas", "matches": {"%task"}},
        {"text": "%task t", "matches": {"t2i", "t2m", "tts"}},
        {"text": "%template ", "matches": {"mmgpt", "anygpt"}},
        {"text": "hi <sos", "matches": {"<sosp>"}},
    ]
    complete_code_samples = ["hello", "%reset", "%task t2i\na cat"]
    incomplete_code_samples = ["%task t2i", "look at ![image](cat", "line one \\"]
    invalid_code_samples = ["%nope", "%seed abc\nhi"]
    code_inspect_sample = "%task"
    code_history_pattern = "%tokens*"
    supported_history_operations = ("tail", "range", "search")


if __name__ == "__main__":
    unittest.main()
