"""AnyGPT vocabulary layout and package constants (docs/anygpt.md, "Vocabulary" to "Generation settings").

The converter never assumes these ids: it reads added_tokens.json. These lists are used to *make* fake
checkpoints in upstream order and to check that a real checkpoint has what the package needs.
"""

IMAGE_PREFIX = "\U0001f440"  # 👀
SPEECH_PREFIX = "\U0001f5e3\ufe0f"  # 🗣️ (with U+FE0F)
MUSIC_PREFIX = "\U0001f3b6"  # 🎶
AUDIO_PREFIX = "\U0001f442"  # 👂 (trained, unused by upstream's CLIs)

ROLE_TOKENS = ["[Human]", "[MMGPT]", "<eoh>", "<eos>"]
# (name, prefix, codes, start, end) in the order stage-1 training added them.
UPSTREAM_BLOCKS = [
    ("image", IMAGE_PREFIX, 8192, "<soim>", "<eoim>"),
    ("speech", SPEECH_PREFIX, 1024, "<sosp>", "<eosp>"),
    ("music", MUSIC_PREFIX, 8192, "<somu>", "<eomu>"),
    ("audio", AUDIO_PREFIX, 4096, "<soau>", "<eoau>"),
]


def added_tokens(block_sizes=None):
    """Added-token strings in upstream order. block_sizes overrides codes per block (small fakes only)."""
    out = list(ROLE_TOKENS)
    for name, prefix, n, start, end in UPSTREAM_BLOCKS:
        n = (block_sizes or {}).get(name, n)
        out += [f"<{prefix}{k}>" for k in range(n)] + [start, end]
    return out


# Upstream's config/*.json (docs/anygpt.md, "Generation settings") as transformers 4.34.1 runs them. top_k is unset
# there, so GenerationConfig's default 50 applies. min_new_tokens (10 in every file) is left out: transformers adds
# that processor only with an eos_token_id, and upstream's configs set none (docs/engine.md "min_new_tokens").
PRESETS = {
    "chat": dict(
        doSample=True,
        temperature=1.0,
        topK=50,
        topP=1.0,
        repetitionPenalty=1.0,
        maxNewTokens=500,
        minNewTokens=0,
        numBeams=5,
    ),  # generate_config.json: the chat CLI's default (beam-sample)
    "text": dict(
        doSample=True,
        temperature=1.0,
        topK=50,
        topP=1.0,
        repetitionPenalty=1.0,
        maxNewTokens=100,
        minNewTokens=0,
        numBeams=1,
    ),  # text_generate_config.json (base)
    "image": dict(
        doSample=True,
        temperature=1.0,
        topK=50,
        topP=1.0,
        repetitionPenalty=1.0,
        maxNewTokens=200,
        minNewTokens=0,
        numBeams=1,
    ),  # image_generate_config.json
    "speech": dict(
        doSample=True,
        temperature=1.0,
        topK=50,
        topP=1.0,
        repetitionPenalty=1.05,
        maxNewTokens=1500,
        minNewTokens=0,
        numBeams=1,
    ),  # speech_generate_config.json
    "music": dict(
        doSample=True,
        temperature=1.0,
        topK=200,
        topP=1.0,
        repetitionPenalty=1.15,
        maxNewTokens=2000,
        minNewTokens=0,
        numBeams=1,
    ),  # music_generate_config.json
}

MMGPT_SYSTEM = (
    "You are an AI assistant named MMGPT who can understand and generate multimodal content, "
    "including text, speech, images and audio."
)
ANYGPT_SYSTEM = (
    "You are an AI assistant named AnyGPT who can understand and generate multimodal content, "
    "including text, speech, images and audio."
)

TEMPLATES = {
    "base": "[Human]: {message}<eoh> [MMGPT]:",
    "chat": {
        "mmgpt": {
            "system": MMGPT_SYSTEM,
            "user": "[Human]",
            "assistant": "[MMGPT]",
            "userEnd": "<eoh>",
            "assistantEnd": "<eos>",
        },
        "anygpt": {
            "system": ANYGPT_SYSTEM,
            "user": "[Human]",
            "assistant": "[AnyGPT]",
            "userEnd": "<eoh>",
            "assistantEnd": "<eom>",
        },
    },
    "defaultChat": "mmgpt",
    # Fixed picks from upstream's instruction lists (docs/anygpt.md, "Base prompts"), for reproducible prompts.
    "instructions": {
        "t2i": "Produce an image that conveys the concept of the text.",
        "caption": "Describe the people and objects in this picture.",
        "asr": "Could you discern what is uttered in the next sound bite?",
        "tts": "I require you to read these mute words into understandable spoken language.",
        "t2m": "What musical techniques can you use to convey the message of this caption?",
        "m2t": "How would you describe the genre of this music?",
    },
    "stopTokens": ["<eos>"],
    # Upstream's base inference ends the prompt at "[MMGPT]:" and lets the model write <soim>/<sosp>/<somu>.
    "forceOutputStart": False,
}

# Prompt strings for golden tokenizer ids (docs/anygpt.md, "Base prompts" and "Chat prompts").
GOLDEN_PROMPTS = [
    "[Human]: Produce an image that conveys the concept of the text. This is input: A cat.<eoh> [MMGPT]:",
    f"[Human]: Describe the people and objects in this picture. <soim><{IMAGE_PREFIX}11><{IMAGE_PREFIX}22>"
    f"<{IMAGE_PREFIX}3><eoim><eoh> [MMGPT]:",
    "[Human]: I require you to read these mute words into understandable spoken language. "
    "This is input: hello world<eoh> [MMGPT]:",
    f"[Human]: Could you discern what is uttered in the next sound bite? <sosp><{SPEECH_PREFIX}5>"
    f"<{SPEECH_PREFIX}5><{SPEECH_PREFIX}7><eosp><eoh> [MMGPT]:",
    f"[Human]: How would you describe the genre of this music? <somu><{MUSIC_PREFIX}1><{MUSIC_PREFIX}20>"
    f"<{MUSIC_PREFIX}41><{MUSIC_PREFIX}61><eomu><eoh> [MMGPT]:",
    MMGPT_SYSTEM + f"\n[Human]: <soim><{IMAGE_PREFIX}11><eoim> <sosp><{SPEECH_PREFIX}5><eosp> Draw it "
    "Please recognize the voice command and give reply and voice<eoh>\n[MMGPT]:",
    MMGPT_SYSTEM + "\n[Human]: hi<eoh>\n[MMGPT]: hello<eos>\n[Human]: and you?<eoh>\n[MMGPT]:",
    f"<sosp><{SPEECH_PREFIX}1><eosp>  Please recognize the voice command and give reply and voice",
    " [MMGPT]: <soim>",
    "Ünïcödé ☃ 日本 text with  double  spaces\tand tabs",
    "</s> [AnyGPT]: x<eom>",
]
