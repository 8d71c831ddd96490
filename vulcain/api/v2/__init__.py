"""The Open Inference Protocol front end (``/v2``)."""
