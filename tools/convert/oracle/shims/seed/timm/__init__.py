# SHIM (ours): the timm names seed2/seed_qformer imports; none is on an inference path except to_2tuple.
