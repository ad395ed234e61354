"""Serving a model over Text Generation Inference's HTTP protocol, and completing code against any
TGI-protocol endpoint."""
