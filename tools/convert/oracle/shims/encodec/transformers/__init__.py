# SHIM (ours, not upstream): an empty package root so that transformers.models.encodec imports without the
# rest of transformers. Nothing here touches the model math.
