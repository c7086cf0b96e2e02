# SHIM (ours)
import logging as _logging


class logging:
    get_logger = staticmethod(_logging.getLogger)
