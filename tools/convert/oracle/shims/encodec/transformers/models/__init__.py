# SHIM (ours): the upstream models folder (transformers' src/transformers/models, holding encodec/ with the two
# upstream files and no __init__.py) joins this package, so that `transformers.models.encodec` imports the
# upstream files and their `from ...modeling_utils import` lines reach the shim beside this file.
import os

__path__.append(os.environ["ANYGPT_ORACLE_TRANSFORMERS_MODELS"])  # noqa: F821
